"""National and regional figures per day: requests, appointments, events, waits, satisfaction.

Each figure is one GROUP BY query over (region, local day); days are local to the
configured time zone. Appointment counts and waits come from the daily rollup the
database keeps (`core.daily`, migration 0011) when that zone is UTC-5 as Peru's is, and
from the appointments themselves otherwise. PostgreSQL converts with the zone itself;
SQLite has no zone database, so the zone's UTC offset at the start of the period is used
(exact for Peru, which keeps no daylight saving time).

Definitions:
- requests: conversations started that day (a person's first message on a channel), counted
  for the region the conversation remembers; sandbox conversations (channel "try") are left out.
- appointments: appointments booked that day (by creation time).
- attended, no_shows: appointments that took place that day with that outcome.
- cancelled: appointments cancelled that day.
- event_registrations: registrations to the region's group events made that day.
- median_wait_hours: for appointments booked that day (first bookings, not reschedules), the
  median of start minus booking time, in whole minutes (as the rollup keeps them). It stands
  in for "time to the first free slot": the data holds when people booked and for when, not
  which slots they were offered.
- satisfaction: mean and number of survey scores (1-5) given that day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select

from core import daily
from core.models import (
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
    satisfaction_sum: int = 0
    satisfaction_n: int = 0
    # Hours, from the histogram of waits (`core.daily.medians`); not summed by `add`.
    wait_median: float | None = None

    @property
    def median_wait_hours(self) -> float | None:
        """Median hours from booking to the appointment, None without bookings."""
        return None if self.wait_median is None else round(self.wait_median, 1)

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


Medians = list[dict[tuple[Any, ...], tuple[float, int]]]  # daily.medians: one dict per set


class PeriodError(ValueError):
    """A period that ends before it starts or is too long."""


class _Tally:
    """Collects figures by (region, day) from the grouped queries."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int | None, date], Figures] = {}

    def cell(self, tenant_id: int | None, day: str | date) -> Figures:
        key = (tenant_id, daily.as_day(day))
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
    period = checked_period(start, end, tz)
    found = await counts(uow, tenant_id=tenant_id, period=period)
    add_medians(found, await wait_medians(uow, tenant_id=tenant_id, period=period))
    return found


def checked_period(start: date, end: date, tz: ZoneInfo) -> daily.Span:
    """The period from `start` to `end` in `tz`, or PeriodError if it is not one a report takes."""
    if end < start:
        raise PeriodError("the period ends before it starts")
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError(f"a report covers at most {MAX_DAYS} days")
    return daily.span(start, end, tz)


async def counts(uow: UnitOfWork, *, tenant_id: int | None, period: daily.Span) -> Report:
    """The report's figures but the median waits (`add_medians` adds those)."""
    start, end = period.start, period.end
    first, after = period.first, period.after
    dialect = uow.dialect
    tally = _Tally()

    def day(column: Any) -> ColumnElement[Any]:
        return daily.local_day(column, dialect, period)

    def scoped(query: AnySelect, column: Any) -> AnySelect:
        return query if tenant_id is None else query.where(column == tenant_id)

    # requests: conversations remember the region code (the `region` column), not its id.
    region = Conversation.region
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

    # booked, attended, no-shows and cancelled per region and day (the rollup's rows).
    source = daily.counts(dialect, period, tenant_id)
    sums = [func.sum(source.c[name]) for name in daily.COUNTS]
    query = (
        select(source.c.tenant_id, source.c.day, *sums)
        .group_by(source.c.tenant_id, source.c.day)
        .having(sum(sums[1:], sums[0]) > 0)
    )
    for tid, when, booked, attended, no_shows, cancelled in await _rows(uow, query):
        cell = tally.cell(tid, when)
        cell.appointments += int(booked)
        cell.attended += int(attended)
        cell.no_shows += int(no_shows)
        cell.cancelled += int(cancelled)

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

    return Report(start=start, end=end, days=days, regions=regions, totals=totals)


async def wait_medians(uow: UnitOfWork, *, tenant_id: int | None, period: daily.Span) -> Medians:
    """Median waits of first bookings per region, per day and in total (whole minutes)."""
    waits = daily.waits(uow.dialect, period, tenant_id)
    return await daily.medians(uow, waits, (("tenant_id",), ("day",), ()))


def add_medians(report: Report, medians: Medians) -> None:
    """Put `wait_medians`' figures (in hours) into the report's regions, days and totals."""
    by_region, by_day, overall = medians
    for (tid,), (minutes, _) in by_region.items():
        report.regions.setdefault(tid, Figures()).wait_median = minutes / 60
    for (when,), (minutes, _) in by_day.items():
        if daily.as_day(when) in report.days:
            report.days[daily.as_day(when)].wait_median = minutes / 60
    for minutes, _ in overall.values():
        report.totals.wait_median = minutes / 60
