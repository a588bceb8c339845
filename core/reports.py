"""National and regional figures per day: requests, appointments, events, waits, satisfaction.

Each figure is one GROUP BY query over (region, local day); days are local to the
configured time zone. PostgreSQL converts with the zone itself; SQLite has no zone
database, so the zone's UTC offset at the start of the period is used (exact for Peru,
which keeps no daylight saving time).

Definitions:
- requests: conversations started that day (a person's first message on a channel), counted
  for the region the conversation remembers; sandbox conversations (channel "try") are left out.
- appointments: appointments booked that day (by creation time).
- attended, no_shows: appointments that took place that day with that outcome.
- cancelled: appointments cancelled that day.
- event_registrations: registrations to the region's group events made that day.
- median_wait_hours: for appointments booked that day (first bookings, not reschedules), the
  median of start minus booking time. It stands in for "time to the first free slot": the
  data holds when people booked and for when, not which slots they were offered.
- satisfaction: mean and number of survey scores (1-5) given that day.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select, tuple_

from core.models import (
    Appointment,
    AppointmentStatus,
    Conversation,
    EventRegistration,
    GroupEvent,
    SurveyResponse,
    Tenant,
)
from core.uow import UnitOfWork

AnySelect = Select[*tuple[Any, ...]]
MAX_DAYS = 366
SANDBOX_CHANNEL = "try"


@dataclass
class Figures:
    """The figures of one day (or a total) for one region or several."""

    requests: int = 0
    appointments: int = 0
    attended: int = 0
    no_shows: int = 0
    cancelled: int = 0
    event_registrations: int = 0
    waits_hours: list[float] = field(default_factory=list)
    satisfaction_sum: int = 0
    satisfaction_n: int = 0
    # On PostgreSQL the median is computed by the database (the values stay there).
    wait_median: float | None = None

    @property
    def median_wait_hours(self) -> float | None:
        """Median hours from booking to the appointment, None without bookings."""
        if self.wait_median is not None:
            return round(self.wait_median, 1)
        if not self.waits_hours:
            return None
        return round(statistics.median(self.waits_hours), 1)

    @property
    def satisfaction_mean(self) -> float | None:
        """Mean survey score, None without answers."""
        if not self.satisfaction_n:
            return None
        return round(self.satisfaction_sum / self.satisfaction_n, 2)

    def add(self, other: Figures) -> None:
        """Add another set of figures to this one."""
        self.requests += other.requests
        self.appointments += other.appointments
        self.attended += other.attended
        self.no_shows += other.no_shows
        self.cancelled += other.cancelled
        self.event_registrations += other.event_registrations
        self.waits_hours += other.waits_hours
        self.satisfaction_sum += other.satisfaction_sum
        self.satisfaction_n += other.satisfaction_n

    def to_json(self) -> dict[str, Any]:
        """The public form of the figures (no personal data in any of them)."""
        return {
            "requests": self.requests,
            "appointments": self.appointments,
            "attended": self.attended,
            "no_shows": self.no_shows,
            "cancelled": self.cancelled,
            "event_registrations": self.event_registrations,
            "median_wait_hours": self.median_wait_hours,
            "satisfaction": {"mean": self.satisfaction_mean, "n": self.satisfaction_n},
        }


@dataclass
class Report:
    """Figures per day, per region over the period, and in total."""

    start: date
    end: date
    days: dict[date, Figures]
    regions: dict[int, Figures]
    totals: Figures


class PeriodError(ValueError):
    """A period that ends before it starts or is too long."""


def _bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    first = datetime.combine(start, time(), tz).astimezone(UTC)
    after = datetime.combine(end + timedelta(days=1), time(), tz).astimezone(UTC)
    return first, after


def _local_day(column: Any, dialect: str, tz: ZoneInfo, at: datetime) -> ColumnElement[Any]:
    if dialect == "postgresql":
        # A date, not to_char text: formatting every row costs more than the grouping.
        return func.date(func.timezone(tz.key, column))
    offset = at.astimezone(tz).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    return func.strftime("%Y-%m-%d", column, f"{minutes:+d} minutes")


class _Tally:
    """Collects figures by (region, day) from the grouped queries."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int | None, date], Figures] = {}

    def cell(self, tenant_id: int | None, day: str | date) -> Figures:
        key = (tenant_id, day if isinstance(day, date) else date.fromisoformat(day))
        found = self.cells.get(key)
        if found is None:
            found = self.cells[key] = Figures()
        return found


async def _rows(uow: UnitOfWork, query: AnySelect) -> Iterable[Any]:
    return list(await uow.session.execute(query))


