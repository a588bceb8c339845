"""Notices on their way out: WhatsApp templates outside the window, reminders across a restart."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel
from bot.outbox import notify
from bot.outbox.worker import OutboxWorker
from core.db import Database
from core.models import (
    Conversation,
)
from tests.factories import NOW, add_specialist, lima
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.integration.notify_support import (
    CHAT,
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
