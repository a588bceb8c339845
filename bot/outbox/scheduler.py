"""The scheduler: once a minute, queue what is due by the calendar (the morning agenda).

Each working day, from `PSV_AGENDA_TIME` (07:30 local) on, every active specialist with
appointments still ahead that day gets their agenda. Days outside the region's office days
(Monday to Friday by default), national holidays, regional closures and the specialist's own
days off are skipped. The outbox row's key is
"agenda:<specialist>:<day>", so a restart, a second scheduler process or a later tick never
queues it twice. Reminders and surveys need no scheduler: they are outbox rows due later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.outage import DatabaseWatch
from bot.outbox import notify
from bot.outbox.worker import OutboxWorker
from core.db import Database
from core.models import (
    Appointment,
    AppointmentStatus,
    Closure,
    OutboxMessage,
    Specialist,
    Tenant,
)
from core.office_hours import OfficeHours
from core.settings import Settings
from core.types import utcnow
from core.uow import UnitOfWork

log = logging.getLogger("psv.scheduler")

TICK_SECONDS = 60.0


def agenda_key(specialist_id: int, day: date) -> str:
    """The idempotency key of a specialist's agenda of one day."""
    return f"agenda:{specialist_id}:{day.isoformat()}"


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    since = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    until = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return since, until


async def _is_holiday(uow: UnitOfWork, day: date) -> bool:
    found = await uow.session.scalar(
        select(Closure.id)
        .where(Closure.kind == "holiday", Closure.starts_on <= day, Closure.ends_on >= day)
        .limit(1)
    )
    return found is not None


async def _closed(uow: UnitOfWork, day: date) -> tuple[set[int], set[int]]:
    """Tenants closed that day (regional closures) and specialists off that day."""
    rows = await uow.session.execute(
        select(Closure.kind, Closure.tenant_id, Closure.specialist_id).where(
            Closure.kind.in_(("regional", "day_off")),
            Closure.starts_on <= day,
            Closure.ends_on >= day,
        )
    )
    tenants: set[int] = set()
    specialists: set[int] = set()
    for kind, tenant_id, specialist_id in rows:
        if kind == "day_off" and specialist_id is not None:
            specialists.add(specialist_id)
        elif kind == "regional" and tenant_id is not None:
            tenants.add(tenant_id)
    return tenants, specialists


async def queue_agendas(uow: UnitOfWork, *, now: datetime, at: time) -> int:
    """Queue today's agenda for every specialist who should get it now; returns how many."""
    queued = 0
    zones = await uow.session.scalars(
        select(Tenant.timezone).where(Tenant.active.is_(True)).distinct()
    )
    for zone in list(zones):
        tz = ZoneInfo(zone)
        local = now.astimezone(tz)
        day = local.date()
        if local.time() < at or await _is_holiday(uow, day):
            continue
        # Working days are the region's office days (Monday to Friday unless it set others).
        open_today = {
            tenant.id
            for tenant in await uow.session.scalars(
                select(Tenant).where(Tenant.timezone == zone, Tenant.active.is_(True))
            )
            if day.weekday() in OfficeHours.of(tenant).weekdays
        }
        since, until = _day_bounds(day, tz)
        closed_tenants, off = await _closed(uow, day)
        rows = await uow.session.execute(
            select(Specialist)
            .join(Tenant, Tenant.id == Specialist.tenant_id)
            .where(
                Tenant.timezone == zone,
                Tenant.active.is_(True),
                Specialist.active.is_(True),
                select(Appointment.id)
                .where(
                    Appointment.specialist_id == Specialist.id,
                    Appointment.status == AppointmentStatus.BOOKED,
                    Appointment.start_utc >= max(since, now),
                    Appointment.start_utc < until,
                )
                .exists(),
            )
            .order_by(Specialist.id)
        )
        candidates = [
            s
            for s in rows.scalars()
            if s.tenant_id in open_today and s.tenant_id not in closed_tenants and s.id not in off
        ]
        if not candidates:
            continue
        keys = {agenda_key(s.id, day): s for s in candidates}
        done = set(
            await uow.session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.in_(list(keys))
                )
            )
        )
        for key, specialist in keys.items():
            if key in done:
                continue
            message = await notify.agenda_text(uow, specialist.id, day, now=now)
            queued += await notify.write(
                uow, [notify.agenda_note(specialist, day, message, now=now)], now=now
            )
    return queued


class Scheduler:
    """Runs `queue_agendas` every tick until stopped."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        tick: float = TICK_SECONDS,
        on_queued: Callable[[], object] | None = None,
        watch: DatabaseWatch | None = None,
    ) -> None:
        self.db = db
        self.watch = watch or DatabaseWatch(db)
        self.at = time.fromisoformat(settings.agenda_time)
        self.clock = clock
        self.tick = tick
        self.on_queued = on_queued
        self._stop = asyncio.Event()

    async def run_once(self) -> int:
        """One tick: queue what is due now, commit; returns how many rows were queued."""
        async with self.db.uow() as uow:
            queued = await queue_agendas(uow, now=self.clock(), at=self.at)
            await uow.commit()
        if queued:
            log.info("queued %d morning agendas", queued)
            if self.on_queued is not None:
                self.on_queued()
        return queued

    async def run(self) -> None:
        """Tick until `stop()`; a failed tick is logged and tried again at the next one."""
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:
                if not await self.watch.is_outage(exc):  # an outage is logged once, by the watch
                    log.exception("scheduler tick failed; trying again at the next one")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.tick)

    def stop(self) -> None:
        """Return from `run()` at once (after the tick in progress)."""
        self._stop.set()


async def run_with_scheduler(
    worker: OutboxWorker,
    db: Database,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Run the outbox worker with a scheduler beside it; both end when the worker stops."""
    scheduler = Scheduler(db, settings, clock=clock, on_queued=worker.wake.set, watch=worker.watch)
    task = asyncio.create_task(scheduler.run())
    try:
        await worker.run()
    finally:
        scheduler.stop()
        await task


__all__ = ["Scheduler", "agenda_key", "queue_agendas", "run_with_scheduler"]
