"""`read_date`: the day, time, part of the day and urgency in a free-text phrase.

The folded text is rewritten step by step, each step blanking what it read (keeping the text's
length, so positions stay comparable and "the first mentioned" can be told apart): fillers,
numeric dates, document numbers, urgency, clock times, parts of the day, then the day phrases,
most specific first. Each day phrase read becomes a candidate ranked by `DateRank`; the rules
are in docs/conversation.md ("Dates").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final, NamedTuple, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.understanding.dates.calendar import (
    WeekdayMode,
    absolute_date,
    add_months,
    dateparser_date,
    day_of_month,
    weekday_date,
)
from bot.understanding.dates.clock import Clock, clock_from, hour24
from bot.understanding.dates.english import ENGLISH
from bot.understanding.dates.lexicon import Lexicon, Period, c
from bot.understanding.dates.spanish import SPANISH

NATIONAL_TIME_ZONE: Final = "America/Lima"
"""The time zone of a phrase read without one: the national default of core/settings.py."""

try:
    _NATIONAL: dt.tzinfo = ZoneInfo(NATIONAL_TIME_ZONE)
except ZoneInfoNotFoundError:  # no tz database: Peru has kept UTC-5 without DST since 1994
    _NATIONAL = dt.timezone(dt.timedelta(hours=-5), NATIONAL_TIME_ZONE)

_MAX_CHARS: Final = 300


class DateRank(IntEnum):
    """How specific a kind of day phrase is: the lowest rank read wins, then the first said."""

    CALENDAR = 0  # a calendar date: "20 de marzo", "22/3", "2027-03-22"
    COUNTED = 1  # days counted from today or the anchor: "dentro de 5 días", "un día después"
    DAY_NUMBER = 2  # a day of the month: "el 18", "viernes 19"
    WEEKDAY = 3  # "el lunes", "el próximo miércoles"
    RELATIVE = 4  # "mañana", "hoy", "esta tarde"
    WEEK_OR_MONTH = 5  # "la próxima semana", "esta semana", "el fin de semana", "el próximo mes"
    MONTH = 6  # a month alone: "en abril"
    BARE_NUMBER = 7  # a number alone: "18"


class _Candidate(NamedTuple):
    rank: DateRank
    position: int
    day: dt.date


@dataclass(frozen=True, slots=True)
class DateReading:
    """What a phrase says about a day, a clock time, a part of the day and urgency."""

    date: dt.date | None = None
    time: dt.time | None = None
    period: Period | None = None
    asap: bool = False

    def to_json(self) -> dict[str, str | bool | None]:
        """Return the reading as the JSON object `psv parse-date` prints."""
        return {
            "date": self.date.isoformat() if self.date is not None else None,
            "time": self.time.strftime("%H:%M") if self.time is not None else None,
            "period": self.period,
            "asap": self.asap,
        }


# Numeric dates are language-neutral: d/m, d-m, d/m/y, d-m-y, d.m.y and ISO y-m-d.
_NUMERIC_DATE = c(
    r"(?<![\d/.:\-])(?P<d>\d{1,2})(?P<sep>[/.\-])(?P<m>\d{1,2})"
    r"(?:(?P=sep)(?P<y>\d{4}|\d{2}))?(?![\d/:\-]|\.\d)"
)
_ISO_DATE = c(r"(?<![\d/.:\-])(?P<y>20\d{2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d/.:\-])")
_DOCUMENT_NUMBER = c(r"(?<![\d/:])\d(?:[ .\-]?\d){6,}(?![\d/:])")
_ORDINAL = c(r"\b(\d{1,2})(?:ro|er|o|°|st|nd|rd|th)\b|\b(\d{1,2})°")
_BARE_DAY = c(r"\s*(?P<dn>\d{1,2})\s*")
_PUNCT = c(r"[^\w/:.\-°]+")


def _first_of_next_month(today: dt.date) -> dt.date:
    year, month = add_months(today, 1)
    return dt.date(year, month, 1)


_Span: TypeAlias = tuple[Callable[[Lexicon], re.Pattern[str]], Callable[[dt.date], dt.date]]
# Spans of days that name their first day; searched, in this order, on what is left.
_SPANS: Final[tuple[_Span, ...]] = (
    (lambda lex: lex.next_week, lambda today: today + dt.timedelta(days=7 - today.weekday())),
    (lambda lex: lex.this_week, lambda today: today),
    (lambda lex: lex.weekend, lambda today: today + dt.timedelta(days=max(0, 5 - today.weekday()))),
    (lambda lex: lex.next_month, _first_of_next_month),
)


def _fold(text: str) -> str:
    """Lower-case, drop accents ("ñ" becomes "n"), blank punctuation but date and time marks."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " " + " ".join(_PUNCT.sub(" ", bare).split()) + " "


