"""End to end: specialists on Telegram, citizens on WhatsApp and Telegram, one real server.

The demo roster's Arequipa specialists are given Telegram chats; office hours and their
working hours are widened to the whole week so the hand-off runs whatever the time of the run.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack

CITIZEN_CHAT = 7770101
PHONE = "+51912340001"
FIRST_SPECIALIST_CHAT = 8880000
AREQUIPA_STAFF = (
    "SELECT id FROM specialist WHERE tenant_id = (SELECT id FROM tenant WHERE code = 'PE-ARE')"
)


def _db(stack: Stack, query: str, *args: object) -> list[tuple[Any, ...]]:
    path = stack.database_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        return conn.execute(query, args).fetchall()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with Stack(tmp_path) as running:
        _db(
            running,
            "UPDATE specialist SET contact_channel = 'telegram', contact_address = ? + id "
            "WHERE tenant_id = (SELECT id FROM tenant WHERE code = 'PE-ARE')",
            FIRST_SPECIALIST_CHAT,
        )
        yield running


def _open_all_week(stack: Stack) -> None:
    hours = json.dumps({"weekdays": list(range(7)), "opens": "00:00", "closes": "23:59"})
    _db(stack, "UPDATE tenant SET office_hours = ? WHERE code = 'PE-ARE'", hours)
    _db(stack, "DELETE FROM closure")
    _db(
        stack,
        f"DELETE FROM working_hours WHERE specialist_id IN ({AREQUIPA_STAFF})",
    )
    for (sid,) in _db(stack, AREQUIPA_STAFF):
        for weekday in range(7):
            _db(
                stack,
                "INSERT INTO working_hours (specialist_id, weekday, start_time, end_time) "
                "VALUES (?, ?, '00:00:00.000000', '23:59:00.000000')",
                sid,
                weekday,
            )


async def _until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        await asyncio.sleep(0.1)
    return check()


def _buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = (markup or {}).get("inline_keyboard", [])
    return [(button["text"], button["callback_data"]) for row in rows for button in row]


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text", "") or m.get("Body", "")) for m in messages)


async def _tg_say(stack: Stack, chat: int, text: str) -> list[dict[str, Any]]:
    before = len(stack.tg_sent(chat))
    assert await stack.tg_post(stack.tg_text(chat, text)) == 200
    return await stack.tg_wait(chat, before)


async def _tg_tap(stack: Stack, chat: int, data: str) -> int:
    return await stack.tg_post(stack.tg_button(chat, data, 1))


async def _wa_say(stack: Stack, text: str) -> str:
    before = len(stack.wa_sent(PHONE))
    status, _ = await stack.wa_post(stack.wa_params(PHONE, text))
    assert status == 200
    return _text(await stack.wa_wait(PHONE, before))


async def test_a_booking_reaches_the_specialist_whose_buttons_change_it(stack: Stack) -> None:
    for said in ("hola", "sí", "pedir una cita", "consultas laborales", "Arequipa"):
        await _tg_say(stack, CITIZEN_CHAT, said)
    await _tg_say(stack, CITIZEN_CHAT, "lo antes posible")
    for said in ("1", "1", "40123456", "Lucía Quispe", "Me despidieron sin liquidación"):
        await _tg_say(stack, CITIZEN_CHAT, said)
    confirmed = await _tg_say(stack, CITIZEN_CHAT, "sí")
    assert "confirmada" in _text(confirmed)
    [(appointment_id, specialist_id, link)] = _db(
        stack, "SELECT id, specialist_id, session_link FROM appointment"
    )
    chat = FIRST_SPECIALIST_CHAT + specialist_id
    card = await stack.tg_wait(chat, 0)
    assert card, "the specialist got no case card"
    assert "Lucía" in _text(card) and "****3456" in _text(card) and "40123456" not in _text(card)
    data = [d for m in card for _, d in _buttons(m)]
    assert {f"sp:ack:{appointment_id}", f"sp:attended:{appointment_id}"} <= set(data)
    assert link and link.startswith("https://meet.jit.si/")
    # The link and the calendar file follow the confirmation a few seconds later.
    assert await _until(lambda: link in _text(stack.tg_sent(CITIZEN_CHAT)))
    assert await _until(
        lambda: any(str(m.get("document", "")) for m in stack.tg_sent(CITIZEN_CHAT))
    )

    # The citizen sends the specialist's payloads: nothing changes.
    for action in ("ack", "attended", "no_show", "reassign"):
        assert await _tg_tap(stack, CITIZEN_CHAT, f"sp:{action}:{appointment_id}") == 200
    await stack.tg_wait(CITIZEN_CHAT, len(stack.tg_sent(CITIZEN_CHAT)), timeout=3)
    assert _db(stack, "SELECT status, acknowledged_at, specialist_id FROM appointment") == [
        ("booked", None, specialist_id)
    ]

    # The specialist acknowledges from their chat.
    before = len(stack.tg_sent(chat))
    assert await _tg_tap(stack, chat, f"sp:ack:{appointment_id}") == 200
    assert f"caso {appointment_id}" in _text(await stack.tg_wait(chat, before))
    [(acknowledged,)] = _db(stack, "SELECT acknowledged_at FROM appointment")
    assert acknowledged is not None
    assert "Lucía" in _text(await _tg_say(stack, chat, "agenda " + _day_word(stack)))


def _day_word(stack: Stack) -> str:
    """The appointment's local date as dd/mm, which the agenda command reads."""
    [(start,)] = _db(stack, "SELECT start_utc FROM appointment")
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(str(start)).replace(tzinfo=ZoneInfo("UTC"))
    local = local.astimezone(ZoneInfo("America/Lima"))
    return f"{local.day:02d}/{local.month:02d}"


