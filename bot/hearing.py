"""What one free message says about a booking's questions, kept to answer them when they come.

«quiero una cita el lunes a las 10 en arequipa porque me despidieron, dni 45678912» answers the
service, region, day, time, document type and document questions at once. `hear` finds, for
each question (keyed by the `save` name of its flow step), the words that answer it; the engine
keeps them in the conversation's state and, when a step with that `save` is reached, answers it
with them through the step's own reading (so a heard answer is checked exactly like a typed
one), and asks only what is still missing.

Only what is said plainly is heard: a region by its name or a place in it, a service when the
catalogue's words point to one or a few, a day or time when the date reader finds one, a
document by its shape (8 digits are a DNI, 11 with a valid check digit a RUC, a carné de
extranjería when it is named), a story when the message is long and names a service.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from stdnum.pe import ruc

from bot.understanding import (
    Choice,
    ServiceEntry,
    match_option,
    names_a_position,
    needs,
    places,
    search_services,
)
from bot.understanding.dates import read_date

STORY_MIN_WORDS: Final = 8
"""A message this long that names a service is taken as the story of the case too."""

_DNI_WORDS: Final = r"(?:dni|d\.\s?n\.\s?i\.?|documento|doc)"
_CE_WORDS: Final = r"(?:carne\s+de\s+extranjeria|carnet\s+de\s+extranjeria|\bce\b|c\.\s?e\.)"
_CE: Final = re.compile(rf"{_CE_WORDS}\D{{0,12}}(?P<n>\d{{9,12}})\b")
_DIGITS: Final = re.compile(r"(?<![\d/:.\-])(?P<n>\d(?:[ .\-]?\d){7,10})(?![\d/:])")
# Words that say what was understood is not it: «no», «otro», «no es eso».
_NOT_THAT: Final = frozenset(
    {
        "no", "otro", "otra", "otro tema", "otra cosa", "no es eso", "eso no", "no eso no",
        "ninguno", "ninguna", "no otro", "otro servicio", "nada que ver", "no es", "not that",
        "something else", "other", "no thanks",
    }
)  # fmt: skip
_OPTION_NUMBER: Final = re.compile(r"\s*\d{1,2}\s*[.)]?\s*")
_DNI_NAMED: Final = re.compile(rf"{_DNI_WORDS}\D{{0,12}}(?P<n>\d(?:[ .]?\d){{7}})(?!\d)")


@dataclass(frozen=True, slots=True)
class Answer:
    """Heard words for one question: the text to read, or an option's payload."""

    text: str = ""
    payload: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The answer as stored in the conversation's state."""
        return {"text": self.text, "payload": self.payload}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        """An answer read back from the conversation's state."""
        payload = data.get("payload")
        return cls(str(data.get("text") or ""), str(payload) if payload else None)


def document_by_shape(text: str) -> dict[str, Answer]:
    """A document by its shape: a named or 8-digit DNI, an 11-digit RUC, a named CE."""
    lowered = text.casefold()
    if found := _CE.search(lowered):
        return {"doc_type": Answer(payload="ce"), "document": Answer(found["n"])}
    if found := _DNI_NAMED.search(lowered):
        return {"doc_type": Answer(payload="dni"), "document": Answer(found["n"])}
    for found in _DIGITS.finditer(lowered):
        digits = re.sub(r"\D", "", found["n"])
        if len(digits) == 8:
            return {"doc_type": Answer(payload="dni"), "document": Answer(digits)}
        if len(digits) == 11 and ruc.is_valid(digits):
            return {"doc_type": Answer(payload="ruc"), "document": Answer(digits)}
    return {}


def _region(text: str, regions: Sequence[Choice]) -> Answer | None:
    """A region named outright or through a place in it; several candidates keep the text."""
    read = match_option(text, regions)
    if read.how not in ("exact", "contains"):
        read = type(read)(None)  # a fuzzy guess over a whole sentence is no answer
    read = places.resolve_region(text, regions, read, cued=True)
    if read.payload is not None:
        return Answer(payload=read.payload)
    if read.ambiguous:
        return Answer(text=text)
    return None


def _confident_service(text: str, services: Sequence[ServiceEntry], lang: str) -> bool:
    """Whether the needs model is sure the message names one of these services."""
    need = needs.understand(text, lang)
    codes = {s.code for s in services}
    return need.verdict == "confident" and need.labels[0] in codes


def hear(
    text: str,
    *,
    services: Sequence[ServiceEntry],
    regions: Sequence[Choice],
    now: datetime,
    lang: str = "es",
) -> dict[str, Answer]:
    """Return, by question (`save` name), what a free message answers."""
    heard: dict[str, Answer] = {}
    if not text.strip() or _OPTION_NUMBER.fullmatch(text) or names_a_position(text):
        return heard  # «2», «el primero» pick an option; they say nothing of a day
    if search_services(text, list(services)) or _confident_service(text, services, lang):
        heard["service"] = Answer(text)
        if len(text.split()) >= STORY_MIN_WORDS:
            heard["description"] = Answer(text)
    if region := _region(text, regions):
        heard["region"] = region
    reading = read_date(text, now, lang)
    if reading.date is not None or reading.asap:
        heard["day"] = Answer(text)
    heard.update(document_by_shape(text))
    return heard


def rejects_guess(text: str) -> bool:
    """Whether a short message only says that what was understood is not it («no, otro»)."""
    words = re.sub(r"[^\w\s]", " ", text.casefold()).split()
    return " ".join(words) in _NOT_THAT
