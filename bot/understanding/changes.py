"""The words around a change of mind: what a day or a time says, and what a correction
says besides the answer it changes («no, mejor en cusco por favor», «mejor el viernes»)."""

from __future__ import annotations

import re
from datetime import datetime

from bot.understanding.dates import read_date
from bot.understanding.dates.english import ENGLISH
from bot.understanding.dates.spanish import SPANISH
from bot.understanding.text import normalise, squeeze

# The words of a day or a time («el jueves a las 3 y media de la tarde», «pasado mañana»).
TIME_FILLERS = frozenset(
    {
        "a",
        "al",
        "las",
        "la",
        "el",
        "los",
        "lo",
        "de",
        "d",
        "del",
        "en",
        "para",
        "por",
        "y",
        "media",
        "cuarto",
        "menos",
        "hora",
        "horas",
        "hrs",
        "am",
        "pm",
        "manana",
        "mananita",
        "tarde",
        "noche",
        "mediodia",
        "temprano",
        "hoy",
        "pasado",
        "proximo",
        "proxima",
        "siguiente",
        "que",
        "q",
        "viene",
        "semana",
        "mes",
        "dia",
        "dias",
        "antes",
        "posible",
        "este",
        "esta",
        "mismo",
        "paqarin",
        "kunan",
        "at",
        "on",
        "in",
        "the",
        "next",
        "tomorrow",
        "today",
        "morning",
        "afternoon",
        "evening",
        "noon",
        "asap",
        "possible",
    }
)
WHEN_WORDS = (
    frozenset(
        {*SPANISH.weekdays, *SPANISH.months, *SPANISH.numbers, *ENGLISH.weekdays, *ENGLISH.months}
    )
    | TIME_FILLERS
)
# What a change of region says besides the region («no, mejor en cusco por favor»).
CORRECTION_WORDS = frozenset(
    {
        "no",
        "si",
        "mejor",
        "en",
        "de",
        "del",
        "la",
        "el",
        "los",
        "las",
        "region",
        "departamento",
        "vivo",
        "soy",
        "estoy",
        "trabajo",
        "desde",
        "perdon",
        "disculpe",
        "quise",
        "decir",
        "es",
        "era",
        "pero",
        "y",
        "o",
        "por",
        "favor",
        "porfa",
        "porfavor",
        "xfa",
        "plis",
        "ahora",
        "mas",
        "bien",
        "otra",
        "otro",
        "a",
        "al",
        "con",
        "un",
        "una",
        "para",
        "que",
        "sea",
        "tema",
        "servicio",
        "prefiero",
        "cambiar",
        "cambio",
        "cambie",
    }
)
# The first word of a change of mind typed where any text is an answer («mejor el viernes»
# at «cuéntenos su caso»); «no me pagan en cusco» starts with «no» but says more, see `only`.
CHANGE_MARKERS = frozenset(
    {"no", "mejor", "perdon", "disculpe", "quise", "prefiero", "cambiar", "cambie", "cambio"}
)


def says_only(text: str, allowed: frozenset[str] | set[str]) -> bool:
    """Whether the text has words and each is in `allowed` (also with its repeated letters
    squeezed: «noo», «porfaaa») or has a digit."""
    words = normalise(text).split()
    return bool(words) and all(
        w in allowed or squeeze(w) in allowed or any(c.isdigit() for c in w) for w in words
    )


def only(text: str, named: frozenset[str] | set[str]) -> bool:
    """Whether every word of `text` is a correction's, a day's or a time's, a number or one of
    `named` (the words of the answers the correction names)."""
    return says_only(text, named | CORRECTION_WORDS | WHEN_WORDS)


def starts_a_change(text: str) -> bool:
    """Whether the text opens with a change of mind («no, ...», «mejor ...», «perdón, ...»)."""
    words = normalise(text).split()
    return bool(words) and squeeze(words[0]) in CHANGE_MARKERS


def only_when(text: str, now: datetime, lang: str) -> bool:
    """Whether the message reads as a day, a time, a part of the day or «lo antes posible»,
    and says nothing else («ayer me botaron» says more)."""
    reading = read_date(text, now, lang)
    if not (reading.date or reading.time or reading.period or reading.asap):
        return False
    return says_only(text, WHEN_WORDS)


# «otro día», «otra fecha» (normalised): another day altogether; «otra hora», «otro horario»:
# another time of the same day.
OTHER_DAY_WORDS = re.compile(r"\b(?:otro|otra|diferente)\s+(?:dia|fecha)\b|\banother\s+day\b")
OTHER_TIME_WORDS = re.compile(r"\b(?:otro|otra|diferente)\s+(?:hora|horario)\b|\banother\s+time\b")
_CHANGE_NOUNS = frozenset(
    {"dia", "fecha", "hora", "horario", "diferente", "another", "day", "time"}
)


def only_a_new_when(text: str, now: datetime, lang: str) -> bool:
    """Whether the message only asks for another day or time: «mejor a las 11», «no, mejor
    otro día», «otra hora», «en la tarde mejor»; «a las 11 me despidieron» says more."""
    if not says_only(text, WHEN_WORDS | CORRECTION_WORDS | CHANGE_MARKERS | _CHANGE_NOUNS):
        return False
    norm = normalise(text)
    if OTHER_DAY_WORDS.search(norm) or OTHER_TIME_WORDS.search(norm):
        return True
    reading = read_date(text, now, lang)
    return bool(reading.date or reading.time or reading.period or reading.asap)
