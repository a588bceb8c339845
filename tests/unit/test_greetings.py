"""A first message that is only a greeting says nothing to keep for later questions."""

from __future__ import annotations

import pytest

from bot.understanding.text import only_a_greeting


@pytest.mark.parametrize(
    "text",
    ["hola", "Holaaa!!", "buenas tardes señorita", "Buenos días", "hello", "Napaykullayki"],
)
def test_greetings_alone(text: str) -> None:
    assert only_a_greeting(text)


@pytest.mark.parametrize(
    "text",
    ["hola quiero una cita", "hola, me despidieron", "buenas, hay cursos?", "ok", "si", "", "1"],
)
def test_a_greeting_with_something_more_is_not_one(text: str) -> None:
    assert not only_a_greeting(text)
