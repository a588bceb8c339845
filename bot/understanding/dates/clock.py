"""Clock times in date phrases: the hour, the minutes and what the words around them say."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.understanding.dates.lexicon import HourKind, Lexicon, Period


def hour24(hour: int, kind: HourKind | None, period: Period | None) -> int:
    """Return the 24-hour hour of a said hour, its marker and the part of the day around it."""
    if kind is None and period is not None:
        kind = "am" if period == "morning" else "pm"
    if kind == "pm":
        return hour + 12 if 1 <= hour < 12 else hour
    if kind == "night":
        return 0 if hour == 12 else (hour + 12 if hour < 12 else hour)
    if kind == "am":
        return 0 if hour == 12 else hour
    if kind == "h24":
        return hour
    return hour + 12 if 1 <= hour <= 6 else hour  # office hours: "a las 4" is 16:00


@dataclass(slots=True)
class Clock:
    """A clock time as said: hour, minute and what marks it (am, pm, night, 24-hour)."""

    hour: int
    minute: int
    kind: HourKind | None


def clock_from(m: re.Match[str], lex: Lexicon) -> Clock | None:
    """Turn a time match into hour/minute/marker, or None if it is not a valid clock time."""
    g = m.groupdict()
    hour, minute = int(g["h"]), 0
    if g.get("m"):
        minute = int(g["m"])
    elif g.get("m2"):
        minute = int(g["m2"])
    elif g.get("frac"):
        minute = 30 if g["frac"] in ("media", "half") else 15
    elif g.get("less") or g.get("lessm"):
        minute = 60 - (15 if g.get("less") else int(g["lessm"]))
        hour -= 1
    kind: HourKind | None = None
    if g.get("suf"):
        suffix = re.sub(r"\s+", " ", g["suf"].strip())
        for pattern, suffix_kind in lex.suffix_kinds:
            if pattern.search(suffix):
                kind = suffix_kind
                break
    if not (0 <= hour <= 24 and 0 <= minute <= 59) or (kind in ("pm", "am") and hour > 12):
        if kind == "pm" and 12 < hour <= 23:  # "15 de la tarde": already 24-hour
            return Clock(hour, minute, "h24")
        return None
    return Clock(hour % 24, minute, kind)
