"""A long story is kept whole on the appointment; the specialist's card shows its beginning."""

from __future__ import annotations

from bot.outbox.notify.cases import CARD_STORY_CHARS, _shortened


def test_a_short_story_is_shown_whole() -> None:
    assert _shortened("Me despidieron sin pagarme la CTS.") == "Me despidieron sin pagarme la CTS."


def test_a_long_story_is_cut_at_a_word_and_marked() -> None:
    story = "Trabajé seis años en una fábrica sin contrato, " * 30
    shown = _shortened(story)
    assert len(shown) <= CARD_STORY_CHARS + 1
    assert shown.endswith("…") and not shown.endswith(" …")
    assert story.startswith(shown[:-1])
    assert story[len(shown) - 1] in " ,"  # cut between words
