"""One seat per person per event, by the database; a cancelled seat never blocks coming back.

On SQLite and PostgreSQL. The concurrent version (50 registrations of one person at once)
is in test_concurrency.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import events
from core.db import Database
from core.models import EventRegistration, GroupEvent, RegistrationStatus
from tests.factories import NOW, add_citizen, add_event


async def _event(db: Database, seats: int) -> int:
    async with db.uow() as uow:
        event = await add_event(uow, "PE-LMA", seats=seats)
        await uow.commit()
        return event.id


async def _people(db: Database, n: int) -> list[int]:
    async with db.uow() as uow:
        ids = [(await add_citizen(uow)).id for _ in range(n)]
        await uow.commit()
    return ids


async def _register(db: Database, event_id: int, citizen_id: int) -> tuple[int, str, int]:
    async with db.uow() as uow:
        row = await events.register_for_event(uow, event_id, citizen_id, now=NOW)
        await uow.commit()
        return row.id, row.status.value, row.position


async def _cancel(db: Database, event_id: int, citizen_id: int) -> None:
    async with db.uow() as uow:
        await events.cancel_registration(uow, event_id, citizen_id, now=NOW)
        await uow.commit()


@pytest.mark.parametrize("status", list(RegistrationStatus))
async def test_the_database_refuses_a_second_row_whatever_its_status(
    db: Database, status: RegistrationStatus
) -> None:
    event_id = await _event(db, seats=3)
    [person] = await _people(db, 1)
    await _register(db, event_id, person)
    async with db.uow() as uow:
        uow.session.add(
            EventRegistration(
                event_id=event_id, citizen_id=person, status=status, position=99, created_at=NOW
            )
        )
        with pytest.raises(IntegrityError, match="event_id"):
            await uow.session.flush()


async def test_cancelled_seats_come_back_on_the_same_row(db: Database) -> None:
    event_id = await _event(db, seats=1)
    one, two = await _people(db, 2)
    seat = await _register(db, event_id, one)
    assert seat[1:] == ("confirmed", 1)
    assert (await _register(db, event_id, two))[1:] == ("waitlisted", 2)
    await _cancel(db, event_id, one)  # the waitlisted one moves up
    back = await _register(db, event_id, one)
    assert back == (seat[0], "waitlisted", 3)  # same row, end of the line
    await _cancel(db, event_id, one)  # a waitlist place given up...
    again = await _register(db, event_id, one)  # ...and taken again
    assert again == (seat[0], "waitlisted", 4)
    async with db.uow() as uow:
        rows = await uow.session.scalar(
            select(func.count())
            .select_from(EventRegistration)
            .where(EventRegistration.event_id == event_id)
        )
        event = await uow.session.get(GroupEvent, event_id)
        assert event is not None
        assert (rows, event.confirmed_count) == (2, 1)
