"""Notices of moves, outcomes, reassignments and days off (bot/outbox/notify/appointments.py)."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from bot.outbox import notify
from core import booking, reassign
from core.db import Database
from core.models import (
    Appointment,
    AppointmentStatus,
)
from tests.factories import NOW, add_closure, add_specialist, lima
from tests.integration.notify_support import book, by_key, person, rows, stored

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_a_moved_appointment_withdraws_the_old_and_schedules_the_new(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    old = await book(db, citizen.id, lima(2026, 12, 2, 10))
    later = NOW + timedelta(minutes=1)
    async with db.uow() as uow:
        new = await booking.reschedule(
            uow, old.id, lima(2026, 12, 4, 15), by="citizen", now=later, channel="telegram"
        )
        await notify.appointment_moved(uow, old.id, new.id, by="citizen", now=later)
        await uow.commit()
    found = by_key(await rows(db))
    old_subject, new_subject = f"appointment:{old.id}", f"appointment:{new.id}"
    assert {k for k, r in found.items() if r.subject == old_subject and r.status == "pending"} == {
        f"{old_subject}:moved:specialist"
    }
    assert found[f"{old_subject}:reminder:60"].status == "withdrawn"
    assert found[f"{new_subject}:reminder:60"].due_at == lima(2026, 12, 4, 14)
    assert found[f"{new_subject}:reminder:1440"].due_at == lima(2026, 12, 3, 15)
    assert found[f"{new_subject}:card:{spec.id}"].status == "pending"
    assert found[f"{new_subject}:confirmation"].status == "pending"
    new_link = (await stored(db, new.id)).session_link
    assert new_link and new_link != (await stored(db, old.id)).session_link
    assert new_link in found[f"{new_subject}:reminder:60"].payload["text"]
    moved_text = found[f"{old_subject}:moved:specialist"].payload["text"]
    assert "reprogramó" in moved_text


async def test_outcomes_tell_the_citizen_and_keep_the_survey_only_if_attended(
    db: Database,
) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await uow.commit()
    one = await person(db, address="7001")
    two = await person(db, address="7002", name="Rosa Mamani")
    first = await book(db, one.id, lima(2026, 12, 2, 10))
    second = await book(db, two.id, lima(2026, 12, 2, 11))
    async with db.uow() as uow:
        await notify.outcome_recorded(uow, first.id, "attended", now=lima(2026, 12, 2, 10, 40))
        await notify.outcome_recorded(uow, second.id, "no_show", now=lima(2026, 12, 2, 11, 40))
        await uow.commit()
    found = by_key(await rows(db))
    assert found[f"appointment:{first.id}:survey"].status == "pending"
    assert found[f"appointment:{second.id}:survey"].status == "withdrawn"
    assert (
        "Gracias por asistir" in found[f"appointment:{first.id}:outcome:attended"].payload["text"]
    )
    no_show = found[f"appointment:{second.id}:outcome:no_show"]
    assert no_show.address == "7002"
    assert no_show.payload["options"][0][0] == "menu:book"


async def test_reassign_moves_to_a_free_colleague_and_tells_everyone(db: Database) -> None:
    async with db.uow() as uow:
        first = await add_specialist(uow)
        colleague = await add_specialist(uow, name="Carmen Rojas")
        await uow.commit()
    citizen = await person(db)
    appointment = await book(db, citizen.id, lima(2026, 12, 2, 10))
    assert appointment.specialist_id == first.id
    async with db.uow() as uow:
        moved = await reassign.reassign(uow, appointment.id, now=NOW, by="specialist")
        assert moved is not None and moved.specialist_id == colleague.id
        await notify.specialist_changed(uow, appointment.id, first.id, now=NOW)
        await uow.commit()
    found = by_key(await rows(db))
    subject = f"appointment:{appointment.id}"
    # The first card had not gone out yet: withdrawn; the colleague gets a reassigned card.
    assert found[f"{subject}:card:{first.id}"].status == "withdrawn"
    card = found[f"{subject}:card:{colleague.id}"]
    assert card.address == colleague.contact_address
    assert card.payload["text"].startswith("🔀")
    pair = f"{first.id}:{colleague.id}"
    assert "Carmen Rojas" in found[f"{subject}:reassigned:{pair}:from"].payload["text"]
    assert found[f"{subject}:reassigned:{pair}:from"].address == first.contact_address
    assert "Carmen" in found[f"{subject}:reassigned:{pair}:citizen"].payload["text"]
    assert found[f"{subject}:reminder:60"].status == "pending"  # same time, same link


async def test_reassign_finds_nobody_when_colleagues_are_busy(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await add_specialist(uow)
        await uow.commit()
    one = await person(db, address="7001")
    two = await person(db, address="7002")
    first = await book(db, one.id, lima(2026, 12, 2, 10))
    second = await book(db, two.id, lima(2026, 12, 2, 10))
    assert first.specialist_id != second.specialist_id
    async with db.uow() as uow:
        assert await reassign.reassign(uow, first.id, now=NOW, by="specialist") is None
        await uow.commit()
    assert (await stored(db, first.id)).specialist_id == first.specialist_id


async def test_a_day_off_moves_to_colleagues_or_cancels_with_new_times(db: Database) -> None:
    async with db.uow() as uow:
        off = await add_specialist(uow)
        colleague = await add_specialist(uow)
        await uow.commit()
    people = [await person(db, address=str(7100 + i)) for i in range(3)]
    # 10:00 with each specialist, then 11:00 with the first only.
    at_ten = [await book(db, people[i].id, lima(2026, 12, 2, 10)) for i in range(2)]
    at_eleven = await book(db, people[2].id, lima(2026, 12, 2, 11))
    # Equal load breaks ties by id: the first 10:00 and the 11:00 went to `off`.
    mine = [a for a in [*at_ten, at_eleven] if a.specialist_id == off.id]
    assert [a.id for a in mine] == [at_ten[0].id, at_eleven.id]
    async with db.uow() as uow:
        await add_closure(uow, "day_off", date(2026, 12, 2), specialist=off)
        counts = await notify.after_day_off(
            uow,
            specialist_id=off.id,
            starts_on=date(2026, 12, 2),
            ends_on=date(2026, 12, 2),
            actor="admin:ana",
            now=NOW,
        )
        await uow.commit()
    assert counts == {"moved": 1, "cancelled": 1}
    after = {a.id: await stored(db, a.id) for a in mine}
    statuses = sorted((a.status.value, a.specialist_id) for a in after.values())
    assert statuses == [("booked", colleague.id), ("cancelled", off.id)]
    cancelled = next(a for a in after.values() if a.status == AppointmentStatus.CANCELLED)
    notice = by_key(await rows(db))[f"appointment:{cancelled.id}:cancelled:citizen"]
    assert [p for p, _ in notice.payload["options"]][-1] == "menu:book"
    assert any(p.startswith("rebook:") for p, _ in notice.payload["options"])
    async with db.uow() as uow:
        booked = await uow.session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.specialist_id == colleague.id,
                Appointment.status == AppointmentStatus.BOOKED,
            )
        )
    assert booked == 2


async def test_reassign_finds_a_colleague_whose_slots_start_at_other_times(db: Database) -> None:
    """A colleague working from 08:45 (slots 08:45, 09:15...) is free for a 10:00 case."""
    async with db.uow() as uow:
        first = await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    appointment = await book(db, citizen.id, lima(2026, 12, 2, 10))
    assert appointment.specialist_id == first.id
    async with db.uow() as uow:
        offset = await add_specialist(uow, hours=((time(8, 45), time(17, 0)),), lunch=None)
        busy = await add_specialist(uow, hours=((time(8, 45), time(17, 0)),), lunch=None)
        await add_closure(uow, "day_off", date(2026, 12, 2), specialist=busy)
        await uow.commit()
    async with db.uow() as uow:
        moved = await reassign.reassign(uow, appointment.id, now=NOW, by="specialist")
        assert moved is not None and moved.specialist_id == offset.id
        await uow.commit()
