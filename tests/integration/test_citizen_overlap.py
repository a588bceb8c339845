"""One citizen, one appointment at a time: the core refuses, the database has the last word.

Each test runs on SQLite and PostgreSQL. The refusal carries the appointment the citizen
already holds; a reschedule is never an overlap with itself; rows written behind the core's
back are refused by the database (exclusion constraint / triggers of migration 0007); and
the migration resolves overlaps that existed before it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from core import booking, migrate
from core.db import Database
from core.errors import AlreadyBooked
from core.models import Appointment, AppointmentStatus, AuditEntry, OutboxMessage, Specialist
from tests.factories import NOW, add_citizen, add_specialist, lima

PATROCINIO = "patrocinio-judicial-gratuito"
MONDAY_4PM = lima(2026, 12, 7, 16)


async def _two_specialists(db: Database, *, stagger: bool = False) -> list[int]:
    """Two specialists of Arequipa for patrocinio; staggered: the second starts 10 min later."""
    async with db.uow() as uow:
        first = await add_specialist(uow, services=(PATROCINIO,), lunch=None)
        later = ((time(8, 40), time(17, 0)),) if stagger else ((time(8, 30), time(17, 0)),)
        second = await add_specialist(uow, services=(PATROCINIO,), hours=later, lunch=None)
        await uow.commit()
    return [first.id, second.id]


async def _citizen(db: Database) -> int:
    async with db.uow() as uow:
        citizen = await add_citizen(uow)
        await uow.commit()
    return citizen.id


async def _book(db: Database, citizen_id: int, start: datetime) -> Appointment:
    async with db.uow() as uow:
        appointment = await booking.book(
            uow,
            tenant_code="PE-ARE",
            service_code=PATROCINIO,
            citizen_id=citizen_id,
            start=start,
            now=NOW,
        )
        await uow.commit()
    return appointment


async def _tenant_of(db: Database, specialist_id: int) -> int:
    async with db.uow() as uow:
        specialist = await uow.session.get(Specialist, specialist_id)
        assert specialist is not None
        return specialist.tenant_id


async def _booked(db: Database, citizen_id: int) -> list[int]:
    """The ids of the citizen's booked appointments, soonest first."""
    async with db.uow() as uow:
        return list(
            await uow.session.scalars(
                select(Appointment.id)
                .where(
                    Appointment.citizen_id == citizen_id,
                    Appointment.status == AppointmentStatus.BOOKED,
                )
                .order_by(Appointment.start_utc)
            )
        )


async def test_the_same_time_twice_is_refused_showing_the_first(db: Database) -> None:
    await _two_specialists(db)
    citizen = await _citizen(db)
    first = await _book(db, citizen, MONDAY_4PM)
    with pytest.raises(AlreadyBooked) as refused:
        await _book(db, citizen, MONDAY_4PM)  # the other specialist is free then
    assert refused.value.reason == "already_booked"
    assert refused.value.existing == first.id
    assert refused.value.start == MONDAY_4PM
    assert refused.value.service_id == first.service_id
    assert await _booked(db, citizen) == [first.id]
    # Someone else may still take the other specialist at that time.
    other = await _book(db, await _citizen(db), MONDAY_4PM)
    assert other.specialist_id != first.specialist_id


async def test_partial_overlap_is_refused_and_back_to_back_is_not(db: Database) -> None:
    # Patrocinio lasts 45 minutes: slots at 15:15 and 16:00 (first), 16:10 (second).
    await _two_specialists(db, stagger=True)
    citizen = await _citizen(db)
    first = await _book(db, citizen, MONDAY_4PM)
    with pytest.raises(AlreadyBooked):
        await _book(db, citizen, MONDAY_4PM + timedelta(minutes=10))
    # [15:15, 16:00) and [16:00, 16:45) touch without overlapping.
    before = await _book(db, citizen, MONDAY_4PM - timedelta(minutes=45))
    assert await _booked(db, citizen) == [before.id, first.id]


async def test_moving_an_appointment_over_its_own_time_works(db: Database) -> None:
    await _two_specialists(db, stagger=True)
    citizen = await _citizen(db)
    first = await _book(db, citizen, MONDAY_4PM)
    async with db.uow() as uow:  # 16:10 overlaps 16:00, which is this same appointment
        moved = await booking.reschedule(
            uow,
            first.id,
            MONDAY_4PM + timedelta(minutes=10),
            by="citizen",
            now=NOW,
            citizen_id=citizen,
        )
        await uow.commit()
    assert await _booked(db, citizen) == [moved.id]
    assert moved.start_utc == MONDAY_4PM + timedelta(minutes=10)


async def test_moving_onto_another_of_ones_own_appointments_is_refused(db: Database) -> None:
    await _two_specialists(db)
    citizen = await _citizen(db)
    monday = await _book(db, citizen, MONDAY_4PM)
    tuesday = await _book(db, citizen, lima(2026, 12, 10, 10))
    async with db.uow() as uow:
        with pytest.raises(AlreadyBooked) as refused:
            await booking.reschedule(
                uow, tuesday.id, MONDAY_4PM, by="citizen", now=NOW, citizen_id=citizen
            )
    assert refused.value.existing == monday.id
    assert set(await _booked(db, citizen)) == {monday.id, tuesday.id}


