"""Free slots as a pure function over a `Schedule` snapshot, tested without a database.

The slot grid of a specialist starts at the start of each working interval and advances by
duration + buffer, so a buffer never leaves an unusable gap.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.models import Service, TenantService

Span = tuple[datetime, datetime]
LocalSpan = tuple[time, time]


@dataclass(frozen=True)
class Slot:
    """A bookable time (UTC) and the competent specialists free for all of it."""

    start: datetime
    end: datetime
    specialist_ids: tuple[int, ...]


@dataclass(frozen=True)
class Rules:
    """A region's booking rules for one service."""

    duration: timedelta
    buffer: timedelta
    min_notice: timedelta
    horizon: timedelta

    @property
    def step(self) -> timedelta:
        """Distance between two consecutive slot starts of one specialist."""
        return self.duration + self.buffer

    @classmethod
    def of(cls, tenant_service: TenantService, service: Service) -> Rules:
        """Rules of a tenant service, falling back to the catalogue's duration."""
        minutes = tenant_service.duration_minutes or service.default_duration_minutes
        return cls(
            duration=timedelta(minutes=minutes),
            buffer=timedelta(minutes=tenant_service.buffer_minutes),
            min_notice=timedelta(minutes=tenant_service.min_notice_minutes),
            horizon=timedelta(days=tenant_service.horizon_days),
        )


@dataclass
class SpecialistDay:
    """What one specialist's weeks look like: hours and breaks by weekday, days off, busy."""

    id: int
    hours: dict[int, list[LocalSpan]] = field(default_factory=dict)
    breaks: dict[int, list[LocalSpan]] = field(default_factory=dict)
    days_off: set[date] = field(default_factory=set)
    busy: list[Span] = field(default_factory=list)
    busy_reach: list[datetime] = field(default_factory=list)

    def hours_on(self, day: date) -> list[LocalSpan]:
        """The working intervals of a local day: none on a day off or a weekday not worked."""
        return [] if day in self.days_off else self.hours.get(day.weekday(), [])

    def sort_busy(self) -> None:
        """Order busy spans by start and note how far each prefix of them reaches."""
        self.busy.sort()
        self.busy_reach = []
        reach: datetime | None = None
        for _, busy_end in self.busy:
            reach = busy_end if reach is None or busy_end > reach else reach
            self.busy_reach.append(reach)

    def is_busy(self, start: datetime, end: datetime) -> bool:
        """Whether [start, end) overlaps any busy span (O(log n) after `sort_busy`)."""
        i = bisect.bisect_left(self.busy, (end,))
        return i > 0 and self.busy_reach[i - 1] > start

    def free_starts(self, grid: list[Span]) -> list[datetime]:
        """Starts of the grid's spans that overlap no busy span (`is_busy` for each, faster).

        The grid must be sorted by start, with spans of one length, as `_day_grid` makes it.
        """
        busy, reach = self.busy, self.busy_reach
        # Spans before lo end by the grid's first start and spans from hi on start after its
        # last end: only busy[lo:hi] can overlap, so the bisection stays inside it.
        lo = bisect.bisect_right(reach, grid[0][0])
        hi = bisect.bisect_left(busy, (grid[-1][1],))
        if lo >= hi:
            return [start for start, _ in grid]
        free = []
        for start, end in grid:
            i = bisect.bisect_left(busy, (end,), lo, hi)
            if i == lo or reach[i - 1] <= start:
                free.append(start)
        return free


@dataclass
class Schedule:
    """Everything `compute_slots` needs for one tenant, service and range of days."""

    tz: ZoneInfo
    rules: Rules
    specialists: list[SpecialistDay]
    holidays: dict[date, str] = field(default_factory=dict)
    closed: dict[date, str] = field(default_factory=dict)