def _same_length(m: re.Match[str], replacement: str = "") -> str:
    return replacement.ljust(len(m.group(0)))


def _cut(
    pattern: re.Pattern[str], s: str, use: Callable[[re.Match[str]], bool] = lambda _: True
) -> str:
    """Blank every match that `use` accepts; rejected matches stay in the text."""
    return pattern.sub(lambda m: _same_length(m) if use(m) else m.group(0), s)


def _lexicon_for(lang: str) -> Lexicon:
    return ENGLISH if lang.casefold().split("-")[0].split("_")[0] == "en" else SPANISH


_DayRead: TypeAlias = tuple[DateRank, dt.date] | None


@dataclass
class _Phrase:
    """One phrase being read: the text left to read and what has been read of it so far."""

    lex: Lexicon
    today: dt.date
    now_time: dt.time
    s: str
    candidates: list[_Candidate] = field(default_factory=list)
    clocks: list[tuple[int, Clock]] = field(default_factory=list)
    wanted: dt.time | None = None

    def add(self, rank: DateRank, position: int, day: dt.date) -> None:
        self.candidates.append(_Candidate(rank, position, day))

    def read_all(self, pattern: re.Pattern[str], read: Callable[[re.Match[str]], _DayRead]) -> None:
        """Blank every match of the pattern, keeping as a candidate the day each one names."""

        def use(m: re.Match[str]) -> bool:
            found = read(m)
            if found is not None:
                self.add(found[0], m.start(), found[1])
            return True

        self.s = _cut(pattern, self.s, use)

    def numeric(self, m: re.Match[str]) -> bool:
        day, month, year = int(m["d"]), int(m["m"]), m["y"]
        if m.groupdict().get("sep") == "." and year is None:
            return False  # "9.45" is a time, not 9 of a 45th month
        if month > 12 and day <= 12:
            day, month = month, day
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return False
        phrase = f"{day}/{month}" + (f"/{year}" if year else "")
        found = absolute_date(phrase, self.lex.dateparser_lang, self.today, year is not None)
        if found is not None:
            self.add(DateRank.CALENDAR, m.start(), found)
        return True

    def clock(self, m: re.Match[str], before: str | None = None) -> bool:
        """Keep a clock time; a bare one (`before` is the text it is read in) needs a mark."""
        g = m.groupdict()
        if before is not None:
            if not (g.get("sep") or g.get("frac") or g.get("suf")):
                return False
            if self.lex.not_before_bare_time.search(before, 0, m.start()):
                return False
        found = clock_from(m, self.lex)
        if found is None:
            return False
        self.clocks.append((m.start(), found))
        return True

    def month_date(self, m: re.Match[str]) -> _DayRead:
        has_year = m["y"] is not None
        phrase = f"{int(m['d'])} {m['mon']}" + (f" {m['y']}" if has_year else "")
        found = absolute_date(phrase, self.lex.dateparser_lang, self.today, has_year)
        return None if found is None else (DateRank.CALENDAR, found)

    def offset(self, m: re.Match[str]) -> _DayRead:
        unit = self.lex.offset_units[m["u"][0]]
        phrase = f"{self.lex.offset_word} {int(m['n'])} {unit}"
        found = dateparser_date(phrase, self.lex.dateparser_lang, self.today)
        return None if found is None else (DateRank.COUNTED, found)

    def day_number(self, m: re.Match[str]) -> _DayRead:
        found = day_of_month(self.today, int(m["dn"]), 1 if m.groupdict().get("nm") else 0)
        return None if found is None else (DateRank.DAY_NUMBER, found)

    def weekday(self, m: re.Match[str]) -> _DayRead:
        if m["dn"] is not None:  # "viernes 19": the day number wins
            found = day_of_month(self.today, int(m["dn"]))
            if found is not None:
                return DateRank.DAY_NUMBER, found
        g = m.groupdict()
        mode: WeekdayMode
        if g.get("nextweek"):
            mode = "next_week"
        elif g.get("thisweek"):
            mode = "this_week"
        elif g.get("nxt") or g.get("nxt2"):
            mode = "next"
        else:
            mode = "coming"
        wd = self.lex.weekdays[m["wd"]]
        return DateRank.WEEKDAY, weekday_date(self.today, self.now_time, wd, mode, self.wanted)


def _counted_from(anchor: dt.date, sign: int) -> Callable[[re.Match[str]], _DayRead]:
    def read(m: re.Match[str]) -> _DayRead:
        days = int(m.groupdict().get("n") or 1) if sign else 0
        return DateRank.COUNTED, anchor + dt.timedelta(days=sign * days)

    return read


def _days_from(today: dt.date, days: int) -> Callable[[re.Match[str]], _DayRead]:
    def read(_: re.Match[str]) -> _DayRead:
        return DateRank.RELATIVE, today + dt.timedelta(days=days)

    return read


