"""A real `psv serve` (tests/e2e/stack.py), a Telegram booking through it, admin tokens."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from typing import Any

from aiohttp import ClientSession

from tests.e2e.stack import PSV, Stack

CHAT = 7780001
NAME = "Lucía Quispe"
DOCUMENT = "40123456"
CASE = "Me despidieron sin liquidación"


def db_rows(stack: Stack, query: str) -> list[tuple[Any, ...]]:
    path = stack.database_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        return conn.execute(query).fetchall()


def make_token(stack: Stack, role: str, tenant: str | None = None) -> str:
    """A token made the way operators make one: `psv admin-token create`."""
    args = [PSV, "admin-token", "create", "--role", role, "--name", f"test {role}"]
    if tenant:
        args += ["--tenant", tenant]
    done = subprocess.run(args, env=stack.env(), cwd=stack.tmp, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip().splitlines()[-1]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = (markup or {}).get("inline_keyboard", [])
    return [(button["text"], button["callback_data"]) for row in rows for button in row]


async def say(stack: Stack, text: str) -> list[dict[str, Any]]:
    before = len(stack.tg_sent(CHAT))
    assert await stack.tg_post(stack.tg_text(CHAT, text)) == 200
    return await stack.tg_wait(CHAT, before)


def tap_update(stack: Stack, message: dict[str, Any], label: str) -> dict[str, Any]:
    data = dict(buttons(message))[label]
    return stack.tg_button(CHAT, data, int(message.get("_message_id", 1)))


async def tap(stack: Stack, message: dict[str, Any], label: str) -> list[dict[str, Any]]:
    before = len(stack.tg_sent(CHAT))
    assert await stack.tg_post(tap_update(stack, message, label)) == 200
    return await stack.tg_wait(CHAT, before)


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text", "")) for m in messages)


async def up_to_confirmation(stack: Stack) -> dict[str, Any]:
    """A citizen writes as people do, up to «¿Confirmo la cita?»; returns that message."""
    replies = await say(stack, "hola")
    replies = await tap(stack, replies[-1], "Sí")
    replies = await tap(stack, replies[-1], "Pedir una cita")
    replies = await say(stack, "me despidieron")
    replies = await tap(stack, replies[-1], "Consultas laborales")
    replies = await say(stack, "arequipa")
    replies = await tap(stack, replies[-1], "Lo antes posible")
    first_time = buttons(replies[-1])[0][0]
    replies = await tap(stack, replies[-1], first_time)
    replies = await tap(stack, replies[-1], "DNI")
    replies = await say(stack, DOCUMENT)
    replies = await say(stack, NAME)
    replies = await say(stack, CASE)
    assert "¿Confirmo la cita?" in text_of(replies), text_of(replies)
    return replies[-1]


async def scrape(stack: Stack) -> str:
    async with ClientSession() as session, session.get(stack.base + "/metrics") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        return await answer.text()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a scrape (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0
