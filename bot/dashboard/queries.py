"""The dashboard's figures for a period and a scope: counts only, never personal data.

The daily and regional figures are `core.reports.report` (the admin API's /reports), so
the page, its CSV/JSON and the Ministry's tools agree. Added here: the same figures by
service, group events, hand-off tickets waiting, waits by region and service, and the
citizens' savings.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core import daily, reports
from core.db import Database
from core.models import (
    EventStatus,
    GroupEvent,
    HandoffRequest,
    Service,
    Tenant,
)
from core.reports import Figures, Report
from core.states import TicketStatus
from core.uow import UnitOfWork

IN_PERSON_EVENT = 100  # participants of an in-person training event (the case study's figure)
WAITS_SHOWN = 15  # region and service pairs listed, longest waits first
MAX_TICKETS_READ = 10_000
_T = TypeVar("_T")


@dataclass
class ServiceRow:
    """A service's appointments in the period."""

    code: str
    name: str
    virtual: bool
    booked: int = 0
    attended: int = 0
    no_shows: int = 0
    cancelled: int = 0


@dataclass
class WaitRow:
    """Median days from booking to appointment for one region and service."""

    region: str
    service: str
    median_days: float
    bookings: int


@dataclass
class EventFigures:
    """Group (training) events held in the period."""

    held: int = 0
    registrations: int = 0
    confirmed: int = 0
    seats: int = 0
    # Events of the period already started and their confirmed participants: the bot does
    # not record who came, so attendance is the confirmed seats of events already held.
    past: int = 0
    attended: int = 0

    @property
    def average(self) -> float | None:
        """Confirmed participants per event held, None without events."""
        return round(self.confirmed / self.held, 1) if self.held else None

    def to_json(self) -> dict[str, int | float | None]:
        """The figures as the JSON and CSV exports give them."""
        return {
            "events": self.held,
            "registrations": self.registrations,
            "confirmed": self.confirmed,
            "seats": self.seats,
            "events_past": self.past,
            "attendance": self.attended,
            "participants_per_event": self.average,
            "in_person_reference": IN_PERSON_EVENT,
        }


@dataclass
class Tickets:
    """Hand-off tickets waiting for a person now."""

    waiting: int = 0
    median_minutes: float | None = None
    oldest_minutes: float | None = None


@dataclass
class Savings:
    """What attentions without a trip saved citizens (the case study's estimate)."""

    attentions: int = 0
    soles: float = 0.0
    hours: float = 0.0


@dataclass
class Overview:
    """Everything the page shows for one period and scope."""

    report: Report
    tenants: dict[int, Tenant]
    services: list[ServiceRow] = field(default_factory=list)
    waits: list[WaitRow] = field(default_factory=list)
    events: EventFigures = field(default_factory=EventFigures)
    tickets: Tickets = field(default_factory=Tickets)
    savings: Savings = field(default_factory=Savings)

    @property
    def totals(self) -> Figures:
        """The figures of the whole scope and period."""
        return self.report.totals


async def by_service(
    uow: UnitOfWork, tenant_id: int | None, period: daily.Span, lang: str
) -> list[ServiceRow]:
    """Booked, attended, no-shows and cancellations per service (booking services only)."""
    rows: dict[int, ServiceRow] = {}
    for service in await uow.session.scalars(select(Service).order_by(Service.code)):
        name = str(service.names.get(lang) or service.names.get("es") or service.code)
        rows[service.id] = ServiceRow(service.code, name, bool(service.virtual))
    source = daily.counts(uow.dialect, period, tenant_id)
    query = select(
        source.c.service_id, *(func.sum(source.c[name]) for name in daily.COUNTS)
    ).group_by(source.c.service_id)
    for sid, booked, attended, no_shows, cancelled in await uow.session.execute(query):
        row = rows[sid]
        row.booked += int(booked)
        row.attended += int(attended)
        row.no_shows += int(no_shows)
        row.cancelled += int(cancelled)
    return [r for r in rows.values() if r.booked or r.attended or r.no_shows or r.cancelled]


async def waits(
    uow: UnitOfWork,
    tenant_id: int | None,
    period: daily.Span,
    tenants: dict[int, Tenant],
    services: dict[int, str],
) -> list[WaitRow]:
    """Median days from booking to appointment per region and service, longest first.

    First bookings of the period only (a reschedule keeps the first booking's wait).
    """
    return _wait_rows(await _found_waits(uow, tenant_id, period), tenants, services)


async def _found_waits(
    uow: UnitOfWork, tenant_id: int | None, period: daily.Span
) -> dict[tuple[int, int], tuple[float, int]]:
    source = daily.waits(uow.dialect, period, tenant_id)
    (found,) = await daily.medians(uow, source, (("tenant_id", "service_id"),))
    return {(tid, sid): (minutes / 1440, n) for (tid, sid), (minutes, n) in found.items()}


def _wait_rows(
    found: dict[tuple[int, int], tuple[float, int]],
    tenants: dict[int, Tenant],
    services: dict[int, str],
) -> list[WaitRow]:
    rows = [
        WaitRow(
            tenants[tid].name if tid in tenants else str(tid),
            services.get(sid, str(sid)),
            round(median, 1),
            n,
        )
        for (tid, sid), (median, n) in found.items()
    ]
    rows.sort(key=lambda r: (-r.median_days, r.region, r.service))
    return rows[:WAITS_SHOWN]


