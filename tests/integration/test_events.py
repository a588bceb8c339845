"""Training events: seats, ordered waitlist, promotion, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from core import events
from core.db import Database
from core.errors import EventClosed, NotActive
from core.models import RegistrationStatus
from tests.factories import NOW, add_citizen, add_event, lima


async def _event(db: Database, seats: int) -> int:
    async with db.uow() as uow:
        event = await add_event(uow, "PE-LMA", seats=seats)
        await uow.commit()
        return event.id


async def test_seats_then_waitlist_then_promotion(db: Database) -> None:
    event_id = await _event(db, seats=2)
    async with db.uow() as uow:
        people = [await add_citizen(uow) for _ in range(4)]
        await uow.commit()
    statuses = []
    for person in people:
        async with db.uow() as uow:
            reg = await events.register_for_event(uow, event_id, person.id, now=NOW)
            await uow.commit()
            statuses.append((reg.status, reg.position))
    assert statuses == [
        (RegistrationStatus.CONFIRMED, 1),
        (RegistrationStatus.CONFIRMED, 2),
        (RegistrationStatus.WAITLISTED, 3),
        (RegistrationStatus.WAITLISTED, 4),
    ]
    async with db.uow() as uow:  # registering again changes nothing
        again = await events.register_for_event(uow, event_id, people[0].id, now=NOW)
        assert (again.status, again.position) == (RegistrationStatus.CONFIRMED, 1)
    async with db.uow() as uow:
        result = await events.cancel_registration(uow, event_id, people[1].id, now=NOW)
        await uow.commit()
    assert result.promoted is not None and result.promoted.citizen_id == people[2].id
    async with db.uow() as uow:
        counts = await events.attendees(uow, event_id)
    assert counts == {
        RegistrationStatus.CONFIRMED: 2,
        RegistrationStatus.WAITLISTED: 1,
        RegistrationStatus.CANCELLED: 1,
    }
    async with db.uow() as uow:  # cancelling a waitlist place promotes nobody
        result = await events.cancel_registration(uow, event_id, people[3].id, now=NOW)
        await uow.commit()
    assert result.promoted is None
    async with db.uow() as uow:
        with pytest.raises(NotActive):
            await events.cancel_registration(uow, event_id, people[3].id, now=NOW)
    async with db.uow() as uow:  # back again: a new place at the end of the line
        back = await events.register_for_event(uow, event_id, people[1].id, now=NOW)
        await uow.commit()
    assert (back.status, back.position) == (RegistrationStatus.WAITLISTED, 5)


async def test_started_event_is_closed(db: Database) -> None:
    event_id = await _event(db, seats=5)
    async with db.uow() as uow:
        person = await add_citizen(uow)
        await uow.commit()
    async with db.uow() as uow:
        with pytest.raises(EventClosed):
            await events.register_for_event(uow, event_id, person.id, now=lima(2026, 12, 10, 10))
    async with db.uow() as uow:
        upcoming = await events.upcoming_events(uow, "PE-LMA", now=NOW)
        assert [e.id for e in upcoming] == [event_id]
        assert await events.upcoming_events(uow, "PE-CUS", now=NOW) == []
