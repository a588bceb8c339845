"""A regional closure follows up the appointments it covers, like a specialist's day off.

On SQLite and PostgreSQL: the appointments booked on the closed days are cancelled (nobody
in the region is free then), their reminders withdrawn, the specialists told, and the
citizens offered new times that avoid the closed days; other days and regions are untouched.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select

from bot.outbox import notify
from core import booking, catalog, citizens, roster
from core.db import Database
from core.models import Appointment, AppointmentStatus, OutboxMessage
from tests.factories import NOW, add_citizen, add_specialist, lima

SERVICE = "consultas-laborales"
CLOSED = date(2026, 12, 2)


async def _person(db: Database, address: str) -> int:
    async with db.uow() as uow:
        citizen = await add_citizen(uow)
        await citizens.link_channel(uow, citizen, "telegram", address)
        await uow.commit()
    return citizen.id


async def _book(db: Database, citizen_id: int, start: datetime, tenant: str = "PE-ARE") -> int:
    async with db.uow() as uow:
        appointment = await booking.book(
            uow, tenant_code=tenant, service_code=SERVICE, citizen_id=citizen_id, start=start,
            now=NOW, channel="telegram",
        )  # fmt: skip
        await notify.appointment_booked(uow, appointment.id, now=NOW)
        await uow.commit()
    return appointment.id


async def _close(
    db: Database, tenant: str, first: date, last: date, now: datetime = NOW
) -> dict[str, int]:
    async with db.uow() as uow:
        region = await catalog.get_tenant(uow, tenant)
        await roster.add_closure(uow, region.id, first, last, reason="Paro", by="admin:ana")
        counts = await notify.after_closure(
            uow, tenant_id=region.id, starts_on=first, ends_on=last, actor="admin:ana", now=now
        )
        await uow.commit()
    return counts


async def _outbox(db: Database, appointment_id: int) -> dict[str, OutboxMessage]:
    async with db.uow() as uow:
        rows = list(
            await uow.session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.subject == f"appointment:{appointment_id}"
                )
            )
        )
        uow.session.expunge_all()  # detached with their values: the read is rolled back
        return {str(r.idempotency_key): r for r in rows}


async def _status(db: Database, appointment_id: int) -> tuple[str, str | None]:
    async with db.uow() as uow:
        row = await uow.session.get(Appointment, appointment_id)
        assert row is not None
        return row.status.value, row.cancel_reason


async def test_a_closure_cancels_its_days_and_offers_new_times(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow, "PE-ARE")
        await add_specialist(uow, "PE-ARE")  # a colleague: closed too that day
        await add_specialist(uow, "PE-CUS")
        await uow.commit()
    one, two, three, far = [await _person(db, str(7300 + i)) for i in range(4)]
    ten = await _book(db, one, lima(2026, 12, 2, 10))
    eleven = await _book(db, two, lima(2026, 12, 2, 11))
    next_day = await _book(db, three, lima(2026, 12, 3, 10))
    cusco = await _book(db, far, lima(2026, 12, 2, 10), tenant="PE-CUS")
    assert (await _outbox(db, ten))[f"appointment:{ten}:reminder:60"].status == "pending"

    # Late on the 1st: without the closure, the next free times would be on the 2nd.
    counts = await _close(db, "PE-ARE", CLOSED, CLOSED, now=lima(2026, 12, 1, 16))

    assert counts == {"moved": 0, "cancelled": 2, "reoffered": 2}
    for appointment in (ten, eleven):
        assert await _status(db, appointment) == ("cancelled", "regional_closure")
        rows = await _outbox(db, appointment)
        reminders = [r for r in rows.values() if r.kind == "reminder"]
        assert reminders and {r.status for r in reminders} == {"withdrawn"}
        assert rows[f"appointment:{appointment}:survey"].status == "withdrawn"
        notice = rows[f"appointment:{appointment}:cancelled:citizen"]
        assert notice.status == "pending" and "fue cancelada" in notice.payload["text"]
        payloads = [payload for payload, _ in notice.payload["options"]]
        assert payloads[-1] == "menu:book"
        # "rebook:<appointment>:<ISO start>"
        offered = [datetime.fromisoformat(p.split(":", 2)[2]) for p in payloads[:-1]]
        assert offered, payloads
        assert all(o >= lima(2026, 12, 3, 0) for o in offered)  # never the closed day
        told = rows[f"appointment:{appointment}:cancelled:specialist"]
        assert "canceló" in told.payload["text"]
    for untouched in (next_day, cusco):
        assert await _status(db, untouched) == ("booked", None)
        rows = await _outbox(db, untouched)
        assert rows[f"appointment:{untouched}:reminder:60"].status == "pending"


async def test_a_closure_over_a_span_counts_every_day_and_only_once(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow, "PE-ARE", hours=((time(8, 30), time(17, 0)),))
        await uow.commit()
    people = [await _person(db, str(7400 + i)) for i in range(3)]
    booked = [
        await _book(db, people[0], lima(2026, 12, 2, 9)),
        await _book(db, people[1], lima(2026, 12, 3, 9)),
        await _book(db, people[2], lima(2026, 12, 4, 9)),
    ]
    assert await _close(db, "PE-ARE", date(2026, 12, 2), date(2026, 12, 3)) == {
        "moved": 0,
        "cancelled": 2,
        "reoffered": 2,
    }
    assert [(await _status(db, a))[0] for a in booked] == ["cancelled", "cancelled", "booked"]
    # The same closure followed again finds nothing left to do.
    async with db.uow() as uow:
        region = await catalog.get_tenant(uow, "PE-ARE")
        again = await notify.after_closure(
            uow, tenant_id=region.id, starts_on=date(2026, 12, 2), ends_on=date(2026, 12, 3),
            actor="admin:ana", now=NOW,
        )  # fmt: skip
    assert again == {"moved": 0, "cancelled": 0, "reoffered": 0}


async def test_a_citizen_without_a_reachable_chat_is_counted_but_not_reoffered(
    db: Database,
) -> None:
    async with db.uow() as uow:
        await add_specialist(uow, "PE-ARE")
        silent = await add_citizen(uow)  # booked by an admin: no chat to write to
        await uow.commit()
    appointment = await _book(db, silent.id, lima(2026, 12, 2, 10))
    assert await _close(db, "PE-ARE", CLOSED, CLOSED) == {
        "moved": 0,
        "cancelled": 1,
        "reoffered": 0,
    }
    assert await _status(db, appointment) == ("cancelled", "regional_closure")
    async with db.uow() as uow:
        left = await uow.session.scalar(
            select(Appointment.status).where(Appointment.id == appointment)
        )
    assert left == AppointmentStatus.CANCELLED