async def group_events(
    uow: UnitOfWork,
    tenant_id: int | None,
    first: datetime,
    after: datetime,
    registrations: int,
    now: datetime,
) -> EventFigures:
    """Scheduled group events of the period, their seats, registrations and attendance."""
    started = GroupEvent.start_utc <= now
    query = select(
        func.count(),
        func.coalesce(func.sum(GroupEvent.confirmed_count), 0),
        func.coalesce(func.sum(GroupEvent.seats), 0),
        func.count().filter(started),
        func.coalesce(func.sum(GroupEvent.confirmed_count).filter(started), 0),
    ).where(
        GroupEvent.start_utc >= first,
        GroupEvent.start_utc < after,
        GroupEvent.status == EventStatus.SCHEDULED,
    )
    if tenant_id is not None:
        query = query.where(GroupEvent.tenant_id == tenant_id)
    row = (await uow.session.execute(query)).one()
    return EventFigures(
        held=int(row[0]),
        registrations=registrations,
        confirmed=int(row[1]),
        seats=int(row[2]),
        past=int(row[3]),
        attended=int(row[4]),
    )


async def waiting_tickets(uow: UnitOfWork, tenant_id: int | None, now: datetime) -> Tickets:
    """Hand-off tickets still open (waiting for a person) and how long they have waited."""
    query = select(HandoffRequest.created_at).where(HandoffRequest.status == TicketStatus.OPEN)
    if tenant_id is not None:
        query = query.where(HandoffRequest.tenant_id == tenant_id)
    query = query.order_by(HandoffRequest.created_at).limit(MAX_TICKETS_READ)
    created = list(await uow.session.scalars(query))
    minutes = [max(0.0, (now - at).total_seconds() / 60) for at in created]
    if not minutes:
        return Tickets()
    return Tickets(
        waiting=len(minutes),
        median_minutes=round(statistics.median(minutes), 1),
        oldest_minutes=round(max(minutes), 1),
    )


def savings(services: list[ServiceRow], soles: float, hours: float) -> Savings:
    """Attended appointments of services given without a trip, valued per attention."""
    attentions = sum(row.attended for row in services if row.virtual)
    return Savings(attentions, round(attentions * soles, 2), round(attentions * hours, 1))


async def overview(
    db: Database,
    *,
    tenant_id: int | None,
    start: date,
    end: date,
    tz: ZoneInfo,
    now: datetime,
    lang: str,
    saving_soles: float,
    saving_hours: float,
) -> Overview:
    """Every figure of the page for one scope (a region, or the country with None).

    On PostgreSQL the five groups of statements (the report's counts, its median waits, the
    services, the waits per service, the rest) run at once, each on its own pooled
    connection; SQLite runs them one after the other.
    """
    period = daily.span(start, end, tz)
    first, after = period.first, period.after

    async def one(job: Callable[[UnitOfWork], Awaitable[_T]]) -> _T:
        async with db.uow() as uow:
            return await job(uow)

    async def rest(
        uow: UnitOfWork,
    ) -> tuple[dict[int, Tenant], dict[int, str], EventFigures, Tickets]:
        tenants = {t.id: t for t in await uow.session.scalars(select(Tenant).order_by(Tenant.code))}
        names = {
            sid: str(names.get(lang) or names.get("es") or code)
            for sid, code, names in await uow.session.execute(
                select(Service.id, Service.code, Service.names)
            )
        }
        events = await group_events(uow, tenant_id, first, after, 0, now)
        tickets = await waiting_tickets(uow, tenant_id, now)
        uow.session.expunge_all()  # the regions are read after this session ends
        return tenants, names, events, tickets

    def the_counts(uow: UnitOfWork) -> Awaitable[Report]:
        return reports.counts(uow, tenant_id=tenant_id, period=period)

    def the_medians(uow: UnitOfWork) -> Awaitable[reports.Medians]:
        return reports.wait_medians(uow, tenant_id=tenant_id, period=period)

    def the_services(uow: UnitOfWork) -> Awaitable[list[ServiceRow]]:
        return by_service(uow, tenant_id, period, lang)

    def the_waits(uow: UnitOfWork) -> Awaitable[dict[tuple[int, int], tuple[float, int]]]:
        return _found_waits(uow, tenant_id, period)

    if db.is_postgres:
        found, waited, services, medians, (tenants, names, events, tickets) = await asyncio.gather(
            one(the_counts), one(the_medians), one(the_services), one(the_waits), one(rest)
        )
    else:
        async with db.uow() as uow:
            found = await the_counts(uow)
            waited = await the_medians(uow)
            services = await the_services(uow)
            medians = await the_waits(uow)
            tenants, names, events, tickets = await rest(uow)
    reports.add_medians(found, waited)
    events.registrations = found.totals.event_registrations
    return Overview(
        report=found,
        tenants=tenants,
        services=services,
        waits=_wait_rows(medians, tenants, names),
        events=events,
        tickets=tickets,
        savings=savings(services, saving_soles, saving_hours),
    )
