"""Only people are citizens: a Telegram update sent by a bot is acknowledged and ignored."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.channels.telegram import parse_update
from core.db import Database
from core.models import Conversation, InboundMessage, OutboxMessage
from tests.e2e.test_webhook_fuzz import TG_PATH, TG_SECRET, Harness, serving

FIXTURES = Path(__file__).parents[1] / "fixtures" / "telegram"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_bytes())
    return data


def from_a_bot(update: dict[str, Any], kind: str) -> dict[str, Any]:
    flipped = copy.deepcopy(update)
    flipped[kind]["from"]["is_bot"] = True
    flipped["update_id"] += 1000
    return flipped


def test_a_bots_message_and_button_parse_to_nothing() -> None:
    for name, kind in (("text_message", "message"), ("callback_query", "callback_query")):
        person = load(name)
        assert parse_update(json.dumps(person).encode()).inbound is not None, name
        parsed = parse_update(json.dumps(from_a_bot(person, kind)).encode())
        assert parsed.inbound is None and not parsed.followup, name


async def post(harness: Harness, update: dict[str, Any]) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    async with harness.client.post(TG_PATH, json=update, headers=headers) as answer:
        await answer.read()
        return answer.status


async def _count(db: Database, model: Any) -> int:
    async with db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_webhook_acknowledges_a_bot_and_opens_no_conversation(
    sqlite_db: Database,
) -> None:
    person = load("text_message")
    async with serving(sqlite_db) as harness:
        assert await post(harness, from_a_bot(person, "message")) == 200
        assert await _count(sqlite_db, InboundMessage) == 0
        assert await _count(sqlite_db, Conversation) == 0
        assert await _count(sqlite_db, OutboxMessage) == 0
        # The same message from the person is taken in.
        assert await post(harness, person) == 200
        assert await _count(sqlite_db, InboundMessage) == 1
