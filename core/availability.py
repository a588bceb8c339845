"""Free slots: weekly hours and breaks, closures and holidays, notice, horizon, buffers.

The computation is a pure function over a `Schedule` snapshot (`compute_slots`), so it is
tested exhaustively without a database; `load_schedule` reads that snapshot in three
queries. The slot grid of a specialist starts at the start of each working interval
and advances by duration + buffer, so a buffer never leaves an unusable gap.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, literal, or_, select, union_all

from core import catalog
from core.errors import ServiceNotOffered
from core.models import (
    Appointment,
    AppointmentStatus,
    Closure,
    Service,
    ServiceKind,
    Specialist,
    SpecialistService,
    Tenant,
    TenantService,
    WeeklyBreak,
    WorkingHours,
)
from core.uow import UnitOfWork

Span = tuple[datetime, datetime]
LocalSpan = tuple[time, time]

# The first window `earliest_slots` searches; later ones grow to a week, then the horizon.
FIRST_WINDOW = timedelta(days=2)


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
    ignore_busy: bool = False,
) -> list[Slot]:
    """Free slots starting in [start, end), ordered by time; stops after `limit` slots."""
    rules = schedule.rules
    earliest = max(start, now + rules.min_notice)
    latest = min(end, now + rules.horizon)
    if earliest >= latest or (limit is not None and limit <= 0):
        return []
    found: list[Slot] = []
    for day in local_days(earliest, latest, schedule.tz):
        if day in schedule.holidays or day in schedule.closed:
            continue
        weekday = day.weekday()
        # Specialists mostly share office hours and lunch: one grid per distinct pattern.
        grids: dict[tuple[tuple[LocalSpan, ...], tuple[LocalSpan, ...]], list[Span]] = {}
        by_start: dict[datetime, set[int]] = defaultdict(set)
        for spec in schedule.specialists:
            hours = spec.hours.get(weekday)
            if not hours or day in spec.days_off:
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


def _open_offer(
    tenant: Tenant, service: Service, tenant_service: TenantService | None
) -> tuple[TenantService, Rules]:
    if (
        tenant_service is None
        or not tenant_service.enabled
        or not tenant.active
        or service.kind != ServiceKind.APPOINTMENT
    ):
        raise ServiceNotOffered(f"{service.code} is not offered in {tenant.code}")
    return tenant_service, Rules.of(tenant_service, service)


async def tenant_service_rules(
    uow: UnitOfWork, tenant: Tenant, service: Service
) -> tuple[TenantService, Rules]:
    """The region's enabled offer of a bookable service, or ServiceNotOffered."""
    tenant_service = await uow.session.scalar(
        select(TenantService).where(
            TenantService.tenant_id == tenant.id, TenantService.service_id == service.id
        )
    )
    return _open_offer(tenant, service, tenant_service)


# The statements of the hot paths are built once and bound per call: building one takes
# about as much Python time as running it on a warm connection.
_OFFER = (
    select(Tenant, Service, TenantService)
    .select_from(Tenant)
    .join(Service, Service.code == bindparam("service_code"))
    .outerjoin(
        TenantService,
        and_(TenantService.tenant_id == Tenant.id, TenantService.service_id == Service.id),
    )
    .where(Tenant.code == bindparam("tenant_code"))
)
_COMPETENT = (
    select(Specialist.id)
    .join(SpecialistService, SpecialistService.specialist_id == Specialist.id)
    .where(
        Specialist.tenant_id == bindparam("tenant_id"),
        Specialist.active.is_(True),
        SpecialistService.service_id == bindparam("service_id"),
    )
)
# Competent specialists with weekly hours and breaks, read from one snapshot; the outer
# join keeps specialists without hours.
_ROSTER = union_all(
    _COMPETENT.add_columns(
        literal("hours"), WorkingHours.weekday, WorkingHours.start_time, WorkingHours.end_time
    ).outerjoin(WorkingHours, WorkingHours.specialist_id == Specialist.id),
    select(
        WeeklyBreak.specialist_id,
        literal("break"),
        WeeklyBreak.weekday,
        WeeklyBreak.start_time,
        WeeklyBreak.end_time,
    ).where(WeeklyBreak.specialist_id.in_(_COMPETENT)),
)
_CLOSURES = select(
    Closure.kind, Closure.specialist_id, Closure.starts_on, Closure.ends_on, Closure.reason
).where(
    Closure.starts_on <= bindparam("last_day"),
    Closure.ends_on >= bindparam("first_day"),
    or_(
        and_(Closure.kind == "holiday", Closure.tenant_id.is_(None)),
        and_(Closure.kind == "regional", Closure.tenant_id == bindparam("tenant_id")),
        and_(
            Closure.kind == "day_off",
            Closure.specialist_id.in_(bindparam("specialist_ids", expanding=True)),
        ),
    ),
)
_BUSY = select(Appointment.specialist_id, Appointment.start_utc, Appointment.busy_until).where(
    Appointment.specialist_id.in_(bindparam("specialist_ids", expanding=True)),
    Appointment.status == AppointmentStatus.BOOKED,
    Appointment.start_utc < bindparam("until"),
    Appointment.busy_until > bindparam("since"),
)


