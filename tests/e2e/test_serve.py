"""End to end: the real `psv serve` over HTTP, fake Telegram and Twilio APIs on loopback."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import PSV, Stack

CHAT = 7770001
PHONE = "+51912345678"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with Stack(tmp_path) as running:
        yield running


def _db(stack: Stack, query: str) -> list[tuple[Any, ...]]:
    path = stack.database_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        return conn.execute(query).fetchall()


def _buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = (markup or {}).get("inline_keyboard", [])
    return [(button["text"], button["callback_data"]) for row in rows for button in row]


async def _say(stack: Stack, text: str) -> list[dict[str, Any]]:
    before = len(stack.tg_sent(CHAT))
    assert await stack.tg_post(stack.tg_text(CHAT, text)) == 200
    return await stack.tg_wait(CHAT, before)


async def _tap(stack: Stack, message: dict[str, Any], label: str) -> list[dict[str, Any]]:
    data = dict(_buttons(message))[label]
    before = len(stack.tg_sent(CHAT))
    message_id = int(message.get("_message_id", 1))
    assert await stack.tg_post(stack.tg_button(CHAT, data, message_id)) == 200
    return await stack.tg_wait(CHAT, before)


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text", "")) for m in messages)


async def test_a_whole_booking_on_telegram(stack: Stack) -> None:
    replies = await _say(stack, "hola")
    assert "¿Acepta?" in _text(replies)
    replies = await _tap(stack, replies[-1], "Sí")
    assert "¿En qué le puedo ayudar?" in _text(replies)
    assert any(m == "answerCallbackQuery" for m, _ in stack.telegram.calls)
    replies = await _tap(stack, replies[-1], "Pedir una cita")
    replies = await _say(stack, "me despidieron")
    replies = await _tap(stack, replies[-1], "Consultas laborales")
    replies = await _say(stack, "Arequipa")
    assert "¿Qué día" in _text(replies)
    replies = await _tap(stack, replies[-1], "Lo antes posible")
    first_time = _buttons(replies[-1])[0][0]
    replies = await _tap(stack, replies[-1], first_time)
    replies = await _tap(stack, replies[-1], "DNI")
    replies = await _say(stack, "40123456")
    replies = await _say(stack, "Lucía Quispe")
    replies = await _say(stack, "Me despidieron sin liquidación")
    assert "¿Confirmo la cita?" in _text(replies)
    replies = await _tap(stack, replies[-1], "Sí")
    assert "Su cita está confirmada" in _text(replies)
    assert _db(stack, "SELECT count(*) FROM appointment WHERE status = 'booked'") == [(1,)]
    # every reply went out: nothing left pending (reminders and the survey wait for their time)
    assert _db(
        stack, "SELECT count(*) FROM outbox_message WHERE status <> 'sent' AND kind = 'reply'"
    ) == [(0,)]
    [(reminders,)] = _db(stack, "SELECT count(*) FROM outbox_message WHERE kind = 'reminder'")
    assert reminders >= 1  # the 1-hour one at least (the earliest time may be within a day)


async def test_rejected_requests_change_nothing(stack: Stack) -> None:
    update = stack.tg_text(CHAT, "hola")
    assert await stack.tg_post(update, secret="wrong") == 401
    assert await stack.tg_post(update, secret=None) == 401
    assert await stack.tg_post(b"{not json") == 400
    assert await stack.tg_post(b"[1, 2]") == 400
    assert await stack.tg_post(b"x" * (2 * 1024 * 1024)) == 413
    await asyncio.sleep(1)
    assert stack.tg_sent(CHAT) == []
    assert _db(stack, "SELECT count(*) FROM inbound_message") == [(0,)]
    status, _ = await stack.wa_post(stack.wa_params(PHONE, "hola"), sign=False)
    assert status == 403
    signed = stack.wa_params(PHONE, "hola")
    status, _ = await stack.wa_post(dict(signed), sign=True)
    assert status == 200


async def test_redelivered_update_is_handled_once(stack: Stack) -> None:
    update = stack.tg_text(CHAT, "hola")
    assert await stack.tg_post(update) == 200
    first = await stack.tg_wait(CHAT, 0)
    assert first
    assert await stack.tg_post(update) == 200
    await asyncio.sleep(1.5)
    assert len(stack.tg_sent(CHAT)) == len(first)


async def test_ignored_updates_are_acknowledged(stack: Stack) -> None:
    fixtures = Path(__file__).parents[1] / "fixtures" / "telegram"
    for name in ("edited_message.json", "channel_post.json", "group_message.json"):
        assert await stack.tg_post((fixtures / name).read_bytes()) == 200
    await asyncio.sleep(1)
    assert _db(stack, "SELECT count(*) FROM inbound_message") == [(0,)]


async def test_a_whole_booking_on_whatsapp(stack: Stack) -> None:
    async def say(text: str) -> str:
        before = len(stack.wa_sent(PHONE))
        status, twiml = await stack.wa_post(stack.wa_params(PHONE, text))
        assert status == 200 and "<Response" in twiml
        return "\n".join(p.get("Body", "") for p in await stack.wa_wait(PHONE, before))

    assert "¿Acepta?" in await say("hola")
    assert "1. Pedir una cita" in await say("sí")
    assert "¿Con qué tema" in await say("1")
    assert "¿En qué región" in await say("consultas laborales")
    assert "¿Qué día" in await say("cusco")
    reply = await say("lo antes posible")
    assert "1." in reply
    assert "¿Cuál tiene?" in await say("1")
    assert "número de su DNI" in await say("1")
    assert "nombre completo" in await say("40123456")
    assert "número de teléfono al especialista" in await say("Lucía Quispe")
    assert "caso" in await say("sí")
    assert "¿Confirmo la cita?" in await say("Despido arbitrario")
    assert "confirmada" in await say("sí")
    assert _db(stack, "SELECT count(*) FROM appointment WHERE status = 'booked'") == [(1,)]
    assert _db(stack, "SELECT share_phone, phone FROM citizen") == [(1, PHONE)]


async def test_delivery_status_callbacks(stack: Stack) -> None:
    before = len(stack.wa_sent(PHONE))
    await stack.wa_post(stack.wa_params(PHONE, "hola"))
    await stack.wa_wait(PHONE, before)
    sid = _db(stack, "SELECT provider_id FROM provider_message LIMIT 1")[0][0]
    params = {
        "MessageSid": sid,
        "MessageStatus": "delivered",
        "AccountSid": "AC" + "1" * 32,
        "To": f"whatsapp:{PHONE}",
    }
    status, _ = await stack.wa_post(params, path="/webhooks/whatsapp/status")
    assert status == 200
    assert _db(
        stack, "SELECT count(*) FROM outbox_message WHERE delivery_status = 'delivered'"
    ) == [(1,)]


async def test_platform_outage_during_a_booking(stack: Stack) -> None:
    for _ in range(3):
        stack.telegram.fail_next(500, {"ok": False, "error_code": 500, "description": "oops"})
    assert await stack.tg_post(stack.tg_text(CHAT, "hola")) == 200
    delivered = await stack.tg_wait(CHAT, 0, timeout=40)
    assert "¿Acepta?" in _text(delivered)
    # Exactly one of each reply reached the person despite the failed tries.
    texts = [m["text"] for m in stack.tg_sent(CHAT)]
    assert len(texts) == len(set(texts))


async def test_blocked_bot_marks_the_person_unreachable(stack: Stack) -> None:
    await _say(stack, "hola")
    stack.telegram.fail_next(
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    assert await stack.tg_post(stack.tg_text(CHAT, "sí")) == 200
    await asyncio.sleep(3)
    rows = _db(stack, "SELECT status FROM outbox_message ORDER BY id")
    assert "failed" in {status for (status,) in rows}


async def test_worker_killed_mid_send_loses_nothing(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    stack.extra_env = {"PSV_OUTBOX_LEASE_SECONDS": "2"}
    async with stack:
        stack.telegram.delay_next(5)
        assert await stack.tg_post(stack.tg_text(CHAT, "hola")) == 200
        await asyncio.sleep(1.5)  # the worker is inside sendMessage now
        assert await stack.stop(signal.SIGKILL) != 0
        await stack.start()
        delivered = await stack.tg_wait(CHAT, 0, timeout=30)
        assert "¿Acepta?" in _text(delivered)
        assert _db(stack, "SELECT count(*) FROM outbox_message WHERE status <> 'sent'") == [(0,)]


async def test_graceful_shutdown_finishes_the_send_in_flight(tmp_path: Path) -> None:
    async with Stack(tmp_path) as stack:
        await _say(stack, "hola")
        sent_before = len(stack.tg_sent(CHAT))
        stack.telegram.delay_next(3, method="sendMessage")
        assert await stack.tg_post(stack.tg_text(CHAT, "sí")) == 200
        await asyncio.sleep(1.5)  # the reply is being sent now
        assert await stack.stop(signal.SIGTERM) == 0
        # The send in flight was finished and recorded before the process ended.
        assert _db(stack, "SELECT count(*) FROM outbox_message WHERE status = 'sending'") == [(0,)]
        delivered = len(stack.tg_sent(CHAT))
        assert delivered > sent_before
        await stack.start()
        await asyncio.sleep(3)
        # Nothing is sent twice after the restart, and what was left is sent now.
        texts = [m["text"] for m in stack.tg_sent(CHAT)]
        assert len(texts) == len(set(texts))
        assert _db(stack, "SELECT count(*) FROM outbox_message WHERE status <> 'sent'") == [(0,)]


async def test_turns_in_a_separate_inbox_process(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    stack.serve_args = ["--no-inbox"]
    async with stack:
        assert await stack.tg_post(stack.tg_text(CHAT, "hola")) == 200
        await asyncio.sleep(1.5)
        assert stack.tg_sent(CHAT) == []  # queued, not yet handled
        assert _db(stack, "SELECT status FROM inbound_message") == [("queued",)]
        inbox = await asyncio.create_subprocess_exec(PSV, "inbox", env=stack.env(), cwd=tmp_path)
        try:
            replies = await stack.tg_wait(CHAT, 0)
            assert "¿Acepta?" in _text(replies)
        finally:
            inbox.send_signal(signal.SIGTERM)
            assert await inbox.wait() == 0
