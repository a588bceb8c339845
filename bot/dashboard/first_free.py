"""Days to the first free slot per region and service, from the availability core, cached.

The figure is what a citizen asking now would be offered first: `core.availability`'s
`earliest_slots` (the same search the booking dialog runs, with each offer's notice,
horizon, hours, breaks, closures and booked time) for every enabled offer of every active
region. That is one search per region and service (a few hundred at national scale), so it
is computed in the background for the whole country at most once per `CACHE_SECONDS` per
process and shared by every page: a stale answer is shown while a new one is computed, and
the page says "computing" until the first one is ready.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy import select

from core import availability
from core.db import Database
from core.models import (
    Service,
    ServiceKind,
    Specialist,
    SpecialistService,
    Tenant,
    TenantService,
)

CACHE_SECONDS = 600.0
SHOWN = 15  # region and service pairs listed on the page (the exports give all)


@dataclass(frozen=True)
class FirstFree:
    """One region's offer of a service and when its first free slot starts."""

    tenant_id: int
    region: str
    service_code: str
    names: dict[str, str]
    days: float | None  # None: nothing free within the offer's horizon
    horizon_days: int

    def name(self, lang: str) -> str:
        """The service's name in `lang` (Spanish, then its code, when missing)."""
        return str(self.names.get(lang) or self.names.get("es") or self.service_code)


async def compute(db: Database, now: datetime) -> list[FirstFree]:
    """Search the first free slot of every staffed, enabled offer of every active region.

    An offer nobody in the region is competent for is left out: it has no wait, it is not
    given there (the roster shows it).
    """
    staffed = (
        select(SpecialistService.specialist_id)
        .join(Specialist, Specialist.id == SpecialistService.specialist_id)
        .where(
            Specialist.tenant_id == Tenant.id,
            Specialist.active.is_(True),
            SpecialistService.service_id == Service.id,
        )
    )
    query = (
        select(Tenant, Service, TenantService)
        .join(TenantService, TenantService.tenant_id == Tenant.id)
        .join(Service, Service.id == TenantService.service_id)
        .where(
            Tenant.active.is_(True),
            TenantService.enabled.is_(True),
            Service.kind == ServiceKind.APPOINTMENT,
            staffed.exists(),
        )
        .order_by(Tenant.code, Service.code)
    )
    async with db.uow() as uow:
        offers = (await uow.session.execute(query)).all()
        uow.session.expunge_all()  # kept loaded: the rollback at the end would expire them
    found: list[FirstFree] = []
    for tenant, service, offer in offers:
        # One short transaction per offer: on SQLite a transaction holds the write lock
        # (BEGIN IMMEDIATE), and one for the whole country would stall the turns for seconds.
        async with db.uow() as uow:
            tenant = await uow.session.merge(tenant, load=False)
            service = await uow.session.merge(service, load=False)
            offer = await uow.session.merge(offer, load=False)
            rules = availability.Rules.of(offer, service)
            slots = await availability.earliest_slots(uow, tenant, service, rules, now=now, count=1)
            days = round((slots[0].start - now).total_seconds() / 86400, 1) if slots else None
            found.append(
                FirstFree(
                    tenant.id,
                    tenant.name,
                    service.code,
                    dict(service.names),
                    days,
                    offer.horizon_days,
                )
            )
        await asyncio.sleep(0)  # let webhooks and turns run between offers
    return found


def longest_first(rows: list[FirstFree] | None, tenant_id: int | None) -> list[FirstFree] | None:
    """The scope's offers, those without a free slot first, then by days descending."""
    if rows is None:
        return None
    mine = [r for r in rows if tenant_id is None or r.tenant_id == tenant_id]
    mine.sort(key=lambda r: (r.days is not None, -(r.days or 0.0), r.region, r.service_code))
    return mine


class FirstFreeCache:
    """The country's first free slots of one process, recomputed at most every `ttl` s."""

    def __init__(
        self, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.rows: list[FirstFree] | None = None
        self.at = 0.0
        self.computed_for: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    async def _refresh(self, db: Database, now: datetime) -> None:
        rows = await compute(db, now)
        self.rows, self.at, self.computed_for = rows, self.clock(), now

    async def get(self, db: Database, now: datetime) -> list[FirstFree] | None:
        """The cached rows (None until the first search ends); a stale copy is refreshed.

        The search runs in the background and a page never waits for it: it may take
        tens of seconds for the whole country on a busy server.
        """
        stale = self.rows is None or self.clock() - self.at >= self.ttl
        if stale and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._refresh(db, now))
        return self.rows

    async def close(self) -> None:
        """Wait for a background search still running (at shutdown, and in tests)."""
        if self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)


CACHE = web.AppKey("psv_dashboard_first_free", FirstFreeCache)
