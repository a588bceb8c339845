"""Shared wire formats: weekly hours as "mon 08:30-13:00", masked documents, first names."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import time

from core.roster import WeeklySpan

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Spanish abbreviations are accepted too (lun, mar, mie, jue, vie, sab, dom).
SPANISH = ("lun", "mar", "mie", "jue", "vie", "sab", "dom")
# "mon 08:30-13:00", and as people write it: "lunes 8-13", "Miércoles 8:30 a 13", "sáb 9h-12h".
SPAN_RE = re.compile(
    r"\s*([a-záéíóú]{2,})\.?\s+([0-9]{1,2})(?:[:.h]([0-9]{2}))?\s*h?\s*(?:-|–|a|to)\s*"
    r"([0-9]{1,2})(?:[:.h]([0-9]{2}))?\s*h?\s*"
)
_PLAIN = str.maketrans("áéíóú", "aeiou")
FULL_NAMES = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo",
)  # fmt: skip


class SpanError(ValueError):
    """A weekly interval that cannot be read."""


def parse_span(text: str) -> WeeklySpan:
    """Read "mon 08:30-13:00", "lun 08:30-13:00" or "lunes 8-13" into a weekly span."""
    match = SPAN_RE.fullmatch(text.lower())
    if match is None:
        raise SpanError(
            f"{text!r} is not like 'mon 08:30-13:00' or 'lunes 8-13' (a day, then hours)"
        )
    word = match.group(1).translate(_PLAIN)
    day = word[:3] if any(full.startswith(word) for full in FULL_NAMES) else word
    if day in DAYS:
        weekday = DAYS.index(day)
    elif day in SPANISH:
        weekday = SPANISH.index(day)
    else:
        raise SpanError(f"{text!r}: unknown day {match.group(1)!r} (lunes..domingo, mon..sun)")
    h1, m1, h2, m2 = (int(match.group(i) or 0) for i in range(2, 6))
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise SpanError(f"{text!r}: hours are 00:00 to 23:59")
    start, end = time(h1, m1), time(h2, m2)
    if start >= end:
        raise SpanError(f"{text!r}: the end must be after the start")
    return WeeklySpan(weekday, start, end)


def parse_spans(texts: Iterable[str]) -> list[WeeklySpan]:
    """Read several spans, refusing overlaps on the same day."""
    spans = sorted((parse_span(t) for t in texts), key=lambda s: (s.weekday, s.start))
    for a, b in itertools.pairwise(spans):
        if a.weekday == b.weekday and b.start < a.end:
            raise SpanError(f"{format_span(a)} and {format_span(b)} overlap")
    return spans


def format_span(span: WeeklySpan) -> str:
    """Write a weekly interval as "mon 08:30-13:00"."""
    return format_hours(span.weekday, span.start, span.end)


def format_hours(weekday: int, start: time, end: time) -> str:
    """Write a weekday and times as "mon 08:30-13:00"."""
    return f"{DAYS[weekday]} {start:%H:%M}-{end:%H:%M}"


def mask_document(number: str | None) -> str | None:
    """A document number with all but its last four characters hidden."""
    if not number:
        return None
    return "****" + number[-4:]


def first_name(name: str | None) -> str | None:
    """The first word of a name."""
    if not name or not name.strip():
        return None
    return name.strip().split()[0]
