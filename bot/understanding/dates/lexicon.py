"""What a language's date reader knows: one `Lexicon` of compiled patterns over folded text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Period = Literal["morning", "afternoon", "evening"]
"""A part of the day a citizen names instead of a clock time."""
HourKind = Literal["am", "pm", "night", "h24"]
"""What the words around an hour say of it ("de la tarde" is pm, "horas" is 24-hour)."""


def alt(words: Mapping[str, object] | list[str]) -> str:
    """Return a regex alternation of the words, longest first so prefixes never shadow them."""
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


def c(pattern: str) -> re.Pattern[str]:
    """Compile a pattern (a one-letter name keeps the lexicon tables readable)."""
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Compiled patterns of one language; every pattern works on folded text."""

    dateparser_lang: str
    fillers: re.Pattern[str]
    asap: re.Pattern[str]
    numbers: Mapping[str, int]
    numbers_re: re.Pattern[str]
    time_prefixed: re.Pattern[str]
    time_bare: re.Pattern[str]
    not_before_bare_time: re.Pattern[str]
    noon: re.Pattern[str]
    midnight: re.Pattern[str]
    suffix_kinds: tuple[tuple[re.Pattern[str], HourKind], ...]
    periods: tuple[tuple[re.Pattern[str], Period, int | None], ...]
    relative_days: tuple[tuple[re.Pattern[str], int], ...]
    anchored: tuple[tuple[re.Pattern[str], int], ...]
    weekdays: Mapping[str, int]
    weekday_re: re.Pattern[str]
    months: Mapping[str, int]
    month_day: re.Pattern[str]
    day_month: re.Pattern[str]
    month_alone: re.Pattern[str]
    offset: re.Pattern[str]
    offset_units: Mapping[str, str]
    offset_word: str
    day_of_month: re.Pattern[str]
    next_week: re.Pattern[str]
    this_week: re.Pattern[str]
    weekend: re.Pattern[str]
    next_month: re.Pattern[str]
