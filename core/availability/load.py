"""A region's offer of a service (one query) and the `Schedule` snapshot of it (one more)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    String,
    Time,
    and_,
    bindparam,
    cast,
    literal_column,
    null,
    or_,
    select,
    union_all,
)

from core import catalog
from core.availability.slots import Rules, Schedule, SpecialistDay, local_days
from core.errors import ServiceNotOffered
from core.models.appointments import Appointment, AppointmentStatus
from core.models.calendar import Closure, ClosureKind, WeeklyBreak, WorkingHours
from core.models.catalog import Service, ServiceKind, Tenant, TenantService
from core.models.roster import Specialist, SpecialistService
from core.types import UTCDateTime
from core.uow import UnitOfWork


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


def _none(type_: Any) -> Any:
    """A typed NULL, so that the rows of every kind fit the union's columns."""
    return cast(null(), type_)


_NO_WEEKLY = (_none(Integer), _none(Time), _none(Time))
_NO_CLOSURE = (_none(Date), _none(Date), _none(String))
_NO_BUSY = (_none(UTCDateTime()), _none(UTCDateTime()))
# Everything a schedule needs in one round trip, one kind of row per SELECT: the competent
# specialists with their weekly hours (the outer join keeps specialists without hours), their
# breaks, the closures (holidays, the region's, the specialists' days off) and their booked
# time. Columns: specialist, kind, weekday, start, end, first day, last day, reason, busy from,
# busy until.
_SCHEDULE = union_all(
    _COMPETENT.add_columns(
        literal_column("'hours'", String),
        WorkingHours.weekday,
        WorkingHours.start_time,
        WorkingHours.end_time,
        *_NO_CLOSURE,
        *_NO_BUSY,
    ).outerjoin(WorkingHours, WorkingHours.specialist_id == Specialist.id),
    select(
        WeeklyBreak.specialist_id,
        literal_column("'break'", String),
        WeeklyBreak.weekday,
        WeeklyBreak.start_time,
        WeeklyBreak.end_time,
        *_NO_CLOSURE,
        *_NO_BUSY,
    ).where(WeeklyBreak.specialist_id.in_(_COMPETENT)),
    select(
        Closure.specialist_id,
        Closure.kind,
        *_NO_WEEKLY,
        Closure.starts_on,
        Closure.ends_on,
        Closure.reason,
        *_NO_BUSY,
    ).where(
        Closure.starts_on <= bindparam("last_day"),
        Closure.ends_on >= bindparam("first_day"),
        or_(
            and_(Closure.kind == ClosureKind.HOLIDAY, Closure.tenant_id.is_(None)),
            and_(Closure.kind == ClosureKind.REGIONAL, Closure.tenant_id == bindparam("tenant_id")),
            and_(Closure.kind == ClosureKind.DAY_OFF, Closure.specialist_id.in_(_COMPETENT)),
        ),
    ),
    # A margin of one day on both sides of the window (in `since` and `until`): an
    # appointment of another service reaching into the window (long duration, buffer) is seen.
    select(
        Appointment.specialist_id,
        literal_column("'busy'", String),
        *_NO_WEEKLY,
        *_NO_CLOSURE,
        Appointment.start_utc,
        Appointment.busy_until,
    ).where(
        Appointment.specialist_id.in_(_COMPETENT),
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.start_utc < bindparam("until"),
        Appointment.busy_until > bindparam("since"),
    ),
)


# A region, one of its services and the rules of its offer: what `lookup_offer` reads, or what
# a caller holding a recent copy of the catalogue passes instead (`bot/flows/catalogue.py`).
Offer = tuple[Tenant, Service, Rules]


def open_offer(tenant: Tenant, service: Service, tenant_service: TenantService | None) -> Offer:
    """The offer of a bookable service in a region, or ServiceNotOffered (no database)."""
    return tenant, service, _open_offer(tenant, service, tenant_service)[1]


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


def _note_closure(
    schedule: Schedule,
    specialists: dict[int, SpecialistDay],
    row: tuple[Any, ...],
    window: tuple[date, date],
) -> None:
    """Note one closure row's days inside the window as a holiday, closed or a day off."""
    specialist_id, kind, *_, starts_on, ends_on, reason, _, _ = row
    first_day, last_day = window
    day = max(starts_on, first_day)
    while day <= min(ends_on, last_day):
        if kind == ClosureKind.HOLIDAY:
            schedule.holidays[day] = reason
        elif kind == ClosureKind.REGIONAL:
            schedule.closed[day] = reason
        elif specialist_id in specialists:
            specialists[specialist_id].days_off.add(day)
        day += timedelta(days=1)


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
    days = local_days(start, end, tz)
    rows = await uow.session.execute(
        _SCHEDULE,
        {
            "tenant_id": tenant.id,
            "service_id": service.id,
            "first_day": days[0],
            "last_day": days[-1],
            "since": start - timedelta(days=1),
            "until": end + timedelta(days=1),
        },
    )
    specialists: dict[int, SpecialistDay] = {}
    closures, busy = [], []
    for row in rows:
        spec_id, kind, weekday, begin, finish, *_ = row
        if kind == "busy":
            busy.append(row)
        elif kind not in ("hours", "break"):
            closures.append(row)
        else:
            spec = specialists.get(spec_id)
            if spec is None:
                spec = specialists[spec_id] = SpecialistDay(spec_id)
            if weekday is not None:
                weekly = spec.hours if kind == "hours" else spec.breaks
                weekly.setdefault(weekday, []).append((begin, finish))
    schedule = Schedule(
        tz=tz, rules=rules, specialists=sorted(specialists.values(), key=lambda s: s.id)
    )
    for row in closures:
        _note_closure(schedule, specialists, tuple(row), (days[0], days[-1]))
    for spec_id, *_, busy_from, busy_to in busy:
        specialists[spec_id].busy.append((busy_from, busy_to))
    for spec in schedule.specialists:
        for spans in spec.hours.values():
            spans.sort()
        spec.sort_busy()
    return schedule