async def lookup_offer(
    uow: UnitOfWork, tenant_code: str, service_code: str
) -> tuple[Tenant, Service, Rules]:
    """Region, service and booking rules by code in one query; NotFound or ServiceNotOffered."""
    params = {"tenant_code": tenant_code, "service_code": service_code}
    row = (await uow.session.execute(_OFFER, params)).one_or_none()
    if row is None:  # an unknown code: the catalogue's lookups raise the right NotFound
        tenant = await catalog.get_tenant(uow, tenant_code)
        service = await catalog.get_service(uow, service_code)
        _, rules = await tenant_service_rules(uow, tenant, service)
        return tenant, service, rules
    tenant, service, tenant_service = row
    return tenant, service, _open_offer(tenant, service, tenant_service)[1]


async def _read_roster(uow: UnitOfWork, tenant_id: int, service_id: int) -> list[SpecialistDay]:
    """The region's active specialists competent for the service, with hours and breaks."""
    rows = await uow.session.execute(_ROSTER, {"tenant_id": tenant_id, "service_id": service_id})
    specialists: dict[int, SpecialistDay] = {}
    for spec_id, kind, weekday, begin, finish in rows:
        spec = specialists.get(spec_id)
        if spec is None:
            spec = specialists[spec_id] = SpecialistDay(spec_id)
        if weekday is not None:
            weekly = spec.hours if kind == "hours" else spec.breaks
            weekly.setdefault(weekday, []).append((begin, finish))
    for spec in specialists.values():
        for spans in spec.hours.values():
            spans.sort()
    return sorted(specialists.values(), key=lambda spec: spec.id)


async def _read_closures(
    uow: UnitOfWork, schedule: Schedule, tenant_id: int, first_day: date, last_day: date
) -> None:
    """Note holidays, regional closures and the specialists' days off in the schedule."""
    specialists = {spec.id: spec for spec in schedule.specialists}
    closures = await uow.session.execute(
        _CLOSURES,
        {
            "first_day": first_day,
            "last_day": last_day,
            "tenant_id": tenant_id,
            "specialist_ids": list(specialists),
        },
    )
    for kind, specialist_id, starts_on, ends_on, reason in closures:
        day = max(starts_on, first_day)
        while day <= min(ends_on, last_day):
            if kind == "holiday":
                schedule.holidays[day] = reason
            elif kind == "regional":
                schedule.closed[day] = reason
            elif specialist_id is not None:
                specialists[specialist_id].days_off.add(day)
            day += timedelta(days=1)


async def _read_busy(
    uow: UnitOfWork, specialists: list[SpecialistDay], start: datetime, end: datetime
) -> None:
    """Load the booked time of the specialists around [start, end), sorted for `is_busy`."""
    by_id = {spec.id: spec for spec in specialists}
    # A margin of one day on both sides: an appointment of another service reaching into
    # the window (long duration, buffer) is still seen.
    rows = await uow.session.execute(
        _BUSY,
        {
            "specialist_ids": list(by_id),
            "since": start - timedelta(days=1),
            "until": end + timedelta(days=1),
        },
    )
    for specialist_id, busy_from, busy_to in rows:
        by_id[specialist_id].busy.append((busy_from, busy_to))
    for spec in specialists:
        spec.sort_busy()


