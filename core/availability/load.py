"""A region's offer of a service and the `Schedule` snapshot of it, read in three queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, literal, or_, select, union_all

from core import catalog
from core.availability.slots import Rules, Schedule, SpecialistDay, local_days
from core.errors import ServiceNotOffered
from core.models.appointments import Appointment, AppointmentStatus
from core.models.calendar import Closure, ClosureKind, WeeklyBreak, WorkingHours
from core.models.catalog import Service, ServiceKind, Tenant, TenantService
from core.models.roster import Specialist, SpecialistService
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
        and_(Closure.kind == ClosureKind.HOLIDAY, Closure.tenant_id.is_(None)),
        and_(Closure.kind == ClosureKind.REGIONAL, Closure.tenant_id == bindparam("tenant_id")),
        and_(
            Closure.kind == ClosureKind.DAY_OFF,
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
            if kind == ClosureKind.HOLIDAY:
                schedule.holidays[day] = reason
            elif kind == ClosureKind.REGIONAL:
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
