"""Free slots: weekly hours and breaks, closures and holidays, notice, horizon, buffers.

The computation is a pure function over a `Schedule` snapshot (`compute_slots`), so it is
tested exhaustively without a database; `load_schedule` reads that snapshot in a handful
of queries. The slot grid of a specialist starts at the start of each working interval
and advances by duration + buffer, so a buffer never leaves an unusable gap.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

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
    if earliest >= latest:
        return []
    found: list[Slot] = []
    for day in local_days(earliest, latest, schedule.tz):
        if day in schedule.holidays or day in schedule.closed:
            continue
        weekday = day.weekday()
        by_start: dict[datetime, list[int]] = defaultdict(list)
        for spec in schedule.specialists:
            if day in spec.days_off:
                continue
            breaks = [
                (_local(day, a, schedule.tz), _local(day, b, schedule.tz))
                for a, b in spec.breaks.get(weekday, ())
            ]
            for work_from, work_to in spec.hours.get(weekday, ()):
                slot = _local(day, work_from, schedule.tz)
                stop = _local(day, work_to, schedule.tz)
                while slot + rules.duration <= stop:
                    slot_end = slot + rules.duration
                    if (
                        earliest <= slot < latest
                        and not _overlaps_any(breaks, slot, slot_end)
                        and (ignore_busy or not spec.is_busy(slot, slot_end + rules.buffer))
                    ):
                        by_start[slot].append(spec.id)
                    slot += rules.step
        for slot_start in sorted(by_start):
            found.append(
                Slot(slot_start, slot_start + rules.duration, tuple(sorted(by_start[slot_start])))
            )
            if limit is not None and len(found) >= limit:
                return found
    return found


async def tenant_service_rules(
    uow: UnitOfWork, tenant: Tenant, service: Service
) -> tuple[TenantService, Rules]:
    """The region's enabled offer of a bookable service, or ServiceNotOffered."""
    tenant_service = await uow.session.scalar(
        select(TenantService).where(
            TenantService.tenant_id == tenant.id, TenantService.service_id == service.id
        )
    )
    if (
        tenant_service is None
        or not tenant_service.enabled
        or not tenant.active
        or service.kind != ServiceKind.APPOINTMENT
    ):
        raise ServiceNotOffered(f"{service.code} is not offered in {tenant.code}")
    return tenant_service, Rules.of(tenant_service, service)


async def load_schedule(
    uow: UnitOfWork,
    tenant: Tenant,
    service: Service,
    rules: Rules,
    start: datetime,
    end: datetime,
) -> Schedule:
    """Read hours, breaks, closures and booked time of competent specialists for [start, end)."""
    session = uow.session
    tz = ZoneInfo(tenant.timezone)
    days = local_days(start, end, tz)
    first_day, last_day = days[0], days[-1]
    spec_ids = list(
        await session.scalars(
            select(Specialist.id)
            .join(SpecialistService, SpecialistService.specialist_id == Specialist.id)
            .where(
                Specialist.tenant_id == tenant.id,
                Specialist.active.is_(True),
                SpecialistService.service_id == service.id,
            )
            .order_by(Specialist.id)
        )
    )
    specialists = {sid: SpecialistDay(sid) for sid in spec_ids}
    schedule = Schedule(tz=tz, rules=rules, specialists=list(specialists.values()))
    if not spec_ids:
        return schedule
    for row in await session.execute(
        select(
            WorkingHours.specialist_id,
            WorkingHours.weekday,
            WorkingHours.start_time,
            WorkingHours.end_time,
        ).where(WorkingHours.specialist_id.in_(spec_ids))
    ):
        specialists[row[0]].hours.setdefault(row[1], []).append((row[2], row[3]))
    for row in await session.execute(
        select(
            WeeklyBreak.specialist_id,
            WeeklyBreak.weekday,
            WeeklyBreak.start_time,
            WeeklyBreak.end_time,
        ).where(WeeklyBreak.specialist_id.in_(spec_ids))
    ):
        specialists[row[0]].breaks.setdefault(row[1], []).append((row[2], row[3]))
    for spec in specialists.values():
        for spans in spec.hours.values():
            spans.sort()
    closures = await session.execute(
        select(
            Closure.kind, Closure.specialist_id, Closure.starts_on, Closure.ends_on, Closure.reason
        ).where(
            Closure.starts_on <= last_day,
            Closure.ends_on >= first_day,
            or_(
                and_(Closure.kind == "holiday", Closure.tenant_id.is_(None)),
                and_(Closure.kind == "regional", Closure.tenant_id == tenant.id),
                and_(Closure.kind == "day_off", Closure.specialist_id.in_(spec_ids)),
            ),
        )
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
    # Busy time is read with a margin of one day on both sides so that an appointment of
    # another service reaching into the window (long duration, buffer) is still seen.
    busy_rows = await session.execute(
        select(Appointment.specialist_id, Appointment.start_utc, Appointment.busy_until).where(
            Appointment.specialist_id.in_(spec_ids),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_utc < end + timedelta(days=1),
            Appointment.busy_until > start - timedelta(days=1),
        )
    )
    for specialist_id, busy_from, busy_to in busy_rows:
        specialists[specialist_id].busy.append((busy_from, busy_to))
    for spec in specialists.values():
        spec.sort_busy()
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
    tenant = await catalog.get_tenant(uow, tenant_code)
    service = await catalog.get_service(uow, service_code)
    _, rules = await tenant_service_rules(uow, tenant, service)
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
    tenant = await catalog.get_tenant(uow, tenant_code)
    service = await catalog.get_service(uow, service_code)
    _, rules = await tenant_service_rules(uow, tenant, service)
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
    for span in (timedelta(days=2), timedelta(days=7), rules.horizon):
        if cursor >= horizon_end:
            break
        window_end = min(cursor + span, horizon_end)
        schedule = await load_schedule(uow, tenant, service, rules, cursor, window_end)
        found += compute_slots(schedule, cursor, window_end, now, limit=count - len(found))
        if len(found) >= count:
            break
        cursor = window_end
    return found
