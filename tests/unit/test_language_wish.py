"""A wish for another language is understood in any of the three."""

from __future__ import annotations

import pytest

from bot.language_wish import language_of_text, language_wish


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("english", "en"),
        ("English please", "en"),
        ("in english", "en"),
        ("do you speak english?", "en"),
        ("en ingles", "en"),
        ("en inglés por favor", "en"),
        ("quechua", "qu"),
        ("en quechua", "qu"),
        ("hableme en quechua porfa", "qu"),
        ("runasimipi rimayta munani", "qu"),  # was not taken as a wish for Quechua
        ("Runasimi", "qu"),
        ("runa simi", "qu"),
        ("español", "es"),
        ("espanol", "es"),
        ("en castellano", "es"),
        ("spanish please", "es"),
        ("can we talk in spanish", "es"),
        ("mejor en español", "es"),
    ],
)
def test_a_wish_names_its_language(text: str, lang: str) -> None:
    assert language_wish(text) == lang


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hola",
        "si",
        "idioma",  # asks which: the language command, not a wish for one
        "no entiendo el ingles de mi contrato",
        "mi jefe es ingles y no me paga",
        "english o español",  # two languages: ask
        "quiero una cita en arequipa",
        "me despidieron, hablo quechua y español",
        "en " * 20 + "english",
    ],
)
def test_other_messages_are_no_wish(text: str) -> None:
    assert language_wish(text) is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hello", "en"),
        ("Hi, I need a lawyer", "en"),
        ("good morning", "en"),
        ("Napaykullayki", "qu"),
        ("allinllachu, yanapaway", "qu"),
        ("hola", None),
        ("buenos dias", None),
        ("ok", None),
        ("hola quiero una cita please", None),
        ("me despidieron", None),
        ("", None),
    ],
)
def test_a_first_message_plainly_in_english_or_quechua(text: str, lang: str | None) -> None:
    assert language_of_text(text) == lang
