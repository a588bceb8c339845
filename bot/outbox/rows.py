"""Writing and withdrawing outbox rows: the one place that inserts into `outbox_message`.

Every writer (the engine's replies and apologies, the relay, the flood notice, the notices
of `bot/outbox/notify/`) describes its row as a `Note` and hands it to `write` (or `stage`
where the caller is not async yet). A note with a key is written at most once: the key is
unique, and writing it again is a no-op (INSERT ... ON CONFLICT DO NOTHING), so a retried
turn or a restarted scheduler never duplicates a message.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Insert,
    Update,
    bindparam,
    column,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy import insert as plain_insert

from bot.messages import REPLY_PRIORITY, Inbound, Outbound
from core.models import OutboxMessage, insert_or_skip, table_of
from core.states import REPLY_KIND, OutboxStatus
from core.uow import UnitOfWork

NOTICE_PRIORITY = 0
# Rows that have not left yet; "sending" ones are in flight and can no longer be stopped.
UNSENT = (OutboxStatus.PENDING, OutboxStatus.NEEDS_TEMPLATE)
# The table, not the class: the ORM's bulk-insert path costs about 0.5 ms of CPU a turn.
_INSERT = plain_insert(table_of(OutboxMessage))


@dataclass(frozen=True)
class Note:
    """One outbox row to write (at most once when it has a key: the key is unique)."""

    key: str | None
    channel: str
    address: str
    message: Outbound
    kind: str
    subject: str | None
    tenant_id: int | None
    due_at: datetime
    template: str | None = None
    template_vars: dict[str, str] = field(default_factory=dict)
    priority: int = NOTICE_PRIORITY
    conversation_id: int | None = None


# Any note: `_values` of it gives the columns every note row has.
_SHAPE = Note(None, "", "", Outbound(""), REPLY_KIND, None, None, datetime.min)


def reply_notes(
    inbound: Inbound,
    conversation_id: int | None,
    replies: Sequence[Outbound],
    now: datetime,
    tenant_id: int | None = None,
) -> list[Note]:
    """A turn's replies to the person who wrote, keyed by the inbound message they answer."""
    return [
        Note(
            key=f"reply:{inbound.channel}:{inbound.message_id}:{index}",
            channel=inbound.channel,
            address=inbound.user_ref,
            message=reply,
            kind=REPLY_KIND,
            subject=None,
            tenant_id=tenant_id,
            due_at=now,
            priority=REPLY_PRIORITY,
            conversation_id=conversation_id,
        )
        for index, reply in enumerate(replies)
    ]


def _values(note: Note, now: datetime) -> dict[str, Any]:
    """The column values of a note's row."""
    payload = note.message.to_json()
    if note.template_vars:
        payload["meta"] = {**payload.get("meta", {}), "template_vars": note.template_vars}
    return {
        "channel": note.channel,
        "address": note.address,
        "payload": payload,
        "status": OutboxStatus.PENDING,
        "priority": note.priority,
        "due_at": note.due_at,
        "idempotency_key": note.key,
        "kind": note.kind,
        "subject": note.subject,
        "tenant_id": note.tenant_id,
        "conversation_id": note.conversation_id,
        "template": note.template,
        "attempts": 0,
        "provider_ids": [],
        "created_at": now,
    }


@functools.cache
def _insert_unless_known(dialect: str) -> Insert:
    """INSERT of note rows; a row whose key is already there is skipped (RETURNING the rest).

    Rows without a key never conflict (NULLs are distinct in the unique index): one statement
    serves both, and SQLAlchemy sends a list of rows as one multi-row INSERT.
    """
    table = table_of(OutboxMessage)
    return insert_or_skip(dialect, table, "idempotency_key").returning(table.c.id)


async def write(uow: UnitOfWork, notes: Iterable[Note], *, now: datetime) -> int:
    """Insert the notes whose keys are new (and every unkeyed one); returns how many."""
    rows = [_values(note, now) for note in notes]
    if not rows:
        return 0
    written = await uow.session.execute(_insert_unless_known(uow.dialect), rows)
    return len(written.all())


async def insert_new(
    uow: UnitOfWork,
    notes: Sequence[Note],
    *,
    now: datetime,
    along: tuple[Update, dict[str, Any]] | None = None,
) -> None:
    """Insert the notes' rows in one statement (their keys must be new, as `stage`'s).

    A turn's replies take this way: one cached INSERT for all of them, no ORM objects to track.
    `along` is an UPDATE and its values that must run in the same transaction (the turn's
    conversation): on PostgreSQL it rides in the INSERT as a data-modifying WITH, one round
    trip for both; elsewhere, or with no notes, it runs first on its own.
    """
    if along is not None and (uow.dialect != "postgresql" or not notes):
        await uow.session.execute(*along)
        along = None
    if not notes:
        return
    rows = [_values(note, now) for note in notes]
    if along is None:
        await uow.session.execute(_INSERT, rows)
        return
    statement, values = along
    values["note_rows"] = [{name: _json_ready(value) for name, value in r.items()} for r in rows]
    await uow.session.execute(_insert_along(statement), values)


def _json_ready(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


@functools.cache
def _insert_along(along: Update) -> Insert:
    """INSERT of the note rows given as one JSON array (`note_rows`), with `along` in a WITH.

    The rows travel as one parameter so the statement has one shape whatever their number:
    a multi-row VALUES cannot be cached by SQLAlchemy and was compiled anew every turn.
    PostgreSQL only (`json_populate_recordset` types each field as the table's column).
    """
    table = table_of(OutboxMessage)
    columns = list(_values(_SHAPE, _SHAPE.due_at))
    note = (
        func.json_populate_recordset(
            literal_column(f"NULL::{table.name}"), bindparam("note_rows", type_=JSON)
        )
        .table_valued(*(column(name) for name in columns))
        .alias("note")
    )
    rows = select(*(note.c[name] for name in columns))
    return table.insert().from_select(columns, rows).add_cte(along.cte("saved"))


def stage(uow: UnitOfWork, notes: Iterable[Note], *, now: datetime) -> None:
    """Add the notes' rows to the session, written at its next flush (for callers not async).

    Their keys must be new, which the callers guarantee (a reply's key names its inbound
    message, recorded once; a relay message's names its ticket and step). A caller that can
    await uses `write`.
    """
    for note in notes:
        uow.session.add(OutboxMessage(**_values(note, now)))


async def withdraw(
    uow: UnitOfWork,
    subject: str,
    *,
    keep: Iterable[str | None] = (),
    kinds: Sequence[str] | None = None,
) -> int:
    """Withdraw what is still unsent about `subject` (except the keys in `keep`)."""
    query = update(OutboxMessage).where(
        OutboxMessage.subject == subject, OutboxMessage.status.in_(UNSENT)
    )
    kept = [k for k in keep if k is not None]
    if kept:
        query = query.where(OutboxMessage.idempotency_key.not_in(kept))
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(list(kinds)))
    result = await uow.session.execute(
        query.values(status=OutboxStatus.WITHDRAWN).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
