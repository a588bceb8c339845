"""The terminal channel behind `psv chat`: renders replies as text and reads typed lines.

Options are shown as a numbered list; the person answers with the number or in words,
which the engine understands the same way as on WhatsApp.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from bot.messages import Inbound, Location, Outbound
from core.db import Database
from core.models import OutboxMessage
from core.states import REPLY_KIND, OutboxStatus

CHANNEL = "console"


def render(reply: Outbound) -> str:
    """A reply as terminal text: the message, then its options numbered from 1."""
    lines = [reply.text] if reply.text else []
    lines += [f"  {n}. {option.label}" for n, option in enumerate(reply.options, start=1)]
    lines += [f"  {link}" for link in reply.links]
    if reply.attachment:
        lines.append(f"  [{reply.attachment.filename}]")
    return "\n".join(lines)


def parse(line: str, user: str, *, lang: str | None = None) -> Inbound:
    """A typed line as an Inbound; `/ubicacion LAT LON` shares a location (for testing)."""
    text = line.strip()
    location = None
    if text.startswith("/ubicacion "):
        parts = text.split()
        try:
            location = Location(float(parts[1]), float(parts[2]))
            text = ""
        except (IndexError, ValueError):
            location = None
    return Inbound(
        channel=CHANNEL,
        user_ref=user,
        message_id=uuid.uuid4().hex,
        text=text,
        location=location,
        lang_hint=lang,
    )


async def take_due(db: Database, user_ref: str, now: datetime) -> list[Outbound]:
    """What reached the terminal user outside their own turns, now due: marked sent.

    A specialist's relayed words, notices, reminders: the terminal has no worker, so `psv chat`
    shows them between turns. Replies to the user's own messages are shown by the turn itself.
    """
    async with db.uow() as uow:
        rows = list(
            await uow.session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.channel == CHANNEL,
                    OutboxMessage.address == user_ref,
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.kind != REPLY_KIND,
                    OutboxMessage.due_at <= now,
                )
                .order_by(OutboxMessage.due_at, OutboxMessage.id)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.status, row.sent_at = OutboxStatus.SENT, now
        await uow.commit()
        return [Outbound.from_json(row.payload) for row in rows]
