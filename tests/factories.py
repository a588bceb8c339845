"""Small builders for test data on top of the seeded catalogue."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core import catalog, citizens, events
from core.models import (
    Citizen,
    Closure,
    DocumentType,
    GroupEvent,
    Specialist,
    SpecialistService,
    TenantService,
    WeeklyBreak,
    WorkingHours,
)
from core.uow import UnitOfWork

LIMA = ZoneInfo("America/Lima")
# Tuesday 1 December 2026, 09:00 in Lima. The 8th and 9th are national holidays.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=LIMA).astimezone(UTC)
OFFICE = ((time(8, 30), time(17, 0)),)
LUNCH = (time(13, 0), time(14, 0))
_numbers = itertools.count(1)


def lima(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An aware UTC datetime from a Lima wall-clock time (minutes may run past 59)."""
    start = datetime(year, month, day, hour, tzinfo=LIMA)
    return (start + timedelta(minutes=minute)).astimezone(UTC)


def valid_dni(seed: int) -> str:
    """A distinct 8-digit DNI for each seed (DNIs carry no mandatory check digit)."""
    return f"{40000000 + seed:08d}"


async def add_specialist(
    uow: UnitOfWork,
    tenant_code: str = "PE-ARE",
    services: Sequence[str] = ("consultas-laborales",),
    *,
    name: str | None = None,
    hours: Iterable[tuple[time, time]] = OFFICE,
    lunch: tuple[time, time] | None = LUNCH,
    weekdays: Iterable[int] = range(5),
) -> Specialist:
    """A specialist of a region, competent for `services`, working `hours` on `weekdays`."""
    tenant = await catalog.get_tenant(uow, tenant_code)
    n = next(_numbers)
    spec = Specialist(
        tenant_id=tenant.id,
        name=name or f"Especialista {n}",
        contact_channel="telegram",
        contact_address=str(900000 + n),
    )
    uow.session.add(spec)
    await uow.session.flush()
    for code in services:
        service = await catalog.get_service(uow, code)
        uow.session.add(SpecialistService(specialist_id=spec.id, service_id=service.id))
    hours = list(hours)
    for weekday in weekdays:
        for start, end in hours:
            uow.session.add(
                WorkingHours(specialist_id=spec.id, weekday=weekday, start_time=start, end_time=end)
            )
        if lunch is not None:
            uow.session.add(
                WeeklyBreak(
                    specialist_id=spec.id, weekday=weekday, start_time=lunch[0], end_time=lunch[1]
                )
            )
    await uow.session.flush()
    return spec


async def add_citizen(uow: UnitOfWork, name: str = "Lucía Quispe") -> Citizen:
    """A new citizen identified by a fresh DNI."""
    return await citizens.identify(uow, DocumentType.DNI, valid_dni(next(_numbers)), name=name)


async def add_closure(
    uow: UnitOfWork,
    kind: str,
    day: date,
    *,
    tenant_code: str | None = None,
    specialist: Specialist | None = None,
    until: date | None = None,
) -> Closure:
    """A regional closure or a specialist's day off."""
    tenant_id = (await catalog.get_tenant(uow, tenant_code)).id if tenant_code else None
    closure = Closure(
        kind=kind,
        tenant_id=tenant_id,
        specialist_id=specialist.id if specialist else None,
        starts_on=day,
        ends_on=until or day,
        reason="prueba",
    )
    uow.session.add(closure)
    await uow.session.flush()
    return closure


async def offer(
    uow: UnitOfWork, tenant_code: str, service_code: str, **rules: object
) -> TenantService:
    """Change a region's rules for a service (enabled, duration, notice, horizon, buffer)."""
    tenant = await catalog.get_tenant(uow, tenant_code)
    service = await catalog.get_service(uow, service_code)
    tenant_service = await uow.session.scalar(
        select(TenantService).where(
            TenantService.tenant_id == tenant.id, TenantService.service_id == service.id
        )
    )
    assert tenant_service is not None
    for key, value in rules.items():
        setattr(tenant_service, key, value)
    await uow.session.flush()
    return tenant_service


async def add_event(
    uow: UnitOfWork,
    tenant_code: str = "PE-ARE",
    *,
    seats: int = 10,
    title: str = "Derechos laborales básicos",
) -> GroupEvent:
    """A 90-minute training event of a region on Thursday 10 December 2026 at 10:00 (Lima)."""
    return await events.create_event(
        uow,
        tenant_code=tenant_code,
        service_code="capacitacion-laboral",
        title=title,
        start=lima(2026, 12, 10, 10),
        duration_minutes=90,
        seats=seats,
        by="admin:test",
    )