def read_date(
    text: str,
    now: dt.datetime,
    lang: str = "es",
    *,
    tz: dt.tzinfo | None = None,
    assume_day_for_time: bool = False,
    anchor: dt.date | None = None,
) -> DateReading:
    """Read the day, time, part of the day and urgency in a free-text phrase, relative to `now`.

    `tz` is the time zone "today" is taken in (the tenant's; the national one when None).
    `anchor` is the day being changed, if any: «el mismo día», «un día después» count from it,
    and with `assume_day_for_time` a bare time («a las 11») falls on it when it is ahead.
    """
    lex = _lexicon_for(lang)
    local = now.astimezone(tz or _NATIONAL) if now.tzinfo is not None else now
    today = local.date()
    p = _Phrase(lex, today, local.time(), _cut(lex.fillers, _fold(text[:_MAX_CHARS])))

    # Numeric dates first: a well-formed d-m-y must survive the document-number filter below.
    p.s = _cut(_ISO_DATE, p.s, p.numeric)
    p.s = _cut(_NUMERIC_DATE, p.s, p.numeric)
    p.s = _cut(_DOCUMENT_NUMBER, p.s)
    p.s = _ORDINAL.sub(lambda m: _same_length(m, m.group(1) or m.group(2)), p.s)
    asap = lex.asap.search(p.s) is not None  # before "el primero disponible" becomes "el 1"
    p.s = _cut(lex.asap, p.s)
    numbers = lex.numbers
    p.s = lex.numbers_re.sub(
        lambda m: _same_length(m, str(numbers[" ".join(m.group(0).split())])), p.s
    )

    # Clock times, before parts of the day ("de la mañana") and day words ("mañana").
    p.s = _cut(lex.time_prefixed, p.s, p.clock)
    before = p.s
    p.s = _cut(lex.time_bare, p.s, lambda m: p.clock(m, before))
    if found_midnight := lex.midnight.search(p.s):  # before parts of the day: no "noche" here
        p.clocks.append((found_midnight.start(), Clock(0, 0, "h24")))
        p.s = _cut(lex.midnight, p.s)

    parts: list[tuple[int, Period]] = []
    for pattern, part, day_offset in lex.periods:
        for m in pattern.finditer(p.s):
            parts.append((m.start(), part))
            if day_offset is not None:
                p.add(DateRank.RELATIVE, m.start(), today + dt.timedelta(days=day_offset))
        p.s = _cut(pattern, p.s)
    period = min(parts)[1] if parts else None
    if found_noon := lex.noon.search(p.s):  # after parts of the day: "después del mediodía"
        p.clocks.append((found_noon.start(), Clock(12, 0, "h24")))
        p.s = _cut(lex.noon, p.s)
    if p.clocks:
        first = min(p.clocks, key=lambda clock: clock[0])[1]
        p.wanted = dt.time(hour24(first.hour, first.kind, period) % 24, first.minute)

    # Day phrases, most specific first; calendar dates go to dateparser as a clean span.
    readers: list[tuple[re.Pattern[str], Callable[[re.Match[str]], _DayRead]]] = [
        (lex.day_month, p.month_date),
        (lex.month_day, p.month_date),
    ]
    if anchor is not None:
        readers += [(pattern, _counted_from(anchor, sign)) for pattern, sign in lex.anchored]
    readers += [(lex.offset, p.offset), (lex.day_of_month, p.day_number)]
    readers += [(lex.weekday_re, p.weekday)]
    for pattern, read in readers:
        p.read_all(pattern, read)
    for pattern, days in lex.relative_days:
        p.read_all(pattern, _days_from(today, days))
    for span, first_day in _SPANS:
        if hit := span(lex).search(p.s):
            p.add(DateRank.WEEK_OR_MONTH, hit.start(), first_day(today))
    if hit := lex.month_alone.search(p.s):
        month = lex.months[hit["mon"]]
        if month == today.month:
            p.add(DateRank.MONTH, hit.start(), today)
        else:
            year = today.year + (1 if month < today.month else 0)
            p.add(DateRank.MONTH, hit.start(), dt.date(year, month, 1))
    if not p.candidates and (hit := _BARE_DAY.fullmatch(p.s)):
        found = day_of_month(today, int(hit["dn"]))
        if found is not None:
            p.add(DateRank.BARE_NUMBER, hit.start(), found)

    day = min(p.candidates).day if p.candidates else None
    if day is None and p.wanted is not None and assume_day_for_time:
        if anchor is not None and anchor > today:
            day = anchor  # «a las 11» while changing a booking's time: the same day
        else:
            day = today if p.wanted > p.now_time else today + dt.timedelta(days=1)
    return DateReading(
        date=day, time=p.wanted, period=None if p.wanted is not None else period, asap=asap
    )
