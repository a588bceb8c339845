"""End to end over the real `psv serve`: two Telegram users, one types the other's DNI."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack

ROSA, CARLOS = 7770201, 7770202
DNI = "45678912"


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


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text", m.get("caption", ""))) for m in messages)


async def _say(stack: Stack, chat: int, text: str) -> list[dict[str, Any]]:
    before = len(stack.tg_sent(chat))
    assert await stack.tg_post(stack.tg_text(chat, text)) == 200
    return await stack.tg_wait(chat, before)


async def _press(stack: Stack, chat: int, data: str) -> list[dict[str, Any]]:
    before = len(stack.tg_sent(chat))
    assert await stack.tg_post(stack.tg_button(chat, data, 1)) == 200
    return await stack.tg_wait(chat, before)


async def _tap(
    stack: Stack, chat: int, message: dict[str, Any], label: str
) -> list[dict[str, Any]]:
    return await _press(stack, chat, dict(_buttons(message))[label])


async def _book(stack: Stack, chat: int, name: str, nth: int) -> str:
    """Consent and book the nth free time of «Consultas laborales» in Arequipa by DNI."""
    replies = await _say(stack, chat, "hola")
    assert "¿Acepta?" in _text(replies)
    replies = await _say(stack, chat, "si")
    replies = await _say(stack, chat, "quiero una cita")
    replies = await _say(stack, chat, "consultas laborales")
    replies = await _say(stack, chat, "arequipa")
    replies = await _tap(stack, chat, replies[-1], "Lo antes posible")
    chosen = _buttons(replies[-1])[nth][0]
    replies = await _tap(stack, chat, replies[-1], chosen)
    replies = await _say(stack, chat, "dni")
    replies = await _say(stack, chat, DNI)
    replies = await _say(stack, chat, name)
    replies = await _say(stack, chat, "no me pagan la cts")
    assert "¿Confirmo la cita?" in _text(replies)
    replies = await _say(stack, chat, "si")
    assert "Su cita está confirmada" in _text(replies)
    return chosen


async def test_typing_someone_elses_dni_over_telegram(stack: Stack) -> None:
    await _book(stack, ROSA, "Rosa Huaman", 0)
    await asyncio.sleep(6)  # Rosa's own link and calendar file follow her confirmation
    rosa_before = len(stack.tg_sent(ROSA))
    await _book(stack, CARLOS, "Carlos Perez", 1)
    await asyncio.sleep(7)  # past the follow-up delay of Carlos's link and calendar file

    # Rosa's chat got only the notice that her document was used, nothing of Carlos's booking
    to_rosa = stack.tg_sent(ROSA)[rosa_before:]
    assert len(to_rosa) == 1, _text(to_rosa)
    assert "****8912" in _text(to_rosa) and "otro chat" in _text(to_rosa)
    assert all("document" not in m for m in to_rosa)  # no calendar file
    assert "Carlos" not in _text(to_rosa) and "meet.jit.si" not in _text(to_rosa)
    # Carlos got his own link and calendar file
    assert any("document" in m for m in stack.tg_sent(CARLOS))

    rows = _db(
        stack,
        "SELECT a.id, c.name, c.document_number, c.claimed_document_number "
        "FROM appointment a JOIN citizen c ON c.id = a.citizen_id ORDER BY a.id",
    )
    assert [(name, own, claimed) for _, name, own, claimed in rows] == [
        ("Rosa Huaman", DNI, None),
        ("Carlos Perez", None, DNI),
    ]
    rosas, carlos_id = rows[0][0], rows[1][0]

    # Carlos lists only his own appointment and cannot cancel Rosa's
    replies = await _say(stack, CARLOS, "mis citas")
    assert "Sus próximas citas" in _text(replies)
    payloads = [data for _, data in _buttons(replies[-1])]
    assert str(carlos_id) in payloads and str(rosas) not in payloads
    await _press(stack, CARLOS, str(rosas))  # a forged button with Rosa's appointment
    await _say(stack, CARLOS, "cancelarla")
    await _say(stack, CARLOS, "ya no")
    await _say(stack, CARLOS, "si")
    assert _db(stack, f"SELECT status FROM appointment WHERE id = {rosas}") == [("booked",)]

    # Rosa lists her own only
    replies = await _say(stack, ROSA, "mis citas")
    payloads = [data for _, data in _buttons(replies[-1])]
    assert str(rosas) in payloads and str(carlos_id) not in payloads
