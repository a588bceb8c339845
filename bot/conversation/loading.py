"""The statements that open a turn: the message id recorded, and the conversation, locked,
with what the handlers ask first.

One round trip instead of three: whether the writer is an active specialist (the desk) and
whether the conversation has a ticket open or being relayed (the relay) come as EXISTS columns
next to the locked row, so an ordinary citizen's turn skips both handlers' own queries.

On PostgreSQL a turn may wait for the lock while another turn of the same person commits; the
EXISTS columns would then show the database as it was before that turn (the statement's
snapshot) while the row is the new one. `fresh` tells: it compares the locked row's version
(`xmin`) with the one the statement's snapshot sees. When it is false the engine ignores the
flags and the handlers ask for themselves. SQLite runs one writer at a time: always fresh.

The INSERTs name the tables, not the mapped classes: run through the session, an INSERT of a
mapped class takes the ORM's bulk path, about 0.5 ms of CPU more per statement (issue 16).

And the statement that closes a turn: the columns the turn changed, compared with what it
loaded, written with one UPDATE built once per set of columns, after the row left the session
(`saving`; on PostgreSQL the UPDATE rides in the replies' INSERT). The unit of work's flush of
the same row cost about a tenth of a turn's CPU.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnClause,
    ColumnElement,
    Insert,
    Label,
    Select,
    bindparam,
    exists,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.sql.dml import Update

from bot.messages import Inbound
from core.models import (
    Conversation,
    HandoffRequest,
    InboundMessage,
    Specialist,
    insert_or_skip,
    table_of,
)
from core.states import InboundStatus, TicketStatus
from core.uow import UnitOfWork

# What a turn may change in its conversation (besides `last_inbound_at`, always written).
PROGRESS = (
    "citizen_id",
    "flow_version_id",
    "step",
    "answers",
    "memory",
    "state",
    "language",
    "misunderstood",
)

_FRESH_PG: ColumnClause[bool] = literal_column(
    "conversation.xmin = "
    "(SELECT seen.xmin FROM conversation AS seen WHERE seen.id = conversation.id)",
    Boolean(),
)


def _flags(
    channel: ColumnElement[str],
    user_ref: ColumnElement[str],
    conversation_id: ColumnElement[int] | InstrumentedAttribute[int],
) -> tuple[Label[bool], Label[bool]]:
    """Whether the address is an active specialist's, and whether the conversation has a
    ticket open or being relayed: the EXISTS columns that come with the locked row."""
    specialist = exists().where(
        Specialist.contact_channel == channel,
        Specialist.contact_address == user_ref,
        Specialist.active.is_(True),
    )
    ticket = exists().where(
        HandoffRequest.conversation_id == conversation_id,
        HandoffRequest.status.in_((TicketStatus.ASSIGNED, TicketStatus.OPEN)),
    )
    return specialist.label("specialist"), ticket.label("ticket")


@functools.cache
def query(dialect: str) -> Select[Conversation, bool, bool, bool]:
    """The conversation of an address, locked; (row, specialist, ticket, fresh).

    Built once per dialect and run with `address(inbound)`: building the statement anew for
    every message costs more CPU than running it.
    """
    channel: BindParameter[str] = bindparam("channel")
    user_ref: BindParameter[str] = bindparam("user_ref")
    fresh = _FRESH_PG if dialect == "postgresql" else literal(True)
    return (
        select(Conversation, *_flags(channel, user_ref, Conversation.id), fresh)
        .where(Conversation.channel == channel, Conversation.user_ref == user_ref)
        .with_for_update(of=Conversation)
        .execution_options(populate_existing=True)
    )


@functools.cache
def claimed_query(choose: str) -> Select[int, Any, Conversation, bool, bool, bool]:
    """PostgreSQL: claim a message and load its conversation, locked, in one round trip.

    `choose` is the SQL that picks the message id (the inbox's claim). The message is marked
    done in a data-modifying WITH; its conversation comes from a LATERAL subquery that locks
    it (FOR UPDATE, as `query` does), with the same flags and the same freshness check.
    Rows: (message id, payload, conversation or None for a new person, specialist, ticket,
    fresh). Run with `done_at`.
    """
    inbound = table_of(InboundMessage)
    claimed = (
        update(inbound)
        .where(inbound.c.id == literal_column(f"({choose})"))
        .values(status=InboundStatus.DONE, processed_at=bindparam("done_at"))
        .returning(inbound.c.id, inbound.c.payload, inbound.c.channel, inbound.c.user_ref)
        .cte("claimed")
    )
    conversation = table_of(Conversation)
    row = (
        select(conversation, literal_column("conversation.xmin").label("row_xmin"))
        .where(
            conversation.c.channel == claimed.c.channel,
            conversation.c.user_ref == claimed.c.user_ref,
        )
        .with_for_update()
        .lateral("locked")
    )
    locked = aliased(Conversation, row)
    fresh = literal_column(
        "locked.row_xmin = (SELECT seen.xmin FROM conversation AS seen WHERE seen.id = locked.id)",
        Boolean(),
    )
    return (
        select(
            claimed.c.id,
            claimed.c.payload,
            locked,
            *_flags(claimed.c.channel, claimed.c.user_ref, locked.id),
            fresh,
        )
        .select_from(claimed)
        .outerjoin(row, true())
        .execution_options(populate_existing=True)
    )


# A locked conversation; whether its address is an active specialist's; whether a ticket is
# open or being relayed.
Loaded = tuple[Conversation, bool, bool]


def trusted(conversation: Conversation, specialist: bool, ticket: bool, fresh: bool) -> Loaded:
    """The loaded row with its flags, or flags that send the handlers to ask for themselves
    when they were read before a turn that ran meanwhile (not `fresh`)."""
    return (conversation, specialist, ticket) if fresh else (conversation, True, True)


def address(inbound: Inbound) -> dict[str, str]:
    """The parameters of `query` and `new_conversation` for the person who wrote."""
    return {"channel": inbound.channel, "user_ref": inbound.user_ref}


@functools.cache
def record_inbound(dialect: str) -> Insert:
    """INSERT of a message id (`channel`, `message_id`, `received_at`); no row if it was there."""
    table = table_of(InboundMessage)
    return (
        insert_or_skip(dialect, table, "channel", "message_id")
        .values(
            channel=bindparam("channel"),
            message_id=bindparam("message_id"),
            received_at=bindparam("received_at"),
        )
        .returning(table.c.id)
    )


@functools.cache
def new_conversation(dialect: str) -> Insert:
    """INSERT of an empty conversation (`channel`, `user_ref`, `language`, `created_at`)."""
    return insert_or_skip(dialect, table_of(Conversation), "channel", "user_ref").values(
        channel=bindparam("channel"),
        user_ref=bindparam("user_ref"),
        language=bindparam("language"),
        created_at=bindparam("created_at"),
        answers={},
        memory={},
        state={},
    )


def progress(conversation: Conversation) -> dict[str, Any]:
    """The conversation's `PROGRESS` columns as loaded (compared by `saving` at the turn's end)."""
    return {name: getattr(conversation, name) for name in PROGRESS}


class Saving(NamedTuple):
    """The conversation's UPDATE at a turn's end, and its values."""

    statement: Update
    values: dict[str, Any]


@functools.cache
def _saving(columns: frozenset[str]) -> Update:
    table = table_of(Conversation)
    values: dict[str, BindParameter[Any]] = {
        name: bindparam(name) for name in (*sorted(columns), "last_inbound_at")
    }
    return update(table).where(table.c.id == bindparam("row_id")).values(values)


def saving(
    uow: UnitOfWork, conversation: Conversation, loaded: dict[str, Any], now: datetime
) -> Saving:
    """The UPDATE of what the turn changed since `loaded`, and `last_inbound_at`; detaches the row.

    `last_inbound_at` is written even when unchanged (a fixed clock): a turn always gives the
    row a new version, which tells a turn that waited for the lock that its flags are stale.
    The object is detached at once: its attributes stay readable, and the session has nothing
    left to flush for it. The caller runs the UPDATE (with the replies' INSERT: bot/outbox/rows.py).
    """
    changed = {
        name: value for name in PROGRESS if (value := getattr(conversation, name)) != loaded[name]
    }
    row_id = conversation.id
    conversation.last_inbound_at = now
    uow.session.expunge(conversation)
    values = {**changed, "last_inbound_at": now, "row_id": row_id}
    return Saving(_saving(frozenset(changed)), values)