async def test_a_whatsapp_citizen_and_a_telegram_specialist_talk_through_the_bot(
    stack: Stack,
) -> None:
    _open_all_week(stack)
    await _wa_say(stack, "hola")
    await _wa_say(stack, "sí")
    assert "región" in await _wa_say(stack, "quiero hablar con un especialista")
    await _wa_say(stack, "Arequipa")
    connected = await _wa_say(stack, "No me pagan mis gratificaciones")
    assert "especialista" in connected and "salir" in connected
    [(ticket_id, specialist_id, status)] = _db(
        stack, "SELECT id, specialist_id, status FROM handoff_request"
    )
    assert status == "assigned"
    chat = FIRST_SPECIALIST_CHAT + specialist_id
    assert "No me pagan mis gratificaciones" in _text(await stack.tg_wait(chat, 0))

    before = len(stack.tg_sent(chat))
    status_code, _ = await stack.wa_post(stack.wa_params(PHONE, "Trabajo en una panadería"))
    assert status_code == 200
    relayed = _text(await stack.tg_wait(chat, before))
    assert "Trabajo en una panadería" in relayed and PHONE not in relayed

    answer = "¿Desde cuándo no le pagan?"
    before_wa = len(stack.wa_sent(PHONE))
    assert await stack.tg_post(stack.tg_text(chat, answer)) == 200
    to_citizen = _text(await stack.wa_wait(PHONE, before_wa))
    assert answer in to_citizen and str(chat) not in to_citizen

    before = len(stack.tg_sent(chat))
    closed = await _wa_say(stack, "salir")
    assert "terminó" in closed
    assert f"{ticket_id} quedó cerrada" in _text(await stack.tg_wait(chat, before))
    assert _db(stack, "SELECT status, closed_by FROM handoff_request") == [("closed", "citizen")]
    assert "¿En qué le puedo ayudar?" in await _wa_say(stack, "menú")


