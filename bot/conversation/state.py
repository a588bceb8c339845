"""The names of the keys a conversation keeps in its `state` column between turns.

The state is a JSON object; these are its keys, in one place (`ConversationState` says what
each holds). Steps and navigation read and write them through `Turn.state`.
"""

from __future__ import annotations

from typing import Any, Final, TypedDict

OFFERED: Final = "offered"  # the options of the question asked last: [[payload, label], ...]
OFFERED_STEP: Final = "offered_step"  # the step (or NAV_STEP) those options belong to
NAV_SAVED: Final = "nav_saved"  # the question's own options while a navigation one is asked
CANCEL_ASKED: Final = "cancel_asked"  # «cancel» was asked for confirmation
PAGE: Final = "page"  # the page of options shown last
HEARD: Final = "heard"  # answers read from free words, kept for their questions
FIRST_WORDS: Final = "first_words"  # a first message written before consent, for the menu
MENU_WORDS: Final = "menu_words"  # the words that picked a menu option, for its flow's question
SERVICE_GUESSED: Final = "service_guessed"  # the service was taken from free words
HISTORY: Final = "history"  # the steps asked, for «back»
ALTERNATIVES: Final = "alternatives"  # times offered instead of one taken meanwhile
NOTE_FOR: Final = "note_for"  # a specialist's next message is the note of this appointment
NAV_STEP: Final = "_nav"  # OFFERED_STEP of a navigation question (menu, human, cancel?)


class ConversationState(TypedDict, total=False):
    """What a conversation's `state` column holds (every key optional)."""

    offered: list[list[str]]
    offered_step: str
    nav_saved: list[Any]
    cancel_asked: bool
    page: int
    heard: dict[str, Any]
    first_words: str
    menu_words: str
    service_guessed: bool
    history: list[str]
    alternatives: list[str]
    note_for: int
