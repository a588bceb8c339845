"""The morning agenda: working days only, once per specialist and day, at the set local time."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from bot.outbox import scheduler
from bot.outbox.scheduler import Scheduler, agenda_key, queue_agendas, run_with_scheduler
from bot.outbox.worker import OutboxWorker
from core import booking, meetings
from core.db import Database
from core.models import Appointment, OutboxMessage, Specialist, Tenant
from core.settings import load_settings
from tests.factories import NOW, add_citizen, add_closure, add_specialist, lima

SERVICE = "consultas-laborales"
AT = time(7, 30)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def booked(db: Database, start: datetime, **specialist: object) -> Specialist:
    """A new specialist with one appointment at `start` (booked the week before)."""
    async with db.uow() as uow:
        spec = await add_specialist(uow, **specialist)  # type: ignore[arg-type]
        citizen = await add_citizen(uow)
        appointment = await booking.book(
            uow,
            tenant_code="PE-ARE",
            service_code=SERVICE,
            citizen_id=citizen.id,
            start=start,
            now=start - timedelta(days=7),
        )
        await meetings.attach_link(uow, appointment)
        await uow.commit()
    return spec


async def insert_booked(db: Database, spec: Specialist, start: datetime) -> None:
    """An appointment written straight in (e.g. booked before a holiday was decreed)."""
    async with db.uow() as uow:
        citizen = await add_citizen(uow)
        uow.session.add(
            Appointment(
                tenant_id=spec.tenant_id,
                service_id=1,
                specialist_id=spec.id,
                citizen_id=citizen.id,
                start_utc=start,
                end_utc=start + timedelta(minutes=30),
                busy_until=start + timedelta(minutes=30),
            )
        )
        await uow.commit()


async def queue(db: Database, now: datetime, at: time = AT) -> int:
    async with db.uow() as uow:
        queued = await queue_agendas(uow, now=now, at=at)
        await uow.commit()
    return queued


async def agendas(db: Database) -> list[OutboxMessage]:
    async with db.uow() as uow:
        found = list(
            await uow.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.idempotency_key.like("agenda:%"))
                .order_by(OutboxMessage.id)
            )
        )
        uow.session.expunge_all()
    return found


async def test_the_agenda_goes_at_the_set_time_once(db: Database) -> None:
    spec = await booked(db, lima(2026, 12, 2, 10))
    await booked(db, lima(2026, 12, 3, 10))  # another day: not today's agenda
    assert await queue(db, lima(2026, 12, 2, 7, 29)) == 0
    assert await queue(db, lima(2026, 12, 2, 7, 30)) == 1
    assert await queue(db, lima(2026, 12, 2, 7, 31)) == 0  # the next tick, or a restart
    [row] = await agendas(db)
    assert row.idempotency_key == agenda_key(spec.id, date(2026, 12, 2))
    assert (row.channel, row.address) == ("telegram", spec.contact_address)
    assert row.template == "psv_agenda" and row.status == "pending"
    assert "miércoles 2 de diciembre" in row.payload["text"]
    assert "meet.jit.si/psv-" in row.payload["text"]


async def test_a_late_start_still_sends_it_while_appointments_are_ahead(db: Database) -> None:
    await booked(db, lima(2026, 12, 2, 15))
    assert await queue(db, lima(2026, 12, 2, 12)) == 1
    assert await queue(db, lima(2026, 12, 2, 16)) == 0


async def test_nothing_after_the_days_last_appointment(db: Database) -> None:
    await booked(db, lima(2026, 12, 2, 9))
    assert await queue(db, lima(2026, 12, 2, 9, 30)) == 0


async def test_weekends_are_skipped(db: Database) -> None:
    # Saturday 5 December 2026, a specialist who works Saturdays, in a Monday-Friday office.
    await booked(db, lima(2026, 12, 5, 10), weekdays=range(6))
    assert await queue(db, lima(2026, 12, 5, 8)) == 0


async def test_a_region_open_on_saturdays_sends_its_saturday_agenda(db: Database) -> None:
    async with db.uow() as uow:
        arequipa = await uow.session.scalar(select(Tenant).where(Tenant.code == "PE-ARE"))
        assert arequipa is not None
        arequipa.office_hours = {
            "weekdays": [0, 1, 2, 3, 4, 5],
            "opens": "08:00",
            "closes": "13:00",
        }
        await uow.commit()
    await booked(db, lima(2026, 12, 5, 10), weekdays=range(6))
    assert await queue(db, lima(2026, 12, 5, 8)) == 1
    assert await queue(db, lima(2026, 12, 6, 8)) == 0  # Sunday: not an office day


async def test_national_holidays_are_skipped(db: Database) -> None:
    # Tuesday 8 December 2026 (Inmaculada Concepción) is a national holiday.
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        await uow.commit()
    await insert_booked(db, spec, lima(2026, 12, 8, 10))
    assert await queue(db, lima(2026, 12, 8, 8)) == 0
    await insert_booked(db, spec, lima(2026, 12, 10, 10))
    assert await queue(db, lima(2026, 12, 10, 8)) == 1  # and the Thursday after goes out


async def test_regional_closures_and_days_off_are_skipped(db: Database) -> None:
    closed = await booked(db, lima(2026, 12, 2, 10))
    resting = await booked(db, lima(2026, 12, 2, 11))
    working = await booked(db, lima(2026, 12, 2, 12))
    async with db.uow() as uow:
        await add_closure(uow, "day_off", date(2026, 12, 2), specialist=resting)
        await uow.commit()
    assert await queue(db, lima(2026, 12, 2, 8)) == 2
    assert {r.address for r in await agendas(db)} == {
        closed.contact_address,
        working.contact_address,
    }
    await booked(db, lima(2026, 12, 3, 10))
    async with db.uow() as uow:
        await add_closure(uow, "regional", date(2026, 12, 3), tenant_code="PE-ARE")
        await uow.commit()
    assert await queue(db, lima(2026, 12, 3, 8)) == 0


async def test_inactive_specialists_get_no_agenda(db: Database) -> None:
    spec = await booked(db, lima(2026, 12, 2, 10))
    async with db.uow() as uow:
        row = await uow.session.get(Specialist, spec.id)
        assert row is not None
        row.active = False
        await uow.commit()
    assert await queue(db, lima(2026, 12, 2, 8)) == 0


async def test_the_scheduler_ticks_on_its_clock_and_wakes_the_worker(db: Database) -> None:
    await booked(db, lima(2026, 12, 2, 10))
    clock = Clock(lima(2026, 12, 2, 7))
    woken: list[bool] = []
    settings = load_settings(agenda_time="07:45")
    runner = Scheduler(db, settings, clock=clock, on_queued=lambda: woken.append(True))
    assert await runner.run_once() == 0
    clock.now = lima(2026, 12, 2, 7, 44)
    assert await runner.run_once() == 0
    clock.now = lima(2026, 12, 2, 7, 45)
    assert await runner.run_once() == 1
    assert woken == [True]
    assert await runner.run_once() == 0


async def test_the_scheduler_stops_with_the_worker(db: Database) -> None:
    await booked(db, lima(2026, 12, 2, 10))
    clock = Clock(lima(2026, 12, 2, 8))
    worker = OutboxWorker(db, {}, {}, clock=clock, idle_wait=0.01)
    task = asyncio.create_task(run_with_scheduler(worker, db, load_settings(), clock=clock))
    for _ in range(200):
        if await agendas(db):
            break
        await asyncio.sleep(0.01)
    worker.stop()
    await asyncio.wait_for(task, timeout=5)
    assert len(await agendas(db)) == 1
    assert scheduler.TICK_SECONDS == 60.0
    assert lima(2026, 12, 2, 8) > NOW