def _started_appointments(stack: Stack, count: int) -> tuple[int, list[int]]:
    """A WhatsApp citizen with `count` booked appointments that began 20 minutes ago.

    Written straight into the stack's database: the booking flow cannot book the past,
    and an outcome can only be reported once the appointment has started.
    """
    from datetime import UTC, datetime, timedelta

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    now = datetime.now(UTC).replace(tzinfo=None)
    [(specialist_id, tenant_id)] = _db(
        stack, f"SELECT id, tenant_id FROM specialist WHERE id IN ({AREQUIPA_STAFF}) LIMIT 1"
    )
    [(service_id,)] = _db(stack, "SELECT id FROM service WHERE code = 'consultas-laborales'")
    _db(
        stack,
        "INSERT INTO citizen (document_type, document_number, name, preferred_language, "
        "share_phone, created_at) VALUES ('dni', '40123456', 'Lucía Quispe', 'es', 0, ?)",
        stamp(now),
    )
    [(citizen_id,)] = _db(stack, "SELECT id FROM citizen WHERE document_number = '40123456'")
    _db(
        stack,
        "INSERT INTO channel_identity (citizen_id, channel, address, reachable) "
        "VALUES (?, 'whatsapp', ?, 1)",
        citizen_id,
        f"whatsapp:{PHONE}",
    )
    ids = []
    for n in range(count):
        start = now - timedelta(minutes=20) - timedelta(hours=n)
        _db(
            stack,
            "INSERT INTO appointment (tenant_id, service_id, specialist_id, citizen_id, "
            "start_utc, end_utc, busy_until, status, channel, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'booked', 'whatsapp', ?)",
            tenant_id,
            service_id,
            specialist_id,
            citizen_id,
            stamp(start),
            stamp(start + timedelta(minutes=30)),
            stamp(start + timedelta(minutes=30)),
            stamp(now - timedelta(days=2)),
        )
        [(last,)] = _db(stack, "SELECT max(id) FROM appointment")
        ids.append(int(last))
    return int(specialist_id), ids


async def test_outcomes_by_the_specialists_buttons_and_never_by_a_whatsapp_citizen(
    stack: Stack,
) -> None:
    specialist_id, (first, second) = _started_appointments(stack, 2)
    chat = FIRST_SPECIALIST_CHAT + specialist_id

    # The citizen sends the specialist's payloads on WhatsApp: typed, and as a button
    # payload (a quick reply's id). Nothing changes, and the specialist hears nothing.
    await _wa_say(stack, "hola")
    await _wa_say(stack, f"sp:attended:{first}")
    before = len(stack.wa_sent(PHONE))
    forged = stack.wa_params(PHONE, "Atendido", ButtonPayload=f"sp:no_show:{first}")
    assert (await stack.wa_post(forged))[0] == 200
    await stack.wa_wait(PHONE, before)
    forged = stack.wa_params(PHONE, "Recibido", ButtonPayload=f"sp:ack:{second}")
    assert (await stack.wa_post(forged))[0] == 200
    await stack.wa_wait(PHONE, before + 1)
    assert _db(stack, "SELECT status, acknowledged_at, outcome_at FROM appointment") == [
        ("booked", None, None),
        ("booked", None, None),
    ]
    assert stack.tg_sent(chat) == []

    # The specialist taps attended on the first, then writes a note.
    before_wa = len(stack.wa_sent(PHONE))
    assert await _tg_tap(stack, chat, f"sp:attended:{first}") == 200
    asked = _text(await stack.tg_wait(chat, 0))
    assert "atendido" in asked and "nota" in asked.lower()
    assert "Gracias por asistir" in _text(await stack.wa_wait(PHONE, before_wa))
    await _tg_say(stack, chat, "Orientado sobre despido; presentará reclamo.")
    # Then no-show on the second.
    before_wa = len(stack.wa_sent(PHONE))
    assert await _tg_tap(stack, chat, f"sp:no_show:{second}") == 200
    assert "no se conectó" in _text(await stack.wa_wait(PHONE, before_wa))
    assert _db(stack, "SELECT id, status, outcome_note FROM appointment ORDER BY id") == [
        (first, "attended", "Orientado sobre despido; presentará reclamo."),
        (second, "no_show", None),
    ]