async def load_schedule(
    uow: UnitOfWork,
    tenant: Tenant,
    service: Service,
    rules: Rules,
    start: datetime,
    end: datetime,
) -> Schedule:
    """Read hours, breaks, closures and booked time of competent specialists for [start, end)."""
    tz = ZoneInfo(tenant.timezone)
    specialists = await _read_roster(uow, tenant.id, service.id)
    schedule = Schedule(tz=tz, rules=rules, specialists=specialists)
    if not specialists:
        return schedule
    days = local_days(start, end, tz)
    await _read_closures(uow, schedule, tenant.id, days[0], days[-1])
    await _read_busy(uow, specialists, start, end)
    return schedule


async def free_slots(
    uow: UnitOfWork,
    tenant_code: str,
    service_code: str,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    limit: int | None = None,
) -> list[Slot]:
    """Free slots of a region's service starting in [start, end) (aware datetimes)."""
    tenant, service, rules = await lookup_offer(uow, tenant_code, service_code)
    window_start = max(start, now + rules.min_notice)
    window_end = min(end, now + rules.horizon)
    if window_start >= window_end:
        return []
    schedule = await load_schedule(uow, tenant, service, rules, window_start, window_end)
    return compute_slots(schedule, window_start, window_end, now, limit=limit)


async def first_free_slots(
    uow: UnitOfWork,
    tenant_code: str,
    service_code: str,
    *,
    now: datetime,
    count: int = 1,
    after: datetime | None = None,
) -> list[Slot]:
    """The earliest `count` free slots (from `after`, default now) within the horizon."""
    tenant, service, rules = await lookup_offer(uow, tenant_code, service_code)
    return await earliest_slots(uow, tenant, service, rules, now=now, count=count, after=after)


async def earliest_slots(
    uow: UnitOfWork,
    tenant: Tenant,
    service: Service,
    rules: Rules,
    *,
    now: datetime,
    count: int,
    after: datetime | None = None,
) -> list[Slot]:
    """Search forward in growing windows (2, 7, then the rest of the horizon) for free slots."""
    cursor = max(after or now, now + rules.min_notice)
    horizon_end = now + rules.horizon
    found: list[Slot] = []
    for span in (FIRST_WINDOW, timedelta(days=7), rules.horizon):
        if cursor >= horizon_end:
            break
        window_end = min(cursor + span, horizon_end)
        schedule = await load_schedule(uow, tenant, service, rules, cursor, window_end)
        found += compute_slots(schedule, cursor, window_end, now, limit=count - len(found))
        if len(found) >= count:
            break
        cursor = window_end
    return found


@dataclass(frozen=True)
class DaySlots:
    """The free slots of one local day; when there are none, the reason code and detail."""

    slots: list[Slot]
    reason: str | None = None
    detail: str = ""


async def day_slots(
    uow: UnitOfWork, tenant_code: str, service_code: str, day: date, *, now: datetime
) -> DaySlots:
    """The free slots of one local day, or why there are none.

    Reasons: "holiday" (detail: its name), "closed" (detail: the reason given), "too_soon"
    (the day is past or inside the notice), "too_far", "no_slots" (fully booked or
    nobody works that day).
    """
    tenant, service, rules = await lookup_offer(uow, tenant_code, service_code)
    tz = ZoneInfo(tenant.timezone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    schedule = await load_schedule(uow, tenant, service, rules, start, end)
    slots = compute_slots(schedule, start, end, now)
    if slots:
        return DaySlots(slots)
    if day in schedule.holidays:
        return DaySlots([], "holiday", schedule.holidays[day])
    if day in schedule.closed:
        return DaySlots([], "closed", schedule.closed[day])
    if end <= now + rules.min_notice:
        return DaySlots([], "too_soon")
    if start >= now + rules.horizon:
        return DaySlots([], "too_far")
    return DaySlots([], "no_slots")


async def next_free_days(
    uow: UnitOfWork, tenant_code: str, service_code: str, *, now: datetime, count: int = 5
) -> list[tuple[date, int]]:
    """The next local days with free slots, each with how many slots are free."""
    tenant, service, rules = await lookup_offer(uow, tenant_code, service_code)
    start, end = now + rules.min_notice, now + rules.horizon
    if start >= end:
        return []
    schedule = await load_schedule(uow, tenant, service, rules, start, end)
    per_day: dict[date, int] = {}
    for slot in compute_slots(schedule, start, end, now):
        day = slot.start.astimezone(schedule.tz).date()
        if day not in per_day and len(per_day) == count:
            break
        per_day[day] = per_day.get(day, 0) + 1
    return list(per_day.items())
