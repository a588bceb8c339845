"""Booking, cancelling and rescheduling on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from core import availability, booking
from core.db import Database
from core.errors import (
    Closed,
    Holiday,
    NotActive,
    NotFound,
    OutsideHours,
    ServiceNotOffered,
    SlotTaken,
    TooFarAhead,
    TooSoon,
)
from core.meetings import JitsiProvider
from core.models import Appointment, AppointmentStatus, AuditEntry
from tests.factories import NOW, add_citizen, add_closure, add_specialist, lima, offer

SERVICE = "consultas-laborales"


async def _book(db: Database, citizen_id: int, start, **kw) -> Appointment:  # type: ignore[no-untyped-def]
    async with db.uow() as uow:
        appt = await booking.book(
            uow,
            tenant_code=kw.pop("tenant_code", "PE-ARE"),
            service_code=kw.pop("service_code", SERVICE),
            citizen_id=citizen_id,
            start=start,
            now=kw.pop("now", NOW),
            **kw,
        )
        await uow.commit()
        return appt


async def test_books_a_free_slot_with_a_competent_specialist(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        await add_specialist(uow, services=("bolsa-de-trabajo",))
        citizen = await add_citizen(uow)
        await uow.commit()
    appt = await _book(db, citizen.id, lima(2026, 12, 2, 10), channel="telegram")
    assert appt.specialist_id == spec.id
    assert appt.status == AppointmentStatus.BOOKED
    assert appt.start_utc == lima(2026, 12, 2, 10)
    assert appt.end_utc - appt.start_utc == timedelta(minutes=30)
    async with db.uow() as uow:
        stored = await uow.session.get(Appointment, appt.id)
        assert stored is not None
        assert stored.start_utc == lima(2026, 12, 2, 10)
        assert stored.channel == "telegram"


async def test_same_idempotency_key_returns_the_same_appointment(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        citizen = await add_citizen(uow)
        await uow.commit()
    first = await _book(db, citizen.id, lima(2026, 12, 2, 10), idempotency_key="tg:42:7")
    again = await _book(db, citizen.id, lima(2026, 12, 2, 10), idempotency_key="tg:42:7")
    assert again.id == first.id
    async with db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Appointment)) == 1


async def test_a_video_appointment_is_inserted_with_its_room_and_keeps_it(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        citizen = await add_citizen(uow)
        await uow.commit()
    rooms = JitsiProvider("https://video.example.pe")
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        first = await _book(
            db, citizen.id, lima(2026, 12, 2, 10), idempotency_key="k", meeting=rooms
        )
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert first.session_link and first.session_link.startswith("https://video.example.pe/psv-")
    assert not [s for s in statements if s.startswith("UPDATE appointment")]  # in the INSERT
    again = await _book(db, citizen.id, lima(2026, 12, 2, 10), idempotency_key="k", meeting=rooms)
    assert again.session_link == first.session_link  # a retry never makes a second room
    async with db.uow() as uow:
        moved = await booking.reschedule(
            uow, first.id, lima(2026, 12, 2, 11), by="citizen", now=NOW, meeting=rooms
        )
        await uow.commit()
    assert moved.session_link and moved.session_link != first.session_link
    async with db.uow() as uow:
        links = {a.id: a.session_link for a in await uow.session.scalars(select(Appointment))}
    assert links == {first.id: first.session_link, moved.id: moved.session_link}


async def test_least_loaded_specialist_gets_the_next_booking(db: Database) -> None:
    async with db.uow() as uow:
        one = await add_specialist(uow)
        two = await add_specialist(uow)
        citizens = [await add_citizen(uow) for _ in range(3)]
        await uow.commit()
    first = await _book(db, citizens[0].id, lima(2026, 12, 2, 9))
    second = await _book(db, citizens[1].id, lima(2026, 12, 2, 11))
    third = await _book(db, citizens[2].id, lima(2026, 12, 2, 15))
    # Ties go to the lowest id; then the one with fewer appointments that day.
    assert first.specialist_id == min(one.id, two.id)
    assert second.specialist_id == max(one.id, two.id)
    assert third.specialist_id == min(one.id, two.id)


async def test_taken_slot_is_refused_with_the_next_free_ones(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        a, b = await add_citizen(uow), await add_citizen(uow)
        await uow.commit()
    await _book(db, a.id, lima(2026, 12, 2, 10))
    with pytest.raises(SlotTaken) as refused:
        await _book(db, b.id, lima(2026, 12, 2, 10))
    starts = [offer.start for offer in refused.value.alternatives]
    assert starts == [lima(2026, 12, 2, 10, 30), lima(2026, 12, 2, 11), lima(2026, 12, 2, 11, 30)]


@pytest.mark.parametrize(
    ("start", "error"),
    [
        (lima(2026, 12, 1, 10), TooSoon),  # 1 hour ahead; notice is 2 hours
        (lima(2027, 1, 5, 10), TooFarAhead),  # beyond 30 days
        (lima(2026, 12, 8, 10), Holiday),  # Inmaculada Concepción
        (lima(2026, 12, 2, 20), OutsideHours),
        (lima(2026, 12, 2, 13), OutsideHours),  # lunch break
        (lima(2026, 12, 5, 10), OutsideHours),  # Saturday
    ],
)
async def test_refusals_say_why(db: Database, start, error) -> None:  # type: ignore[no-untyped-def]
    async with db.uow() as uow:
        await add_specialist(uow)
        citizen = await add_citizen(uow)
        await uow.commit()
    with pytest.raises(error):
        await _book(db, citizen.id, start)


async def test_regional_closure_and_day_off(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        other = await add_specialist(uow)
        await add_closure(uow, "regional", date(2026, 12, 3), tenant_code="PE-ARE")
        await add_closure(uow, "regional", date(2026, 12, 4), tenant_code="PE-CUS")
        await add_closure(uow, "day_off", date(2026, 12, 4), specialist=spec)
        citizen = await add_citizen(uow)
        await uow.commit()
    with pytest.raises(Closed):
        await _book(db, citizen.id, lima(2026, 12, 3, 10))
    # Cusco's closure does not close Arequipa; the specialist on leave is skipped.
    appt = await _book(db, citizen.id, lima(2026, 12, 4, 10))
    assert appt.specialist_id == other.id


async def test_service_not_offered_in_region(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await offer(uow, "PE-ARE", SERVICE, enabled=False)
        citizen = await add_citizen(uow)
        await uow.commit()
    with pytest.raises(ServiceNotOffered):
        await _book(db, citizen.id, lima(2026, 12, 2, 10))
    with pytest.raises(ServiceNotOffered):  # an information-only service is never booked
        await _book(db, citizen.id, lima(2026, 12, 2, 10), service_code="remype")


async def test_buffer_spaces_the_grid_and_blocks_neighbours(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await offer(uow, "PE-ARE", SERVICE, buffer_minutes=10, min_notice_minutes=0)
        citizen = await add_citizen(uow)
        await uow.commit()
    async with db.uow() as uow:
        slots = await availability.free_slots(
            uow, "PE-ARE", SERVICE, lima(2026, 12, 2, 0), lima(2026, 12, 3, 0), now=NOW
        )
    starts = [s.start for s in slots[:3]]
    assert starts == [lima(2026, 12, 2, 8, 30), lima(2026, 12, 2, 9, 10), lima(2026, 12, 2, 9, 50)]
    appt = await _book(db, citizen.id, lima(2026, 12, 2, 8, 30))
    assert appt.busy_until == lima(2026, 12, 2, 9, 10)


async def test_free_slots_skip_lunch_holidays_and_booked_time(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        citizen = await add_citizen(uow)
        await uow.commit()
    await _book(db, citizen.id, lima(2026, 12, 7, 9))
    async with db.uow() as uow:
        slots = await availability.free_slots(
            uow, "PE-ARE", SERVICE, lima(2026, 12, 7, 0), lima(2026, 12, 10, 0), now=NOW
        )
    days = {s.start.astimezone(lima(2026, 1, 1, 0).tzinfo).date() for s in slots}
    local = [s.start for s in slots]
    assert lima(2026, 12, 7, 9) not in local
    assert lima(2026, 12, 7, 13) not in local and lima(2026, 12, 7, 12, 30) in local
    assert not any(lima(2026, 12, 8, 0) <= s < lima(2026, 12, 10, 0) for s in local)
    assert len(days) == 1
    # 8:30-13:00 and 14:00-17:00 make 9 + 6 slots; one is booked.
    assert len(slots) == 14


async def test_first_free_slots_finds_the_earliest(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        citizen = await add_citizen(uow)
        await uow.commit()
    # Notice of 2 h from 09:00 gives 11:00 today as the first; book it.
    await _book(db, citizen.id, lima(2026, 12, 1, 11))
    async with db.uow() as uow:
        first = await availability.first_free_slots(uow, "PE-ARE", SERVICE, now=NOW, count=2)
    assert [s.start for s in first] == [lima(2026, 12, 1, 11, 30), lima(2026, 12, 1, 12)]


async def test_next_free_days_reads_past_the_first_week(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow, weekdays=(0,))  # Mondays only
        await add_closure(uow, "day_off", date(2026, 12, 14), specialist=spec)
        citizen = await add_citizen(uow)
        await uow.commit()
    await _book(db, citizen.id, lima(2026, 12, 7, 9))
    async with db.uow() as uow:
        days = await availability.next_free_days(uow, "PE-ARE", SERVICE, now=NOW, count=3)
    # 15 slots a day (8:30-13:00 and 14:00-17:00), one booked on the 7th; the 14th off.
    assert days == [(date(2026, 12, 7), 14), (date(2026, 12, 21), 15), (date(2026, 12, 28), 15)]


async def test_cancel_keeps_the_row_and_frees_the_time(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        a, b = await add_citizen(uow), await add_citizen(uow)
        await uow.commit()
    appt = await _book(db, a.id, lima(2026, 12, 2, 10))
    async with db.uow() as uow:
        with pytest.raises(NotFound):  # another citizen cannot cancel it
            await booking.cancel(uow, appt.id, by="citizen", reason="x", now=NOW, citizen_id=b.id)
    async with db.uow() as uow:
        await booking.cancel(uow, appt.id, by="citizen", reason="viaje", now=NOW, citizen_id=a.id)
        await uow.commit()
    async with db.uow() as uow:
        with pytest.raises(NotActive):
            await booking.cancel(uow, appt.id, by="citizen", reason="x", now=NOW)
        stored = await uow.session.get(Appointment, appt.id)
        assert stored is not None and stored.status == AppointmentStatus.CANCELLED
        assert stored.cancel_reason == "viaje" and stored.cancelled_by == "citizen"
        audit = await uow.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "appointment.cancel")
        )
        assert audit is not None and audit.before is not None and audit.after is not None
        assert audit.before["status"] == "booked" and audit.after["status"] == "cancelled"
    again = await _book(db, b.id, lima(2026, 12, 2, 10))
    assert again.status == AppointmentStatus.BOOKED


async def test_reschedule_moves_atomically(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        a, b = await add_citizen(uow), await add_citizen(uow)
        await uow.commit()
    mine = await _book(db, a.id, lima(2026, 12, 2, 10))
    await _book(db, b.id, lima(2026, 12, 2, 11))
    async with db.uow() as uow:
        with pytest.raises(SlotTaken):
            await booking.reschedule(uow, mine.id, lima(2026, 12, 2, 11), by="citizen", now=NOW)
    async with db.uow() as uow:  # the failed move changed nothing
        stored = await uow.session.get(Appointment, mine.id)
        assert stored is not None and stored.status == AppointmentStatus.BOOKED
    async with db.uow() as uow:
        moved = await booking.reschedule(
            uow, mine.id, lima(2026, 12, 2, 10, 30), by="citizen", now=NOW, citizen_id=a.id
        )
        await uow.commit()
    assert moved.rescheduled_from_id == mine.id
    async with db.uow() as uow:
        upcoming = await booking.appointments_of(uow, a.id, now=NOW)
        assert [x.start_utc for x in upcoming] == [lima(2026, 12, 2, 10, 30)]
        old = await uow.session.get(Appointment, mine.id)
        assert old is not None and old.status == AppointmentStatus.CANCELLED
        assert old.cancel_reason == "rescheduled"


async def test_outcome_only_after_start(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        citizen = await add_citizen(uow)
        await uow.commit()
    appt = await _book(db, citizen.id, lima(2026, 12, 2, 10))
    async with db.uow() as uow:
        with pytest.raises(Exception, match="not started"):
            await booking.set_outcome(uow, appt.id, AppointmentStatus.ATTENDED, by="s", now=NOW)
    async with db.uow() as uow:
        done = await booking.set_outcome(
            uow, appt.id, AppointmentStatus.NO_SHOW, by="s", now=lima(2026, 12, 2, 10, 20)
        )
        await uow.commit()
    assert done.status == AppointmentStatus.NO_SHOW