async def test_the_database_refuses_an_overlap_written_behind_the_core(db: Database) -> None:
    """Raw rows, no booking code: the constraint (PostgreSQL) or trigger (SQLite) refuses."""
    specialists = await _two_specialists(db)
    citizen = await _citizen(db)
    tenant_id = await _tenant_of(db, specialists[0])
    async with db.uow() as uow:
        common = {
            "tenant_id": tenant_id,
            "service_id": 1,
            "citizen_id": citizen,
            "created_at": NOW,
        }
        uow.session.add(
            Appointment(
                specialist_id=specialists[0],
                start_utc=MONDAY_4PM,
                end_utc=MONDAY_4PM + timedelta(minutes=30),
                busy_until=MONDAY_4PM + timedelta(minutes=30),
                **common,
            )
        )
        await uow.session.flush()
        later = MONDAY_4PM + timedelta(minutes=29)
        uow.session.add(
            Appointment(
                specialist_id=specialists[1],
                start_utc=later,
                end_utc=later + timedelta(minutes=30),
                busy_until=later + timedelta(minutes=30),
                **common,
            )
        )
        with pytest.raises(IntegrityError, match=booking.CITIZEN_OVERLAP):
            await uow.session.flush()


async def test_a_cancelled_row_moved_back_to_booked_is_checked_too(db: Database) -> None:
    await _two_specialists(db, stagger=True)
    citizen = await _citizen(db)
    first = await _book(db, citizen, MONDAY_4PM)
    async with db.uow() as uow:
        await booking.cancel(uow, first.id, by="citizen", reason="", now=NOW)
        await uow.commit()
    # The cancelled one no longer counts: 16:10 with the other specialist overlaps it.
    second = await _book(db, citizen, MONDAY_4PM + timedelta(minutes=10))
    async with db.uow() as uow:
        row = await uow.session.get(Appointment, first.id)
        assert row is not None
        row.status = AppointmentStatus.BOOKED
        with pytest.raises(IntegrityError, match=booking.CITIZEN_OVERLAP):
            await uow.session.flush()
    assert await _booked(db, citizen) == [second.id]


def _to(revision: str, connection: Connection) -> None:
    cfg = migrate.alembic_config()
    cfg.attributes["connection"] = connection
    if revision == "head":
        command.upgrade(cfg, "head")
    else:
        command.downgrade(cfg, revision)


async def test_the_migration_cancels_later_overlaps_and_audits_them(db: Database) -> None:
    """Overlaps made before 0007: the first booked stays, later ones are cancelled, told why."""
    specialists = await _two_specialists(db)
    citizen = await _citizen(db)
    neighbour = await _citizen(db)
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: _to("0006", c))
    tenant_id = await _tenant_of(db, specialists[0])
    try:
        async with db.uow() as uow:

            def appointment(spec: int, who: int, start: datetime) -> Appointment:
                return Appointment(
                    tenant_id=tenant_id,
                    service_id=1,
                    specialist_id=spec,
                    citizen_id=who,
                    start_utc=start,
                    end_utc=start + timedelta(minutes=30),
                    busy_until=start + timedelta(minutes=30),
                    created_at=NOW,
                )

            kept = appointment(specialists[0], citizen, MONDAY_4PM)
            uow.session.add(kept)
            await uow.session.flush()
            clash = appointment(specialists[1], citizen, MONDAY_4PM + timedelta(minutes=15))
            uow.session.add(clash)
            await uow.session.flush()
            # Overlaps the clash only, which goes: it stays (a chain is not cancelled whole).
            chained = appointment(specialists[0], citizen, MONDAY_4PM + timedelta(minutes=30))
            # Another person at an overlapping time (15:45-16:15) is no overlap at all.
            other = appointment(specialists[1], neighbour, MONDAY_4PM - timedelta(minutes=15))
            uow.session.add_all([chained, other])
            await uow.session.flush()
            uow.session.add(
                OutboxMessage(
                    channel="telegram",
                    address="7001",
                    subject=f"appointment:{clash.id}",
                    kind="reminder",
                    idempotency_key=f"appointment:{clash.id}:reminder:60",
                    due_at=MONDAY_4PM - timedelta(hours=1),
                    payload={"text": "recordatorio"},
                )
            )
            await uow.commit()
            ids = {"kept": kept.id, "clash": clash.id, "chained": chained.id, "other": other.id}
    finally:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: _to("head", c))
    assert await migrate.is_current(db)
    async with db.uow() as uow:
        status = {name: (await uow.session.get(Appointment, i)) for name, i in ids.items()}
        assert {n: a.status.value for n, a in status.items() if a is not None} == {
            "kept": "booked",
            "clash": "cancelled",
            "chained": "booked",
            "other": "booked",
        }
        clash_row = status["clash"]
        assert clash_row is not None and clash_row.cancel_reason == "overlap_migration_0007"
        reminder = await uow.session.scalar(
            select(OutboxMessage.status).where(
                OutboxMessage.subject == f"appointment:{ids['clash']}"
            )
        )
        assert reminder == "withdrawn"
        audit = list(
            await uow.session.scalars(
                select(AuditEntry).where(AuditEntry.actor == "system:migration-0007")
            )
        )
        assert [(a.action, a.entity_id) for a in audit] == [
            ("appointment.cancel", str(ids["clash"]))
        ]
