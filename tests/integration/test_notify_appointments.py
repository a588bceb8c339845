"""Notices of a booking and of a cancellation (bot/outbox/notify/appointments.py).

The card, the calendar file, the reminders and the survey; what is withdrawn on a cancel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from icalendar import Calendar

from bot.channels.telegram import TelegramChannel
from bot.outbox import notify
from bot.outbox.worker import OutboxWorker
from core import booking, reassign
from core.db import Database
from core.models import (
    Specialist,
)
from tests.factories import NOW, add_citizen, add_specialist, lima, offer
from tests.fakes.telegram_api import FakeTelegram
from tests.integration.notify_support import (
    CHAT,
    SERVICE,
    TOKEN,
    Clock,
    book,
    by_key,
    drain,
    person,
    rows,
    stored,
)

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


# ---- booking ----------------------------------------------------------------------------


async def test_a_booking_writes_card_calendar_reminders_and_survey(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    start = lima(2026, 12, 2, 10)
    appointment = await book(db, citizen.id, start)
    subject = f"appointment:{appointment.id}"
    link = (await stored(db, appointment.id)).session_link
    assert link is not None and link.startswith("https://meet.jit.si/psv-")

    found = by_key(await rows(db))
    assert set(found) == {
        f"{subject}:card:{spec.id}",
        f"{subject}:confirmation",
        f"{subject}:reminder:1440",
        f"{subject}:reminder:60",
        f"{subject}:survey",
    }
    assert all(
        r.subject == subject and r.tenant_id == appointment.tenant_id for r in found.values()
    )
    assert all(r.status == "pending" and r.template for r in found.values())

    card = found[f"{subject}:card:{spec.id}"]
    assert (card.channel, card.address, card.kind) == ("telegram", spec.contact_address, "card")
    text = card.payload["text"]
    assert "Lucía" in text and "Quispe" not in text
    assert "****" + str(citizen.document_number)[-4:] in text
    assert str(citizen.document_number) not in text
    assert "+51912345678" not in text  # no consent to share the phone
    assert "Me despidieron sin pagarme la CTS." in text
    assert link in text
    assert [p for p, _ in card.payload["options"]] == [
        f"sp:ack:{appointment.id}",
        f"sp:attended:{appointment.id}",
        f"sp:no_show:{appointment.id}",
        f"sp:reschedule:{appointment.id}",
        f"sp:reassign:{appointment.id}",
    ]

    confirmation = found[f"{subject}:confirmation"]
    assert (confirmation.channel, confirmation.address) == ("telegram", CHAT)
    assert confirmation.due_at == NOW + notify.FOLLOW_UP_DELAY
    assert link in confirmation.payload["text"]
    filename, mime, content = confirmation.payload["attachment"]
    assert filename.endswith(".ics") and mime == "text/calendar"
    [event] = Calendar.from_ical(content).walk("VEVENT")
    assert event.decoded("DTSTART") == start
    assert link in str(event["DESCRIPTION"])

    reminder = found[f"{subject}:reminder:60"]
    assert reminder.kind == "reminder" and reminder.due_at == lima(2026, 12, 2, 9)
    assert link in reminder.payload["text"]
    assert found[f"{subject}:reminder:1440"].due_at == lima(2026, 12, 1, 10)

    survey = found[f"{subject}:survey"]
    assert survey.kind == "survey"
    assert survey.due_at == appointment.end_utc + timedelta(minutes=15)
    assert [p for p, _ in survey.payload["options"]] == [
        f"survey:{appointment.id}:{n}" for n in range(1, 6)
    ]


async def test_the_card_shows_the_phone_only_with_consent(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await uow.commit()
    citizen = await person(db, share_phone=True)
    appointment = await book(db, citizen.id, lima(2026, 12, 2, 10), description=None)
    [card] = await rows(db, kind="card")
    assert "+51912345678" in card.payload["text"]
    assert "sin descripción" in card.payload["text"]
    assert card.subject == f"appointment:{appointment.id}"


async def test_the_citizen_is_written_to_in_their_language(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await uow.commit()
    citizen = await person(db, lang="en")
    await book(db, citizen.id, lima(2026, 12, 2, 10))
    [reminder, _] = await rows(db, kind="reminder")
    assert reminder.payload["text"].startswith("⏰ Reminder")
    [card] = await rows(db, kind="card")
    assert card.payload["text"].startswith("🆕 Nuevo caso")  # specialists read Spanish


@pytest.mark.parametrize(
    ("now", "start", "minutes", "expected"),
    [
        # 09:00 on the first of the month: the day before is the last of November.
        (
            lima(2026, 11, 27, 12),
            lima(2026, 12, 1, 9),
            [1440, 60],
            [lima(2026, 11, 30, 9), lima(2026, 12, 1, 8)],
        ),
        # 08:30 local is 13:30 UTC; ten hours before is 22:30 the evening before (03:30 UTC,
        # already the first of December in UTC while still 30 November in Lima).
        (
            lima(2026, 11, 27, 12),
            lima(2026, 12, 1, 8, 30),
            [1440, 600, 60],
            [lima(2026, 11, 30, 8, 30), lima(2026, 11, 30, 22, 30), lima(2026, 12, 1, 7, 30)],
        ),
        # Monday 4 January 2027 (1 January is a holiday): three days before crosses the year.
        (
            lima(2026, 12, 28, 9),
            lima(2027, 1, 4, 8, 30),
            [4320, 1440],
            [lima(2027, 1, 1, 8, 30), lima(2027, 1, 3, 8, 30)],
        ),
    ],
)
async def test_reminders_fall_at_the_right_local_times(
    db: Database,
    now: datetime,
    start: datetime,
    minutes: list[int],
    expected: list[datetime],
) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await offer(uow, "PE-ARE", SERVICE, reminder_minutes=minutes)
        await uow.commit()
    citizen = await person(db)
    await book(db, citizen.id, start, now=now)
    reminders = sorted(r.due_at for r in await rows(db, kind="reminder"))
    assert reminders == expected
    assert reminders[0].tzinfo is not None


async def test_reminders_already_in_the_past_are_skipped(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    appointment = await book(db, citizen.id, NOW + timedelta(hours=3))
    assert [r.idempotency_key for r in await rows(db, kind="reminder")] == [
        f"appointment:{appointment.id}:reminder:60"
    ]


async def test_notifying_twice_writes_no_duplicates(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    appointment = await book(db, citizen.id, lima(2026, 12, 2, 10))
    before = await rows(db)
    async with db.uow() as uow:
        await notify.appointment_booked(uow, appointment.id, now=NOW + timedelta(minutes=1))
        await notify.appointment_booked(uow, appointment.id, now=NOW + timedelta(minutes=2))
        await uow.commit()
    after = await rows(db)
    assert [r.id for r in after] == [r.id for r in before]
    assert len(after) == 5
    links = {
        r.payload["text"].split("enlace: ")[1].split("\n")[0] for r in after if r.kind != "survey"
    }
    assert links == {(await stored(db, appointment.id)).session_link}  # one link, never a new one


async def test_a_citizen_without_a_channel_gets_no_rows_but_the_specialist_does(
    db: Database,
) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        citizen = await add_citizen(uow)
        await uow.commit()
    await book(db, citizen.id, lima(2026, 12, 2, 10))
    assert [r.kind for r in await rows(db)] == ["card"]


# ---- cancellation ---------------------------------------------------------------------


async def test_a_cancelled_appointments_reminders_never_go_out(
    db: Database, fake: FakeTelegram
) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    start = lima(2026, 12, 2, 10)
    appointment = await book(db, citizen.id, start)
    clock = Clock(NOW + timedelta(seconds=10))
    channel = TelegramChannel(TOKEN, fake.url, timeout=10)
    worker = OutboxWorker(db, {"telegram": channel}, {}, clock=clock)
    try:
        assert await drain(worker) == 2  # the card and the confirmation with its file
        async with db.uow() as uow:
            await booking.cancel(
                uow, appointment.id, by="citizen", reason="", now=clock.now, citizen_id=citizen.id
            )
            await notify.appointment_cancelled(uow, appointment.id, by="citizen", now=clock.now)
            await uow.commit()
        clock.now = start + timedelta(days=1)  # every reminder and the survey are long due
        assert await drain(worker) == 1  # only the notice to the specialist
    finally:
        await channel.close()
    to_citizen = [c for c in fake.calls if str(c[1].get("chat_id")) == CHAT]
    assert [method for method, _ in to_citizen] == ["sendMessage", "sendDocument"]
    to_specialist = [
        str(c["text"])
        for c in fake.calls_to("sendMessage")
        if str(c["chat_id"]) == spec.contact_address
    ]
    assert len(to_specialist) == 2
    assert to_specialist[0].startswith("🆕 Nuevo caso")
    assert "canceló" in to_specialist[1] and "Lucía" in to_specialist[1]
    assert not any("Recordatorio" in str(c.get("text", "")) for _, c in fake.calls)
    statuses = {r.kind: r.status for r in await rows(db, address=CHAT)}
    assert statuses == {"notification": "sent", "reminder": "withdrawn", "survey": "withdrawn"}


async def test_cancelled_by_the_institution_the_citizen_gets_new_times(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    appointment = await book(db, citizen.id, lima(2026, 12, 2, 10))
    later = NOW + timedelta(minutes=5)
    async with db.uow() as uow:
        await booking.cancel(uow, appointment.id, by="admin:ana", reason="x", now=later)
        await notify.appointment_cancelled(uow, appointment.id, by="admin", now=later)
        await notify.appointment_cancelled(uow, appointment.id, by="admin", now=later)
        await uow.commit()
    found = by_key(await rows(db))
    subject = f"appointment:{appointment.id}"
    notice = found[f"{subject}:cancelled:citizen"]
    assert notice.status == "pending" and notice.template == notify.T_CANCELLED
    options = notice.payload["options"]
    assert options[-1][0] == "menu:book"
    times = [p for p, _ in options[:-1]]
    assert len(times) == 3
    for payload in times:
        prefix, aid, iso = payload.split(":", 2)
        assert (prefix, aid) == ("rebook", str(appointment.id))
        assert datetime.fromisoformat(iso) > later
        assert len(payload.encode()) <= 64  # Telegram's callback_data limit
    # The earliest free time: 11:30 today (two hours' notice from 09:05, half-hour grid).
    assert datetime.fromisoformat(times[0].split(":", 2)[2]) == lima(2026, 12, 1, 11, 30)
    assert found[f"{subject}:cancelled:specialist"].address == spec.contact_address
    withdrawn = {k for k, r in found.items() if r.status == "withdrawn"}
    assert withdrawn == {
        f"{subject}:card:{spec.id}",
        f"{subject}:confirmation",
        f"{subject}:reminder:1440",
        f"{subject}:reminder:60",
        f"{subject}:survey",
    }


async def test_rebook_takes_an_offered_time(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    appointment = await book(db, citizen.id, lima(2026, 12, 2, 10))
    async with db.uow() as uow:
        await booking.cancel(uow, appointment.id, by="specialist", reason="", now=NOW)
        again = await reassign.rebook(
            uow,
            appointment.id,
            lima(2026, 12, 3, 11),
            now=NOW,
            channel="telegram",
            citizen_id=citizen.id,
        )
        await uow.commit()
    assert again.id != appointment.id
    assert again.case_description == "Me despidieron sin pagarme la CTS."
    assert again.start_utc == lima(2026, 12, 3, 11)


async def test_inactive_specialists_get_no_card(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    appointment = await book(db, citizen.id, lima(2026, 12, 2, 10))
    async with db.uow() as uow:
        row = await uow.session.get(Specialist, spec.id)
        assert row is not None
        row.active = False
        await notify.appointment_cancelled(uow, appointment.id, by="citizen", now=NOW)
        await uow.commit()
    assert [r.idempotency_key for r in await rows(db, status="pending")] == []
