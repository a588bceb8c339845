"""The engine's handler chain: its order, and the first handler that answers wins."""

from __future__ import annotations

from typing import Any, cast

from bot.conversation.engine import Engine
from bot.conversation.flow_runner import FlowRunner
from bot.conversation.handlers import FollowUps, Message, Relay, SpecialistDesk
from bot.conversation.refusals import refusal_text
from bot.messages import Outbound
from core.db import Database
from core.settings import Settings
from tests.factories import NOW


def _engine() -> Engine:
    return Engine(cast(Database, None), Settings())


def _message() -> Message:
    return Message(cast(Any, None), cast(Any, None), cast(Any, None), NOW)


def test_the_chain_reads_desk_followups_relay_then_flows() -> None:
    engine = _engine()
    kinds = [type(handler) for handler in engine.handlers]
    assert kinds == [SpecialistDesk, FollowUps, Relay, FlowRunner]
    assert engine.handlers[-1] is engine.flow_runner


class _Fake:
    def __init__(self, name: str, replies: list[Outbound] | None, seen: list[str]) -> None:
        self.name, self.replies, self.seen = name, replies, seen

    async def __call__(self, message: Message) -> list[Outbound] | None:
        self.seen.append(self.name)
        return self.replies


async def test_the_first_handler_that_answers_wins() -> None:
    engine = _engine()
    seen: list[str] = []
    engine.handlers = (
        _Fake("passes", None, seen),
        _Fake("answers", [], seen),  # an empty answer is still an answer (a relayed message)
        _Fake("never asked", [Outbound("no")], seen),
    )
    assert await engine._offer(_message()) == []
    assert seen == ["passes", "answers"]


def test_one_refusal_text_for_actions_and_the_desk() -> None:
    assert refusal_text("es", "no_such_reason") == refusal_text("es", "error")
    assert refusal_text("es", "holiday") not in ("", refusal_text("es", "error"))
    assert refusal_text("en", "holiday") != refusal_text("es", "holiday")
