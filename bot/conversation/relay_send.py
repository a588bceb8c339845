"""Queue the relay's messages: to a specialist's chat or to a citizen's conversation."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, Unpack

from bot import outbox
from bot.messages import REPLY_PRIORITY, Outbound
from core.models import Conversation, HandoffRequest, Specialist
from core.uow import UnitOfWork

T_RELAY = "psv_relay_message"  # WhatsApp template for a relayed message outside the window


def _send(
    uow: UnitOfWork,
    *,
    channel: str,
    address: str,
    message: Outbound,
    key: str,
    ticket: HandoffRequest,
    now: datetime,
    conversation_id: int | None = None,
) -> None:
    """Queue a relay message: as urgent as a reply, keyed so a redelivery adds nothing."""
    note = outbox.Note(
        key=key,
        channel=channel,
        address=address,
        message=message,
        kind="relay",
        subject=f"ticket:{ticket.id}",
        tenant_id=ticket.tenant_id,
        due_at=now,
        template=T_RELAY,
        template_vars={"1": message.text[:900]},
        priority=REPLY_PRIORITY,
        conversation_id=conversation_id,
    )
    outbox.stage(uow, [note], now=now)


class Relayed(TypedDict):
    """What every relay message carries besides its destination."""

    message: Outbound
    key: str
    ticket: HandoffRequest
    now: datetime


def to_specialist(uow: UnitOfWork, specialist: Specialist, **relayed: Unpack[Relayed]) -> None:
    """Queue a relay message to a specialist's chat."""
    _send(
        uow,
        channel=specialist.contact_channel,
        address=specialist.contact_address,
        **relayed,
    )


def to_citizen(uow: UnitOfWork, conversation: Conversation, **relayed: Unpack[Relayed]) -> None:
    """Queue a relay message to the citizen's conversation."""
    _send(
        uow,
        channel=conversation.channel,
        address=conversation.user_ref,
        conversation_id=conversation.id,
        **relayed,
    )
