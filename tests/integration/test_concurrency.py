"""The guarantee under load: no double booking, no overfull event, no lost reschedule.

Also: one citizen never holds two overlapping appointments, nor two seats in one event.

The PostgreSQL tests use 50 connections at once; SQLite gets a smaller run over several
connections to the same file, where serialised writes must give the same answers.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, time

import pytest
from sqlalchemy import func, select, text

from core import booking, events
from core.db import Database
from core.errors import AlreadyBooked, NotActive, SlotTaken
from core.models import Appointment, AppointmentStatus, EventRegistration, RegistrationStatus
from tests.conftest import reset
from tests.factories import NOW, add_citizen, add_specialist, lima

SERVICE = "consultas-laborales"


@pytest.fixture
async def pg_wide(postgresql_db: Database, pg_url: str) -> AsyncIterator[Database]:
    """The PostgreSQL test database, cleaned, behind a pool of 50 connections."""
    await reset(postgresql_db)
    wide = Database(pg_url, pool_size=50)
    yield wide
    await wide.dispose()


@pytest.fixture
async def sqlite_clean(sqlite_db: Database) -> AsyncIterator[list[Database]]:
    """The SQLite test file, cleaned, opened by four engines as four processes would.

    Each engine has its own connections and its own in-process write queue, so only
    SQLite's BEGIN IMMEDIATE keeps their writers apart.
    """
    await reset(sqlite_db)
    others = [Database(sqlite_db.url) for _ in range(3)]
    yield [sqlite_db, *others]
    for other in others:
        await other.dispose()


def _slot_times(count: int) -> list[datetime]:
    """`count` morning slot starts on Wednesday 2 December (08:30, 09:00, ...)."""
    return [lima(2026, 12, 2, 8, 30 + 30 * i) for i in range(count)]


async def _citizens(db: Database, n: int) -> list[int]:
    async with db.uow() as uow:
        ids = [(await add_citizen(uow)).id for _ in range(n)]
        await uow.commit()
    return ids


async def _attempt(db: Database, citizen_id: int, start: datetime) -> Appointment | None:
    try:
        async with db.uow() as uow:
            appt = await booking.book(
                uow,
                tenant_code="PE-ARE",
                service_code=SERVICE,
                citizen_id=citizen_id,
                start=start,
                now=NOW,
            )
            await uow.commit()
            return appt
    except SlotTaken:
        return None


async def _assert_no_overlap(db: Database) -> None:
    async with db.engine.connect() as conn:
        clashes = await conn.scalar(
            text(
                "SELECT count(*) FROM appointment a JOIN appointment b "
                "ON a.specialist_id = b.specialist_id AND a.id < b.id "
                "AND a.start_utc < b.busy_until AND b.start_utc < a.busy_until "
                "WHERE a.status = 'booked' AND b.status = 'booked'"
            )
        )
    assert clashes == 0


async def _race_bookings(dbs: list[Database], specialists: int, slots: int, attempts: int) -> None:
    db = dbs[0]
    async with db.uow() as uow:
        for _ in range(specialists):
            await add_specialist(uow, hours=((time(8, 30), time(13, 0)),), lunch=None)
        await uow.commit()
    times = _slot_times(slots)
    people = await _citizens(db, attempts)
    rng = random.Random(7)
    results = await asyncio.gather(
        *(_attempt(dbs[n % len(dbs)], person, rng.choice(times)) for n, person in enumerate(people))
    )
    made = [r for r in results if r is not None]
    assert len(made) == specialists * slots
    async with db.uow() as uow:
        booked = await uow.session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.status == AppointmentStatus.BOOKED)
        )
    assert booked == specialists * slots
    assert Counter(a.start_utc for a in made) == {t: specialists for t in times}
    await _assert_no_overlap(db)


@pytest.mark.postgres
async def test_pg_200_attempts_for_20_slots(pg_wide: Database) -> None:
    await _race_bookings([pg_wide], specialists=4, slots=5, attempts=200)


async def test_sqlite_serialises_concurrent_bookings(sqlite_clean: list[Database]) -> None:
    await _race_bookings(sqlite_clean, specialists=2, slots=3, attempts=40)


async def _race_registrations(dbs: list[Database], seats: int, people: int) -> None:
    db = dbs[0]
    async with db.uow() as uow:
        event = await events.create_event(
            uow,
            tenant_code="PE-LMA",
            service_code="capacitacion-laboral",
            title="Capacitación masiva",
            start=lima(2026, 12, 10, 10),
            duration_minutes=90,
            seats=seats,
            by="admin:test",
        )
        await uow.commit()
    ids = await _citizens(db, people)

    async def register(n: int, citizen_id: int) -> None:
        async with dbs[n % len(dbs)].uow() as uow:
            await events.register_for_event(uow, event.id, citizen_id, now=NOW)
            await uow.commit()

    await asyncio.gather(*(register(n, i) for n, i in enumerate(ids)))
    async with db.uow() as uow:
        rows = (
            await uow.session.execute(
                select(EventRegistration.status, EventRegistration.position)
                .where(EventRegistration.event_id == event.id)
                .order_by(EventRegistration.position)
            )
        ).all()
    confirmed = [p for s, p in rows if s == RegistrationStatus.CONFIRMED]
    waitlisted = [p for s, p in rows if s == RegistrationStatus.WAITLISTED]
    assert len(confirmed) == seats
    assert len(waitlisted) == people - seats
    # Arrival order is consistent: seats went to the first `seats` positions, no gaps.
    assert confirmed == list(range(1, seats + 1))
    assert waitlisted == list(range(seats + 1, people + 1))


@pytest.mark.postgres
async def test_pg_2000_registrations_for_540_seats(pg_wide: Database) -> None:
    await _race_registrations([pg_wide], seats=540, people=2000)


async def test_sqlite_concurrent_registrations(sqlite_clean: list[Database]) -> None:
    await _race_registrations(sqlite_clean, seats=20, people=60)


async def _race_reschedules(dbs: list[Database], appointments: int, rounds: int) -> None:
    db = dbs[0]
    async with db.uow() as uow:
        await add_specialist(uow)
        await add_specialist(uow)
        await uow.commit()
    people = await _citizens(db, appointments)
    day_slots = [lima(2026, 12, 3, 8, 30 + 30 * i) for i in range(9)]
    originals = []
    for person, start in zip(people, day_slots * 2, strict=False):
        appt = await _attempt(db, person, start)
        assert appt is not None
        originals.append(appt.id)
    current = dict(zip(people, originals, strict=True))
    rng = random.Random(11)
    targets = [lima(2026, 12, 4, 8, 30 + 30 * i) for i in range(6)]

    async def move(person: int, appointment_id: int, start: datetime) -> int | None:
        try:
            async with dbs[person % len(dbs)].uow() as uow:
                new = await booking.reschedule(
                    uow, appointment_id, start, by="citizen", now=NOW, citizen_id=person
                )
                await uow.commit()
                return new.id
        except (SlotTaken, NotActive):
            return None

    for _ in range(rounds):
        # Each person moves twice at once (a double tap), to a random target.
        jobs = []
        for person, appt_id in current.items():
            jobs.append((person, move(person, appt_id, rng.choice(targets))))
            jobs.append((person, move(person, appt_id, rng.choice(day_slots))))
        results = await asyncio.gather(*(job for _, job in jobs))
        for (person, _), new_id in zip(jobs, results, strict=True):
            if new_id is not None:
                current[person] = new_id
        async with db.uow() as uow:
            booked = Counter(
                (
                    await uow.session.scalars(
                        select(Appointment.citizen_id).where(
                            Appointment.status == AppointmentStatus.BOOKED
                        )
                    )
                ).all()
            )
        # Nobody lost their appointment, nobody holds two.
        assert booked == dict.fromkeys(people, 1)
        async with db.uow() as uow:
            for person, appt_id in current.items():
                row = await uow.session.get(Appointment, appt_id)
                assert row is not None and row.citizen_id == person
                assert row.status == AppointmentStatus.BOOKED
        await _assert_no_overlap(db)


@pytest.mark.postgres
async def test_pg_concurrent_reschedules(pg_wide: Database) -> None:
    await _race_reschedules([pg_wide], appointments=18, rounds=5)


async def test_sqlite_concurrent_reschedules(sqlite_clean: list[Database]) -> None:
    await _race_reschedules(sqlite_clean, appointments=10, rounds=3)


# ---- one citizen, one time ---------------------------------------------------------------


async def _race_one_citizen(dbs: list[Database], attempts: int) -> None:
    """One citizen asks `attempts` times at once for 10:00, 10:10 or 10:20 (all overlapping),
    each time free with its own specialist (slots starting 0, 10 or 20 minutes apart, one
    specialist per attempt, so without the rule every attempt could be booked): one wins."""
    db = dbs[0]
    async with db.uow() as uow:
        for k in range(attempts):
            opens = time(8, 30 + 10 * (k % 3))
            await add_specialist(uow, hours=((opens, time(13, 0)),), lunch=None)
        await uow.commit()
    [citizen] = await _citizens(db, 1)
    times = [lima(2026, 12, 2, 10, m) for m in (0, 10, 20)]

    async def attempt(n: int) -> str:
        try:
            async with dbs[n % len(dbs)].uow() as uow:
                await booking.book(
                    uow,
                    tenant_code="PE-ARE",
                    service_code=SERVICE,
                    citizen_id=citizen,
                    start=times[n % len(times)],
                    now=NOW,
                )
                await uow.commit()
                return "booked"
        except AlreadyBooked:
            return "already_booked"

    results = Counter(await asyncio.gather(*(attempt(n) for n in range(attempts))))
    assert results == {"booked": 1, "already_booked": attempts - 1}
    async with db.engine.connect() as conn:
        held = await conn.scalar(
            text("SELECT count(*) FROM appointment WHERE citizen_id = :c AND status = 'booked'"),
            {"c": citizen},
        )
    assert held == 1


@pytest.mark.postgres
async def test_pg_one_citizen_50_overlapping_bookings_hold_one(pg_wide: Database) -> None:
    await _race_one_citizen([pg_wide], attempts=50)


async def test_sqlite_one_citizen_overlapping_bookings_hold_one(
    sqlite_clean: list[Database],
) -> None:
    await _race_one_citizen(sqlite_clean, attempts=20)


async def _race_one_seat(dbs: list[Database], attempts: int) -> None:
    """One citizen registers `attempts` times at once for one event: one row, one seat."""
    db = dbs[0]
    async with db.uow() as uow:
        event = await events.create_event(
            uow,
            tenant_code="PE-LMA",
            service_code="capacitacion-laboral",
            title="Capacitación",
            start=lima(2026, 12, 10, 10),
            duration_minutes=90,
            seats=5,
            by="admin:test",
        )
        await uow.commit()
    [citizen] = await _citizens(db, 1)

    async def register(n: int) -> int:
        async with dbs[n % len(dbs)].uow() as uow:
            registration = await events.register_for_event(uow, event.id, citizen, now=NOW)
            await uow.commit()
            return registration.id

    ids = set(await asyncio.gather(*(register(n) for n in range(attempts))))
    assert len(ids) == 1
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT status, position FROM event_registration WHERE event_id = :e"),
                {"e": event.id},
            )
        ).all()
        confirmed = await conn.scalar(
            text("SELECT confirmed_count FROM group_event WHERE id = :e"), {"e": event.id}
        )
    assert [tuple(r) for r in rows] == [("confirmed", 1)] and confirmed == 1


@pytest.mark.postgres
async def test_pg_one_citizen_50_registrations_take_one_seat(pg_wide: Database) -> None:
    await _race_one_seat([pg_wide], attempts=50)


async def test_sqlite_one_citizen_concurrent_registrations_take_one_seat(
    sqlite_clean: list[Database],
) -> None:
    await _race_one_seat(sqlite_clean, attempts=20)
