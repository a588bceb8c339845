"""Tenants, lines and services of the national catalogue, and the idempotent seed loader."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy import select

from core import audit
from core.errors import NotFound
from core.models import (
    Closure,
    ClosureKind,
    Line,
    Modality,
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

DATA = Path(__file__).parent / "data"

_Coded = TypeVar("_Coded", Line, Service)

# The demo roster: three people per region, Monday to Friday 08:30-17:00 with lunch 13:00-14:00
# (the ministry's office hours). Names are invented.
DEMO_ROSTER = (
    ("Ana Quispe", ("dpsc",)),
    ("Jorge Mamani", ("dpsc",)),
    ("Rosa Huamán", ("empleo",)),
)
DEMO_HOURS = ((time(8, 30), time(17, 0)),)
DEMO_BREAK = (time(13, 0), time(14, 0))


def _load(name: str) -> Any:
    with (DATA / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


async def get_tenant(uow: UnitOfWork, code: str) -> Tenant:
    """The tenant with this code, or NotFound."""
    tenant = await uow.session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None:
        raise NotFound(f"no tenant {code}", entity="tenant", code=code)
    return tenant


async def get_service(uow: UnitOfWork, code: str) -> Service:
    """The catalogue service with this code, or NotFound."""
    service = await uow.session.scalar(select(Service).where(Service.code == code))
    if service is None:
        raise NotFound(f"no service {code}", entity="service", code=code)
    return service


async def offered_services(uow: UnitOfWork, tenant_code: str) -> list[Service]:
    """The bookable services a region offers, most popular first, then by code."""
    tenant = await get_tenant(uow, tenant_code)
    rows = await uow.session.scalars(
        select(Service)
        .join(TenantService, TenantService.service_id == Service.id)
        .where(TenantService.tenant_id == tenant.id, TenantService.enabled.is_(True))
        .order_by(Service.popular_rank.is_(None), Service.popular_rank, Service.code)
    )
    return list(rows)


@dataclass
class SeedReport:
    """How many rows the seed added (zero everywhere on a second run)."""

    added: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        """Add n to the tally of `what`."""
        self.added[what] = self.added.get(what, 0) + n

    @property
    def total(self) -> int:
        """All rows added."""
        return sum(self.added.values())


def _coded(
    uow: UnitOfWork,
    known: dict[str, _Coded],
    model: type[_Coded],
    code: str,
    report: SeedReport,
    what: str,
) -> _Coded:
    """The row of `known` with this code, or a new one added to the session and counted."""
    row = known.get(code)
    if row is None:
        row = model(code=code)
        uow.session.add(row)
        known[code] = row
        report.count(what)
    return row


async def _seed_catalogue(uow: UnitOfWork, report: SeedReport) -> None:
    session = uow.session
    data = _load("services.yaml")
    lines = {line.code: line for line in await session.scalars(select(Line))}
    for item in data["lines"]:
        line = _coded(uow, lines, Line, item["code"], report, "lines")
        line.names = item["names"]
    await session.flush()
    services = {s.code: s for s in await session.scalars(select(Service))}
    for item in data["services"]:
        service = _coded(uow, services, Service, item["code"], report, "services")
        service.line_id = lines[item["line"]].id
        service.names = item["names"]
        service.descriptions = item["descriptions"]
        service.keywords = item.get("keywords", [])
        service.modality = Modality(item["modality"])
        service.kind = ServiceKind(item["kind"])
        service.virtual = bool(item.get("virtual", False))
        service.default_duration_minutes = int(item.get("default_duration_minutes", 30))
        service.asks_description = bool(item.get("asks_description", False))
        service.popular_rank = item.get("popular_rank")
        service.info_url = item.get("info_url")
    await session.flush()


async def _seed_tenants(uow: UnitOfWork, report: SeedReport) -> None:
    session = uow.session
    tenants = {t.code: t for t in await session.scalars(select(Tenant))}
    for item in _load("tenants.yaml"):
        tenant = tenants.get(item["code"])
        if tenant is None:
            tenant = Tenant(
                code=item["code"],
                name=item["name"],
                display_name=item["display_name"],
                capital=item.get("capital", ""),
                timezone=item.get("timezone", "America/Lima"),
                languages=item.get("languages", ["es"]),
                latitude=item.get("latitude"),
                longitude=item.get("longitude"),
            )
            session.add(tenant)
            report.count("tenants")
    await session.flush()
    # A region's offer is created once, then owned by its admins: never overwritten here.
    existing = {
        (tenant_id, service_id)
        for tenant_id, service_id in await session.execute(
            select(TenantService.tenant_id, TenantService.service_id)
        )
    }
    bookable = await session.scalars(
        select(Service).where(Service.kind == ServiceKind.APPOINTMENT).order_by(Service.id)
    )
    bookable_services = list(bookable)
    for tenant in await session.scalars(select(Tenant).order_by(Tenant.id)):
        for service in bookable_services:
            if (tenant.id, service.id) not in existing:
                session.add(TenantService(tenant_id=tenant.id, service_id=service.id))
                report.count("tenant_services")
    await session.flush()


async def _seed_holidays(uow: UnitOfWork, report: SeedReport) -> None:
    session = uow.session
    known = set(
        await session.scalars(
            select(Closure.starts_on).where(
                Closure.kind == ClosureKind.HOLIDAY, Closure.tenant_id.is_(None)
            )
        )
    )
    for item in _load("holidays.yaml")["holidays"]:
        day: date = item["date"]
        if day not in known:
            session.add(
                Closure(
                    kind=ClosureKind.HOLIDAY, starts_on=day, ends_on=day, reason=item["name"]["es"]
                )
            )
            report.count("holidays")
    await session.flush()


async def _seed_demo_roster(uow: UnitOfWork, report: SeedReport) -> None:
    session = uow.session
    services_by_line: dict[str, list[int]] = {}
    for service_id, line_code in await session.execute(
        select(Service.id, Line.code)
        .join(Line, Line.id == Service.line_id)
        .where(Service.kind == ServiceKind.APPOINTMENT)
    ):
        services_by_line.setdefault(line_code, []).append(service_id)
    for tenant in await session.scalars(select(Tenant).order_by(Tenant.id)):
        for n, (name, line_codes) in enumerate(DEMO_ROSTER, start=1):
            address = f"demo-{tenant.code.lower()}-{n}"
            spec = await session.scalar(
                select(Specialist).where(
                    Specialist.tenant_id == tenant.id,
                    Specialist.contact_channel == "demo",
                    Specialist.contact_address == address,
                )
            )
            if spec is not None:
                continue
            spec = Specialist(
                tenant_id=tenant.id, name=name, contact_channel="demo", contact_address=address
            )
            session.add(spec)
            await session.flush()
            report.count("specialists")
            for line_code in line_codes:
                for service_id in services_by_line.get(line_code, []):
                    session.add(SpecialistService(specialist_id=spec.id, service_id=service_id))
            for weekday in range(5):
                for start, end in DEMO_HOURS:
                    session.add(
                        WorkingHours(
                            specialist_id=spec.id, weekday=weekday, start_time=start, end_time=end
                        )
                    )
                session.add(
                    WeeklyBreak(
                        specialist_id=spec.id,
                        weekday=weekday,
                        start_time=DEMO_BREAK[0],
                        end_time=DEMO_BREAK[1],
                    )
                )
    await session.flush()


async def seed(uow: UnitOfWork, *, demo: bool = False) -> SeedReport:
    """Load the catalogue, tenants and holidays (and the demo roster); safe to run again."""
    report = SeedReport()
    await _seed_catalogue(uow, report)
    await _seed_tenants(uow, report)
    await _seed_holidays(uow, report)
    if demo:
        await _seed_demo_roster(uow, report)
    if report.total:
        await audit.record(
            uow, actor="system:seed", action="seed", entity="catalogue", after=report.added
        )
    return report


async def nearest_tenant(uow: UnitOfWork, latitude: float, longitude: float) -> Tenant | None:
    """The active region whose capital is nearest to a shared location."""
    best: tuple[float, Tenant] | None = None
    for tenant in await uow.session.scalars(select(Tenant).where(Tenant.active.is_(True))):
        if tenant.latitude is None or tenant.longitude is None:
            continue
        distance = _haversine_km(latitude, longitude, tenant.latitude, tenant.longitude)
        if best is None or distance < best[0]:
            best = (distance, tenant)
    return best[1] if best else None


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))
