"""End to end: a citizen who only types (no buttons, no option numbers), opens with their problem
and gives the day and time in that first message, books in at most 8 messages on Telegram and on
WhatsApp; the specialist receives the case card and the session link."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_specialists import (
    FIRST_SPECIALIST_CHAT,
    _db,
    _open_all_week,
    _text,
    _until,
)

TG_CHAT = 7770301
WA_PHONE = "+51912340301"
# Each turn: what the citizen types, and what the bot's answer must say. No buttons, no numbers
# of options: words only. Monday is opened by _open_all_week whatever the date of the run.
TURNS = [
    (
        "buenas, me despidieron sin pagarme y quiero una cita el lunes a las 10 en arequipa",
        "¿Acepta?",
    ),
    ("si acepto", "¿A cuál de estos"),
    ("consultas laborales", "documento"),
    ("mi dni es 40123456", "nombre completo"),
    ("Lucia Quispe Mamani", ""),
]


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with Stack(tmp_path) as running:
        _db(
            running,
            "UPDATE specialist SET contact_channel = 'telegram', contact_address = ? + id "
            "WHERE tenant_id = (SELECT id FROM tenant WHERE code = 'PE-ARE')",
            FIRST_SPECIALIST_CHAT,
        )
        _open_all_week(running)
        yield running


async def _book_by_words(say: Callable[[str], Awaitable[str]]) -> int:
    """Type the turns, answer what is asked until confirmed; return the messages sent."""
    sent = 0
    for said, expected in TURNS:
        answer = await say(said)
        sent += 1
        assert expected in answer, f"{said!r} -> {answer}"
    for _ in range(3):
        if "confirmada" in answer:
            break
        if "teléfono" in answer:  # WhatsApp: may the specialist see the number?
            answer = await say("no")
        elif "¿Confirmo la cita?" in answer:
            assert "10:00" in answer and "Arequipa" in answer
            answer = await say("si, confirmo")
        else:
            raise AssertionError(f"unexpected question: {answer}")
        sent += 1
    assert "confirmada" in answer
    return sent


async def _card_reaches_the_specialist(stack: Stack) -> None:
    [(specialist_id, link)] = _db(stack, "SELECT specialist_id, session_link FROM appointment")
    chat = FIRST_SPECIALIST_CHAT + specialist_id
    assert await _until(lambda: "Lucia" in _text(stack.tg_sent(chat)))
    assert "me despidieron" in _text(stack.tg_sent(chat)).casefold()
    assert link and link.startswith("https://meet.jit.si/")


async def test_on_telegram_typing_only(stack: Stack) -> None:
    async def say(text: str) -> str:
        before = len(stack.tg_sent(TG_CHAT))
        assert await stack.tg_post(stack.tg_text(TG_CHAT, text)) == 200
        return _text(await stack.tg_wait(TG_CHAT, before))

    assert await _book_by_words(say) <= 8
    await _card_reaches_the_specialist(stack)


async def test_on_whatsapp_without_buttons(stack: Stack) -> None:
    async def say(text: str) -> str:
        before = len(stack.wa_sent(WA_PHONE))
        status, _ = await stack.wa_post(stack.wa_params(WA_PHONE, text))
        assert status == 200
        return _text(await stack.wa_wait(WA_PHONE, before))

    assert await _book_by_words(say) <= 8
    await _card_reaches_the_specialist(stack)