async def report(
    uow: UnitOfWork,
    *,
    tenant_id: int | None,
    start: date,
    end: date,
    tz: ZoneInfo,
) -> Report:
    """Figures of one region (or every region with None) for each local day of a period."""
    if end < start:
        raise PeriodError("the period ends before it starts")
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError(f"a report covers at most {MAX_DAYS} days")
    first, after = _bounds(start, end, tz)
    dialect = uow.dialect
    tally = _Tally()

    def day(column: Any) -> ColumnElement[Any]:
        return _local_day(column, dialect, tz, first)

    def scoped(query: AnySelect, column: Any) -> AnySelect:
        return query if tenant_id is None else query.where(column == tenant_id)

    async def appointments_by_day(column: Any, *conditions: Any) -> Iterable[Any]:
        # (tenant id, local day of `column`, how many) of the appointments meeting `conditions`.
        when = day(column)
        query = select(Appointment.tenant_id, when, func.count()).where(*conditions)
        grouped = query.group_by(Appointment.tenant_id, when)
        return await _rows(uow, scoped(grouped, Appointment.tenant_id))

    # requests: conversations remember the region code, not its id.
    region = Conversation.memory["region"].as_string()
    codes = {code: tid for tid, code in await _rows(uow, select(Tenant.id, Tenant.code))}
    started = day(Conversation.created_at)
    query = (
        select(region, started, func.count())
        .where(
            Conversation.created_at >= first,
            Conversation.created_at < after,
            Conversation.channel != SANDBOX_CHANNEL,
        )
        .group_by(region, started)
    )
    if tenant_id is not None:
        own = [code for code, tid in codes.items() if tid == tenant_id]
        query = query.where(region.in_(own))
    for code, when, n in await _rows(uow, query):
        tally.cell(codes.get(code), when).requests += n

    booked = await appointments_by_day(
        Appointment.created_at, Appointment.created_at >= first, Appointment.created_at < after
    )
    for tid, when, n in booked:
        tally.cell(tid, when).appointments += n

    held = day(Appointment.start_utc)
    query = scoped(
        select(Appointment.tenant_id, held, Appointment.status, func.count())
        .where(
            Appointment.start_utc >= first,
            Appointment.start_utc < after,
            Appointment.status.in_([AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW]),
        )
        .group_by(Appointment.tenant_id, held, Appointment.status),
        Appointment.tenant_id,
    )
    for tid, when, status, n in await _rows(uow, query):
        cell = tally.cell(tid, when)
        if status == AppointmentStatus.ATTENDED:
            cell.attended += n
        else:
            cell.no_shows += n

    dropped = await appointments_by_day(
        Appointment.cancelled_at,
        Appointment.status == AppointmentStatus.CANCELLED,
        Appointment.cancelled_at >= first,
        Appointment.cancelled_at < after,
    )
    for tid, when, n in dropped:
        tally.cell(tid, when).cancelled += n

    registered = day(EventRegistration.created_at)
    query = scoped(
        select(GroupEvent.tenant_id, registered, func.count())
        .join(GroupEvent, GroupEvent.id == EventRegistration.event_id)
        .where(EventRegistration.created_at >= first, EventRegistration.created_at < after)
        .group_by(GroupEvent.tenant_id, registered),
        GroupEvent.tenant_id,
    )
    for tid, when, n in await _rows(uow, query):
        tally.cell(tid, when).event_registrations += n

    # The median needs the values: PostgreSQL computes it where they are (one grouped
    # query for every cell, region, day and the total); SQLite reads two timestamps per
    # first booking of the period.
    medians: list[tuple[int | None, date | None, float]] = []
    booked_first: Iterable[Any] = []
    if dialect == "postgresql":
        medians = await _pg_medians(uow, tenant_id, first, after, tz)
    else:
        query = scoped(
            select(Appointment.tenant_id, Appointment.created_at, Appointment.start_utc).where(
                Appointment.created_at >= first,
                Appointment.created_at < after,
                Appointment.rescheduled_from_id.is_(None),
            ),
            Appointment.tenant_id,
        )
        booked_first = await _rows(uow, query)
    for tid, created, starts in booked_first:
        hours = max(0.0, (starts - created).total_seconds() / 3600)
        tally.cell(tid, created.astimezone(tz).date()).waits_hours.append(hours)

    answered = day(SurveyResponse.created_at)
    query = scoped(
        select(SurveyResponse.tenant_id, answered, func.sum(SurveyResponse.score), func.count())
        .where(SurveyResponse.created_at >= first, SurveyResponse.created_at < after)
        .group_by(SurveyResponse.tenant_id, answered),
        SurveyResponse.tenant_id,
    )
    for tid, when, total, n in await _rows(uow, query):
        cell = tally.cell(tid, when)
        cell.satisfaction_sum += int(total or 0)
        cell.satisfaction_n += n

    days = {start + timedelta(days=i): Figures() for i in range((end - start).days + 1)}
    regions: dict[int, Figures] = {}
    totals = Figures()
    for (tid, when), figures in sorted(
        tally.cells.items(), key=lambda item: (item[0][1], item[0][0] or 0)
    ):
        if when in days:
            days[when].add(figures)
        if tid is not None:
            regions.setdefault(tid, Figures()).add(figures)
        totals.add(figures)
    for tid, when, median in medians:
        if tid is None and when is None:
            totals.wait_median = median
        elif when is None and tid is not None:
            regions.setdefault(tid, Figures()).wait_median = median
        elif tid is None and when in days:
            days[when].wait_median = median
    return Report(start=start, end=end, days=days, regions=regions, totals=totals)


async def _pg_medians(
    uow: UnitOfWork, tenant_id: int | None, first: datetime, after: datetime, tz: ZoneInfo
) -> list[tuple[int | None, date | None, float]]:
    """Median wait hours per region, per local day and in total (PostgreSQL only)."""
    hours = func.greatest(
        0.0, func.extract("epoch", Appointment.start_utc - Appointment.created_at) / 3600
    )
    day = func.date(func.timezone(tz.key, Appointment.created_at))
    median = func.percentile_cont(0.5).within_group(hours)
    query = (
        select(Appointment.tenant_id, day, median)
        .where(
            Appointment.created_at >= first,
            Appointment.created_at < after,
            Appointment.rescheduled_from_id.is_(None),
        )
        .group_by(func.grouping_sets(Appointment.tenant_id, day, tuple_()))
    )
    if tenant_id is not None:
        query = query.where(Appointment.tenant_id == tenant_id)
    found: list[tuple[int | None, date | None, float]] = []
    for tid, when, value in await _rows(uow, query):
        if value is not None:
            found.append((tid, when, float(value)))
    return found
