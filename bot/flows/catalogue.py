"""The catalogue as the flows see it: regions, services, what each region offers, which flow
versions are published, read once per process every few seconds instead of on every turn.

Four statements refresh the whole snapshot at most every `MAX_AGE_S` seconds, so a change made
by another process (`psv-admin`, another `psv inbox`) shows up within that age. A change this
process writes through the ORM (the admin API, a test) drops the snapshot at once: the session
hooks below call `invalidate` when a region, service, offer or flow version is written.

The rows are detached copies: read their columns, never their relationships (`lazy="raise"`)
and never add them to a session.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from core.availability import Offer, open_offer
from core.errors import NotFound, ServiceNotOffered
from core.models import FlowVersion, Service, Tenant, TenantService
from core.models.catalog import ServiceKind
from core.states import FlowStatus
from core.uow import UnitOfWork

MAX_AGE_S = 10.0
_WATCHED = (Tenant, Service, TenantService, FlowVersion)


@dataclass
class Snapshot:
    """One read of the catalogue of one database."""

    read_at: float
    tenants: dict[str, Tenant]
    services: dict[str, Service]
    offered: dict[str, list[Service]]  # region code -> its enabled services, most popular first
    bookable: list[Service]  # every appointment service, most popular first
    versions: dict[tuple[str, int | None], int] = field(default_factory=dict)  # -> version id
    # (region code, service code) -> its enabled offer: duration, buffer, notice, horizon
    terms: dict[tuple[str, str], TenantService] = field(default_factory=dict)


_snapshots: weakref.WeakKeyDictionary[Engine, Snapshot] = weakref.WeakKeyDictionary()


def invalidate() -> None:
    """Forget every snapshot: the next turn reads the catalogue afresh."""
    _snapshots.clear()


def _popular_first(services: Iterable[Service]) -> list[Service]:
    return sorted(services, key=lambda s: (s.popular_rank is None, s.popular_rank or 0, s.code))


async def _read(uow: UnitOfWork) -> Snapshot:
    session = uow.session
    tenants = list(await session.scalars(select(Tenant)))
    services = list(await session.scalars(select(Service)))
    offers = list(await session.scalars(select(TenantService).where(TenantService.enabled)))
    published = (
        await session.execute(
            select(FlowVersion.id, FlowVersion.name, FlowVersion.tenant_id)
            .where(FlowVersion.status == FlowStatus.PUBLISHED)
            .order_by(FlowVersion.version)
        )
    ).all()
    for row in (*tenants, *services, *offers):
        session.expunge(row)
    by_id = {s.id: s for s in services}
    code_of = {t.id: t.code for t in tenants}
    offered: dict[str, list[Service]] = {t.code: [] for t in tenants}
    terms: dict[tuple[str, str], TenantService] = {}
    for row in offers:
        offered[code_of[row.tenant_id]].append(by_id[row.service_id])
        terms[(code_of[row.tenant_id], by_id[row.service_id].code)] = row
    return Snapshot(
        read_at=time.monotonic(),
        tenants={t.code: t for t in tenants},
        services={s.code: s for s in services},
        offered={code: _popular_first(found) for code, found in offered.items()},
        bookable=_popular_first(s for s in services if s.kind == ServiceKind.APPOINTMENT),
        versions={(name, tenant_id): version_id for version_id, name, tenant_id in published},
        terms=terms,
    )


async def snapshot(uow: UnitOfWork) -> Snapshot:
    """The catalogue of the unit of work's database, at most `MAX_AGE_S` seconds old."""
    bind = uow.session.get_bind()
    assert isinstance(bind, Engine)
    found = _snapshots.get(bind)
    if found is None or time.monotonic() - found.read_at >= MAX_AGE_S:
        found = await _read(uow)
        _snapshots[bind] = found
    return found


async def tenant(uow: UnitOfWork, code: str) -> Tenant:
    """The region with this code, or NotFound (as `core.catalog.get_tenant`)."""
    found = (await snapshot(uow)).tenants.get(code)
    if found is None:
        raise NotFound(f"no tenant {code}", entity="tenant", code=code)
    return found


async def service(uow: UnitOfWork, code: str) -> Service:
    """The service with this code, or NotFound (as `core.catalog.get_service`)."""
    found = (await snapshot(uow)).services.get(code)
    if found is None:
        raise NotFound(f"no service {code}", entity="service", code=code)
    return found


async def offered_services(uow: UnitOfWork, tenant_code: str) -> list[Service]:
    """The services a region offers, most popular first (as `core.catalog.offered_services`)."""
    found = (await snapshot(uow)).offered.get(tenant_code)
    if found is None:
        raise NotFound(f"no tenant {tenant_code}", entity="tenant", code=tenant_code)
    return found


async def bookable_services(uow: UnitOfWork) -> list[Service]:
    """Every appointment service, most popular first."""
    return (await snapshot(uow)).bookable


async def offer(uow: UnitOfWork, tenant_code: str, service_code: str) -> Offer | None:
    """A region's open offer of a bookable service, as `core.availability.lookup_offer` reads
    it; None when it is not offered, for the core's lookup to say why."""
    found = await snapshot(uow)
    terms = found.terms.get((tenant_code, service_code))
    if terms is None:
        return None
    try:
        return open_offer(found.tenants[tenant_code], found.services[service_code], terms)
    except ServiceNotOffered:
        return None


async def active_regions(uow: UnitOfWork) -> list[Tenant]:
    """The regions open to citizens."""
    return [t for t in (await snapshot(uow)).tenants.values() if t.active]


async def flow_version_id(uow: UnitOfWork, name: str, tenant_code: str | None) -> int:
    """The published version of a flow for a region: its own, else the national one."""
    found = await snapshot(uow)
    region = found.tenants.get(tenant_code) if tenant_code else None
    own = found.versions.get((name, region.id)) if region is not None else None
    version_id = own or found.versions.get((name, None))
    if version_id is None:
        raise LookupError(f"flow {name!r} has no published version; run sync_templates")
    return version_id


@event.listens_for(Session, "after_flush")
def _written(session: Session, _flush: UOWTransaction) -> None:
    changed: Iterable[Any] = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(row, _WATCHED) for row in changed):
        invalidate()


@event.listens_for(Session, "do_orm_execute")
def _bulk_written(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, _WATCHED):
        invalidate()
