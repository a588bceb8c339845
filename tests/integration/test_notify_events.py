"""Notices of training events (bot/outbox/notify/events.py).

A seat's link and reminders, a promotion from the waitlist, a cancelled event.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.outbox import notify
from core import events
from core.db import Database
from core.meetings import JitsiProvider
from tests.factories import NOW, lima
from tests.integration.notify_support import person, rows

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_event_participants_get_the_link_the_day_before_and_an_hour_before(
    db: Database,
) -> None:
    start = lima(2026, 12, 10, 15)
    async with db.uow() as uow:
        event = await events.create_event(
            uow,
            tenant_code="PE-ARE",
            service_code="capacitacion-laboral",
            title="Derechos laborales",
            start=start,
            duration_minutes=90,
            seats=1,
            by="admin",
        )
        await uow.commit()
    one = await person(db, address="7001")
    two = await person(db, address="7002")
    async with db.uow() as uow:
        first = await events.register_for_event(uow, event.id, one.id, now=NOW, channel="telegram")
        await notify.registration_confirmed(uow, first.id, now=NOW)
        second = await events.register_for_event(uow, event.id, two.id, now=NOW, channel="telegram")
        await notify.registration_confirmed(uow, second.id, now=NOW)  # waitlisted: nothing
        await uow.commit()
    reminders = await rows(db, kind="reminder")
    assert sorted(r.due_at for r in reminders) == [lima(2026, 12, 9, 15), lima(2026, 12, 10, 14)]
    assert {r.address for r in reminders} == {"7001"}
    async with db.uow() as uow:
        link = (await uow.session.get(type(event), event.id)).session_link  # type: ignore[union-attr]
    assert link and all(link in r.payload["text"] for r in reminders)
    [calendar] = [r for r in await rows(db, kind="notification") if r.address == "7001"]
    filename, mime, content = calendar.payload["attachment"]
    assert (filename, mime) == (f"evento-{event.id}.ics", "text/calendar")
    assert "BEGIN:VALARM" in content and "Derechos laborales" in content
    assert calendar.due_at > NOW  # after the flow's own confirmation
    later = NOW + timedelta(hours=1)
    async with db.uow() as uow:
        given_up = await events.cancel_registration(uow, event.id, one.id, now=later)
        await notify.registration_cancelled(uow, given_up.cancelled.id, now=later)
        assert given_up.promoted is not None
        await notify.registration_confirmed(uow, given_up.promoted.id, now=later, promoted=True)
        await uow.commit()
    after = await rows(db)
    assert {r.status for r in after if r.address == "7001"} == {"withdrawn"}
    promoted = [r for r in after if r.address == "7002"]
    # told of the promotion, the calendar file, two reminders
    assert sorted(r.kind for r in promoted) == [
        "notification",
        "notification",
        "reminder",
        "reminder",
    ]
    async with db.uow() as uow:
        told = await notify.event_cancelled(uow, event.id, now=later)
        await uow.commit()
    assert told == 1
    final = await rows(db, address="7002")
    assert {r.kind: r.status for r in final if r.kind == "reminder"} == {"reminder": "withdrawn"}
    assert any("fue cancelada" in r.payload["text"] and r.status == "pending" for r in final)


async def test_a_video_event_gets_its_own_link_when_created(db: Database) -> None:
    provider = JitsiProvider("https://meet.example.org")
    async with db.uow() as uow:
        video = [
            await events.create_event(
                uow,
                tenant_code="PE-ARE",
                service_code="capacitacion-laboral",
                title=f"Taller {n}",
                start=lima(2026, 12, 10, 15),
                duration_minutes=90,
                seats=50,
                by="admin",
                meeting_provider=provider,
            )
            for n in range(2)
        ]
        fair = await events.create_event(
            uow,
            tenant_code="PE-ARE",
            service_code="ferias-de-empleo",
            title="Feria",
            start=lima(2026, 12, 11, 9),
            duration_minutes=240,
            seats=500,
            by="admin",
            meeting_provider=provider,
        )
        await uow.commit()
    links = [e.session_link for e in video]
    assert all(link and link.startswith("https://meet.example.org/psv-") for link in links)
    assert links[0] != links[1]
    assert fair.session_link is None  # in person: no link