def _overlaps_any(spans: Iterable[Span], start: datetime, end: datetime) -> bool:
    return any(a < end and start < b for a, b in spans)


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """The local calendar days touched by [start, end)."""
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _day_grid(
    day: date,
    hours: Iterable[LocalSpan],
    breaks: Iterable[LocalSpan],
    tz: ZoneInfo,
    rules: Rules,
    earliest: datetime,
    latest: datetime,
) -> list[Span]:
    """The day's slots starting in [earliest, latest) outside breaks, sorted by start.

    Each is given as the span [start, end + buffer): the time it keeps its specialist busy.
    """
    duration, buffer, step = rules.duration, rules.buffer, rules.step
    off = [(_local(day, a, tz), _local(day, b, tz)) for a, b in breaks]
    grid: list[Span] = []
    for work_from, work_to in hours:
        slot = _local(day, work_from, tz)
        stop = _local(day, work_to, tz)
        while slot + duration <= stop:
            slot_end = slot + duration
            if earliest <= slot < latest and not _overlaps_any(off, slot, slot_end):
                grid.append((slot, slot_end + buffer))
            slot += step
    grid.sort()
    return grid


def compute_slots(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    limit: int | None = None,
    days: int | None = None,
    ignore_busy: bool = False,
) -> list[Slot]:
    """Free slots starting in [start, end), ordered by time; stops after `limit` slots, or
    after the slots of `days` local days that have any."""
    rules = schedule.rules
    earliest = max(start, now + rules.min_notice)
    latest = min(end, now + rules.horizon)
    if earliest >= latest or (limit is not None and limit <= 0):
        return []
    found: list[Slot] = []
    days_found = 0
    for day in local_days(earliest, latest, schedule.tz):
        if day in schedule.holidays or day in schedule.closed:
            continue
        weekday = day.weekday()
        # Specialists mostly share office hours and lunch: one grid per distinct pattern.
        grids: dict[tuple[tuple[LocalSpan, ...], tuple[LocalSpan, ...]], list[Span]] = {}
        by_start: dict[datetime, set[int]] = defaultdict(set)
        for spec in schedule.specialists:
            hours = spec.hours_on(day)
            if not hours:
                continue
            pattern = (tuple(hours), tuple(spec.breaks.get(weekday, ())))
            grid = grids.get(pattern)
            if grid is None:
                grid = grids[pattern] = _day_grid(
                    day, pattern[0], pattern[1], schedule.tz, rules, earliest, latest
                )
            if not grid:
                continue
            for slot in [s for s, _ in grid] if ignore_busy else spec.free_starts(grid):
                by_start[slot].add(spec.id)  # a set: overlapping intervals of one person
        for slot_start in sorted(by_start):
            found.append(
                Slot(slot_start, slot_start + rules.duration, tuple(sorted(by_start[slot_start])))
            )
            if limit is not None and len(found) >= limit:
                return found
        days_found += 1 if by_start else 0
        if days is not None and days_found >= days:
            return found
    return found


def free_at(schedule: Schedule, start: datetime) -> list[int]:
    """Specialists free for [start, start + duration), whatever their own slot grid.

    For a time already promised to a citizen (reassignment): the colleague's hours must
    cover it, with no break, day off, holiday, closure or appointment (and buffer) in it.
    """
    rules, tz = schedule.rules, schedule.tz
    end = start + rules.duration
    day = start.astimezone(tz).date()
    if day in schedule.holidays or day in schedule.closed:
        return []
    weekday = day.weekday()
    free = []
    for spec in schedule.specialists:
        if day in spec.days_off:
            continue
        hours = [(_local(day, a, tz), _local(day, b, tz)) for a, b in spec.hours.get(weekday, [])]
        if not any(a <= start and end <= b for a, b in hours):
            continue
        off = [(_local(day, a, tz), _local(day, b, tz)) for a, b in spec.breaks.get(weekday, [])]
        if _overlaps_any(off, start, end) or spec.is_busy(start, end + rules.buffer):
            continue
        free.append(spec.id)
    return free
