"""What the notice tests share: a hand-moved clock, a reachable citizen, booking with notices.

Appointments are booked through the core; the notices write outbox rows in the same unit of
work. Where it matters that nothing goes out, the real OutboxWorker sends through the real
TelegramChannel (or WhatsAppChannel) to the fake platform servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.outbox import notify
from bot.outbox.worker import OutboxWorker
from core import booking, citizens
from core.db import Database
from core.models import Appointment, Citizen, OutboxMessage
from tests.factories import NOW, add_citizen

SERVICE = "consultas-laborales"
CHAT = "7001"
TOKEN = "123:abc"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def person(
    db: Database,
    *,
    channel: str = "telegram",
    address: str = CHAT,
    lang: str = "es",
    share_phone: bool = False,
    name: str = "Lucía Quispe",
) -> Citizen:
    """A citizen reachable on a channel."""
    async with db.uow() as uow:
        citizen = await add_citizen(uow, name)
        citizen.preferred_language = lang
        citizen.phone = "+51912345678"
        citizen.share_phone = share_phone
        await citizens.link_channel(uow, citizen, channel, address)
        await uow.commit()
    return citizen


async def book(
    db: Database,
    citizen_id: int,
    start: datetime,
    *,
    now: datetime = NOW,
    channel: str = "telegram",
    description: str | None = "Me despidieron sin pagarme la CTS.",
) -> Appointment:
    """Book and notify in one unit of work, as the book action does."""
    async with db.uow() as uow:
        appointment = await booking.book(
            uow,
            tenant_code="PE-ARE",
            service_code=SERVICE,
            citizen_id=citizen_id,
            start=start,
            now=now,
            channel=channel,
            case_description=description,
        )
        await notify.appointment_booked(uow, appointment.id, now=now)
        await uow.commit()
    return appointment


async def rows(db: Database, **where: Any) -> list[OutboxMessage]:
    """Outbox rows (filtered by column values), in id order, detached."""
    async with db.uow() as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        found = list(await uow.session.scalars(query))
        uow.session.expunge_all()
    return found


def by_key(found: Sequence[OutboxMessage]) -> dict[str, OutboxMessage]:
    return {str(r.idempotency_key): r for r in found}


async def stored(db: Database, appointment_id: int) -> Appointment:
    async with db.uow() as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        assert appointment is not None
        uow.session.expunge_all()
    return appointment


async def drain(worker: OutboxWorker) -> int:
    total = 0
    for _ in range(50):
        done = await worker.run_once()
        if done == 0:
            return total
        total += done
    raise AssertionError("the outbox never ran dry")
