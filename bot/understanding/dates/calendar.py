"""Calendar arithmetic of date phrases: dateparser for clean spans, day numbers, weekdays."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Final, Literal

import dateparser

# Before noon a citizen naming today's weekday may still mean today; after it, next week's.
_SAME_WEEKDAY_CUTOFF: Final = dt.time(12, 0)

WeekdayMode = Literal["coming", "next", "next_week", "this_week"]
"""How a weekday was said: "el lunes", "próximo", "de la próxima semana", "de esta semana"."""


@lru_cache(maxsize=4096)
def dateparser_date(phrase: str, lang: str, base: dt.date) -> dt.date | None:
    """Parse a clean date span with dateparser in one explicit language; None if it cannot."""
    parsed = dateparser.parse(
        phrase,
        languages=[lang],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": dt.datetime.combine(base, dt.time()),
            "RETURN_AS_TIMEZONE_AWARE": False,
            "DATE_ORDER": "DMY",
            "PARSERS": ["relative-time", "absolute-time"],
        },
    )
    return parsed.date() if isinstance(parsed, dt.datetime) else None


def absolute_date(phrase: str, lang: str, today: dt.date, has_year: bool) -> dt.date | None:
    """Return the next occurrence (today included) of a calendar date without a year."""
    # dateparser's "future" excludes the relative base itself (at 00:00, "15 de marzo" asked on
    # 15 March comes back as next year), so the base is yesterday for calendar dates.
    found = dateparser_date(phrase, lang, today - dt.timedelta(days=1))
    if found is not None and not has_year and found < today:
        try:
            found = found.replace(year=found.year + 1)
        except ValueError:
            return None
    return found


def add_months(day: dt.date, months: int) -> tuple[int, int]:
    """Return (year, month) that many months after the day's month."""
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def day_of_month(today: dt.date, day: int, months_ahead: int = 0) -> dt.date | None:
    """Return the next date with that day number (this month if not past yet)."""
    if not 1 <= day <= 31:
        return None
    ahead = months_ahead if months_ahead else (1 if day < today.day else 0)
    for extra in range(13):
        year, month = add_months(today, ahead + extra)
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def weekday_date(
    today: dt.date, now_time: dt.time, weekday: int, mode: WeekdayMode, wanted: dt.time | None
) -> dt.date:
    """Return the day a weekday names, by mode (docs/conversation.md: "Dates")."""
    if mode == "next_week":
        return today + dt.timedelta(days=7 - today.weekday() + weekday)
    if mode == "this_week":
        return today + dt.timedelta(days=weekday - today.weekday())
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0:
        still_today = now_time < _SAME_WEEKDAY_CUTOFF and (wanted is None or wanted > now_time)
        if mode == "next" or not still_today:
            ahead = 7
    return today + dt.timedelta(days=ahead)
