"""Notifications, reminders, case cards and surveys on both databases, with a controlled clock.

Appointments are booked through the core; notify writes outbox rows in the same unit of
work. Where it matters that nothing goes out, the real OutboxWorker sends through the real
TelegramChannel (or WhatsAppChannel) to the fake platform servers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import func, select, text

from bot import notify
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel
from bot.conversation import relay
from bot.messages import Outbound
from bot.worker import OutboxWorker
from core import booking, catalog, citizens, events, reassign
from core.db import Database
from core.meetings import JitsiProvider
from core.models import (
    Appointment,
    AppointmentStatus,
    Citizen,
    Conversation,
    HandoffRequest,
    OutboxMessage,
    Specialist,
)
from core.uow import UnitOfWork
from tests.conftest import reset
from tests.factories import NOW, add_citizen, add_closure, add_specialist, lima, offer
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

SERVICE = "consultas-laborales"
CHAT = "7001"
TOKEN = "123:abc"

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# ---- helpers ----------------------------------------------------------------------------


async def person(
    db: Database,
    *,
    channel: str = "telegram",
    address: str = CHAT,
    lang: str = "es",
    share_phone: bool = False,
    name: str = "Lucía Quispe",
) -> Citizen:
    """A citizen reachable on a channel."""
    async with db.uow() as uow:
        citizen = await add_citizen(uow, name)
        citizen.preferred_language = lang
        citizen.phone = "+51912345678"
        citizen.share_phone = share_phone
        await citizens.link_channel(uow, citizen, channel, address)
        await uow.commit()
    return citizen


async def book(
    db: Database,
    citizen_id: int,
    start: datetime,
    *,
    now: datetime = NOW,
    channel: str = "telegram",
    description: str | None = "Me despidieron sin pagarme la CTS.",
) -> Appointment:
    """Book and notify in one unit of work, as the book action does."""
    async with db.uow() as uow:
        appointment = await booking.book(
            uow,
            tenant_code="PE-ARE",
            service_code=SERVICE,
            citizen_id=citizen_id,
            start=start,
            now=now,
            channel=channel,
            case_description=description,
        )
        await notify.appointment_booked(uow, appointment.id, now=now)
        await uow.commit()
    return appointment


async def rows(db: Database, **where: Any) -> list[OutboxMessage]:
    """Outbox rows (filtered by column values), in id order, detached."""
    async with db.uow() as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        found = list(await uow.session.scalars(query))
        uow.session.expunge_all()
    return found


def by_key(found: Sequence[OutboxMessage]) -> dict[str, OutboxMessage]:
    return {str(r.idempotency_key): r for r in found}


async def stored(db: Database, appointment_id: int) -> Appointment:
    async with db.uow() as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        assert appointment is not None
        uow.session.expunge_all()
    return appointment


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def drain(worker: OutboxWorker) -> int:
    total = 0
    for _ in range(50):
        done = await worker.run_once()
        if done == 0:
            return total
        total += done
    raise AssertionError("the outbox never ran dry")


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


# ---- moves, outcomes, reassignment ------------------------------------------------------


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


# ---- agenda -------------------------------------------------------------------------------


async def test_the_agenda_lists_the_day_in_order_with_links(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        await uow.commit()
    one = await person(db, address="7001", name="Rosa Mamani")
    two = await person(db, address="7002", name="Lucía Quispe")
    late = await book(db, one.id, lima(2026, 12, 2, 15))
    early = await book(db, two.id, lima(2026, 12, 2, 9))
    async with db.uow() as uow:
        agenda = await notify.agenda_text(uow, spec.id, date(2026, 12, 2), now=NOW)
        empty = await notify.agenda_text(uow, spec.id, date(2026, 12, 3), now=NOW)
    lines = agenda.text.splitlines()
    assert "miércoles 2 de diciembre" in lines[0] and "(2)" in lines[0]
    assert "Lucía" in lines[1] and "9:00" in lines[1]
    assert lines[2] == (await stored(db, early.id)).session_link
    assert "Rosa" in lines[3] and "3:00" in lines[3]
    assert lines[4] == (await stored(db, late.id)).session_link
    assert isinstance(empty, Outbound) and "No tiene citas" in empty.text


# ---- WhatsApp's window ------------------------------------------------------------------


async def test_a_whatsapp_reminder_outside_the_window_goes_as_its_template(db: Database) -> None:
    number = "whatsapp:+51986432175"
    async with db.uow() as uow:
        await add_specialist(uow)
        await uow.commit()
    citizen = await person(db, channel="whatsapp", address=number)
    start = lima(2026, 12, 2, 10)
    await book(db, citizen.id, start, channel="whatsapp")
    async with db.uow() as uow:  # the citizen last wrote when booking
        uow.session.add(
            Conversation(
                channel="whatsapp",
                user_ref=number,
                last_inbound_at=NOW,
                answers={},
                memory={},
                state={},
            )
        )
        await uow.commit()
    templates = {notify.T_REMINDER: "HX" + "1" * 32, notify.T_CONFIRMED: "HX" + "2" * 32}
    clock = Clock(start - timedelta(hours=1))  # the 1-hour reminder; the window closed long ago
    async with FakeTwilio() as twilio:
        channel = WhatsAppChannel(
            twilio.account_sid,
            twilio.auth_token,
            "whatsapp:+51947100200",
            twilio.url,
            templates=templates,
            clock=clock,
            timeout=5,
        )
        worker = OutboxWorker(db, {"whatsapp": channel}, {}, clock=clock)
        try:
            await drain(worker)
        finally:
            await channel.close()
        calls = list(twilio.calls)
    by_sid = [c.get("ContentSid") for c in calls]
    assert by_sid.count(templates[notify.T_REMINDER]) == 2  # the 24-hour and the 1-hour one
    assert by_sid.count(templates[notify.T_CONFIRMED]) == 1
    assert not any("Body" in c for c in calls)
    variables = json.loads(calls[-1]["ContentVariables"])
    assert set(variables) == {"1", "2", "3"}
    assert "meet.jit.si/psv-" in variables["3"]
    reminders = await rows(db, kind="reminder")
    assert {r.template for r in reminders} == {notify.T_REMINDER}
    assert {r.status for r in reminders} == {"sent"}
    # The survey is not due yet: still waiting.
    [survey] = await rows(db, kind="survey")
    assert survey.status == "pending"


# ---- training events ------------------------------------------------------------------


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


# ---- talk to a person: one specialist, two tickets at once -------------------------------


@pytest.mark.postgres
async def test_two_tickets_at_once_never_take_the_same_specialist(
    postgresql_db: Database,
) -> None:
    """The second turn picks the one free specialist too, then waits on their row lock.

    When the first commits, the second must see that they now relay a ticket and leave
    its own ticket in the queue: one person, one conversation.
    """
    db = postgresql_db
    await reset(db)
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        tenant = await catalog.get_tenant(uow, "PE-ARE")
        talks = []
        for n in range(2):
            talk = Conversation(
                channel="telegram", user_ref=f"71{n}", answers={}, memory={}, state={}
            )
            uow.session.add(talk)
            talks.append(talk)
        await uow.session.flush()
        talk_ids = [t.id for t in talks]
        await uow.commit()

    async def open_for(uow: UnitOfWork, conversation_id: int) -> relay.Opened:
        return await relay.open_ticket(
            uow,
            conversation_id=conversation_id,
            tenant_id=tenant.id,
            service_id=None,
            citizen_id=None,
            note=None,
            now=NOW,
        )

    async def second() -> relay.Opened:
        async with db.uow() as uow:
            opened = await open_for(uow, talk_ids[1])
            await uow.commit()
            return opened

    async def lock_waiters() -> int:
        async with db.uow() as uow:
            found = await uow.session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        return int(found or 0)

    async with db.uow() as first_uow:
        first = await open_for(first_uow, talk_ids[0])
        assert first.specialist is not None and first.specialist.id == spec.id
        waiting = asyncio.create_task(second())
        for _ in range(500):  # until the second turn waits on the specialist's row
            if await lock_waiters() or waiting.done():
                break
            await asyncio.sleep(0.01)
        assert not waiting.done(), "the second turn should wait for the first one's lock"
        await first_uow.commit()
    later = await waiting
    assert later.specialist is None
    async with db.uow() as uow:
        tickets = list(
            await uow.session.execute(
                select(HandoffRequest.status, HandoffRequest.specialist_id).order_by(
                    HandoffRequest.id
                )
            )
        )
    assert [tuple(t) for t in tickets] == [("assigned", spec.id), ("open", None)]


# ---- reminders go out when due, once, across a restart ------------------------------------


async def test_reminders_go_out_at_their_local_time_once_across_a_restart(
    db: Database, fake: FakeTelegram
) -> None:
    """Tuesday 1 December 09:00: the day-before reminder falls on 30 November (month end).

    Two workers one after the other stand for a restart; the booking's notices are written
    again in between, as a retried turn would. Each reminder leaves once, at its time.
    """
    async with db.uow() as uow:
        await add_specialist(uow)
        await uow.commit()
    citizen = await person(db)
    booked_at = lima(2026, 11, 27, 12)
    start = lima(2026, 12, 1, 9)
    appointment = await book(db, citizen.id, start, now=booked_at)
    clock = Clock(booked_at + timedelta(seconds=10))

    def reminders_sent() -> list[str]:
        return [
            str(c["text"])
            for c in fake.calls_to("sendMessage")
            if str(c["chat_id"]) == CHAT and "Recordatorio" in str(c["text"])
        ]

    first = TelegramChannel(TOKEN, fake.url, timeout=10)
    try:
        worker = OutboxWorker(db, {"telegram": first}, {}, clock=clock)
        await drain(worker)
        clock.now = lima(2026, 11, 30, 9) - timedelta(seconds=1)  # across the month's end
        await drain(worker)
        assert reminders_sent() == []
        clock.now = lima(2026, 11, 30, 9)
        await drain(worker)
        assert len(reminders_sent()) == 1
    finally:
        await first.close()

    async with db.uow() as uow:  # the same notices again: nothing new
        await notify.appointment_booked(uow, appointment.id, now=clock.now)
        await uow.commit()
    second = TelegramChannel(TOKEN, fake.url, timeout=10)
    try:
        worker = OutboxWorker(db, {"telegram": second}, {}, clock=clock)
        assert await drain(worker) == 0  # nothing lost, nothing resent after the restart
        clock.now = lima(2026, 12, 1, 8) - timedelta(seconds=1)
        await drain(worker)
        assert len(reminders_sent()) == 1
        clock.now = lima(2026, 12, 1, 8)  # 13:00 UTC: the hour-before reminder
        await drain(worker)
        clock.now = start + timedelta(days=1)
        await drain(worker)
    finally:
        await second.close()
    sent = reminders_sent()
    link = (await stored(db, appointment.id)).session_link
    assert len(sent) == 2 and link and all(link in text for text in sent)
    found = by_key(await rows(db))
    subject = f"appointment:{appointment.id}"
    for minutes in (1440, 60):
        assert found[f"{subject}:reminder:{minutes}"].status == "sent"
    assert found[f"{subject}:survey"].status == "sent"


async def test_templates_are_named_in_the_citizens_language(db: Database) -> None:
    async with db.uow() as uow:
        await add_specialist(uow)
        await uow.commit()
    english = await person(db, address="7101", lang="en")
    spanish = await person(db, address="7102")
    await book(db, english.id, lima(2026, 12, 2, 10))
    await book(db, spanish.id, lima(2026, 12, 2, 11))
    reminders = await rows(db, kind="reminder")
    by_address = {(r.address, r.template) for r in reminders}
    assert by_address == {
        ("7101", "psv_appointment_reminder.en"),
        ("7102", "psv_appointment_reminder"),
    }
    cards = await rows(db, kind="card")
    assert len(cards) == 2
    assert {c.template for c in cards} == {"psv_new_case"}  # specialists read Spanish


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
