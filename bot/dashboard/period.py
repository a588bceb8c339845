"""The period picker: today, 7 days, 30 days, a calendar month, or a custom range."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from core.reports import MAX_DAYS

CHOICES = ("today", "7d", "30d", "month", "custom")
MONTH_RE = re.compile(r"(\d{4})-(\d{2})")


class PeriodError(ValueError):
    """A period the picker cannot show (with the reason)."""


@dataclass(frozen=True)
class Period:
    """A choice of the picker and the local days it covers."""

    choice: str
    start: date
    end: date

    @property
    def month(self) -> str:
        """The month as YYYY-MM (for the picker)."""
        return self.start.strftime("%Y-%m")

    def includes(self, day: date) -> bool:
        """Whether a local day is in the period."""
        return self.start <= day <= self.end


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"{name} must be a date like 2026-12-01") from None


def parse(query: Mapping[str, str], today: date) -> Period:
    """The period asked for in a query string (the last 7 days when none is)."""
    choice = query.get("period", "7d")
    if choice == "today":
        return Period(choice, today, today)
    if choice == "7d":
        return Period(choice, today - timedelta(days=6), today)
    if choice == "30d":
        return Period(choice, today - timedelta(days=29), today)
    if choice == "month":
        match = MONTH_RE.fullmatch(query.get("month", "") or today.strftime("%Y-%m"))
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise PeriodError("month must look like 2026-11")
        year, month = int(match.group(1)), int(match.group(2))
        if not 2000 <= year <= 2100:
            raise PeriodError("month must be between 2000 and 2100")
        last = calendar.monthrange(year, month)[1]
        return Period(choice, date(year, month, 1), date(year, month, last))
    if choice == "custom":
        start = _day(query.get("from", ""), "from")
        end = _day(query.get("to", ""), "to")
        if end < start:
            raise PeriodError("the range ends before it starts")
        if (end - start).days + 1 > MAX_DAYS:
            raise PeriodError(f"a range covers at most {MAX_DAYS} days")
        return Period(choice, start, end)
    raise PeriodError(f"period must be one of {', '.join(CHOICES)}")
