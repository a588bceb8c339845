"""The statement that opens a turn: the conversation, locked, with what the handlers ask first.

One round trip instead of three: whether the writer is an active specialist (the desk) and
whether the conversation has a ticket open or being relayed (the relay) come as EXISTS columns
next to the locked row, so an ordinary citizen's turn skips both handlers' own queries.

On PostgreSQL a turn may wait for the lock while another turn of the same person commits; the
EXISTS columns would then show the database as it was before that turn (the statement's
snapshot) while the row is the new one. `fresh` tells: it compares the locked row's version
(`xmin`) with the one the statement's snapshot sees. When it is false the engine ignores the
flags and the handlers ask for themselves. SQLite runs one writer at a time: always fresh.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ColumnClause, Select, exists, literal, literal_column, select

from bot.messages import Inbound
from core.models import Conversation, HandoffRequest, Specialist
from core.states import TicketStatus

_FRESH_PG: ColumnClause[bool] = literal_column(
    "conversation.xmin = "
    "(SELECT seen.xmin FROM conversation AS seen WHERE seen.id = conversation.id)",
    Boolean(),
)


def query(inbound: Inbound, dialect: str) -> Select[Conversation, bool, bool, bool]:
    """The conversation of this channel address, locked; (row, specialist, ticket, fresh)."""
    specialist = exists().where(
        Specialist.contact_channel == inbound.channel,
        Specialist.contact_address == inbound.user_ref,
        Specialist.active.is_(True),
    )
    ticket = exists().where(
        HandoffRequest.conversation_id == Conversation.id,
        HandoffRequest.status.in_((TicketStatus.ASSIGNED, TicketStatus.OPEN)),
    )
    fresh = _FRESH_PG if dialect == "postgresql" else literal(True)
    return (
        select(Conversation, specialist.label("specialist"), ticket.label("ticket"), fresh)
        .where(Conversation.channel == inbound.channel, Conversation.user_ref == inbound.user_ref)
        .with_for_update(of=Conversation)
        .execution_options(populate_existing=True)
    )
