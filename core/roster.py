"""Admins' changes to a region's people and calendar: specialists, hours, days off, closures.

Every function is scoped to one tenant and writes an audit entry with the values before
and after, in the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import delete, select

from core import audit, catalog
from core.access import Forbidden
from core.errors import InvalidTransition, NotFound
from core.models import (
    Closure,
    ClosureKind,
    Specialist,
    SpecialistService,
    WeeklyBreak,
    WorkingHours,
)
from core.uow import UnitOfWork


@dataclass(frozen=True)
class WeeklySpan:
    """A weekly interval in local time; weekday 0 is Monday."""

    weekday: int
    start: time
    end: time

    def check(self) -> None:
        """Refuse a weekday outside 0-6 or an interval that ends before it starts."""
        if not 0 <= self.weekday <= 6 or self.start >= self.end:
            raise InvalidTransition(f"invalid weekly interval {self}")


def _spans(rows: Iterable[WorkingHours | WeeklyBreak]) -> list[str]:
    return sorted(f"{r.weekday}:{r.start_time:%H:%M}-{r.end_time:%H:%M}" for r in rows)


async def get_specialist(uow: UnitOfWork, tenant_id: int, specialist_id: int) -> Specialist:
    """A specialist of this tenant, or NotFound (never another region's)."""
    spec = await uow.session.scalar(
        select(Specialist).where(Specialist.id == specialist_id, Specialist.tenant_id == tenant_id)
    )
    if spec is None:
        raise NotFound("no such specialist in this region", entity="specialist")
    return spec


async def add_specialist(
    uow: UnitOfWork,
    tenant_code: str,
    *,
    name: str,
    services: Sequence[str],
    contact_channel: str,
    contact_address: str,
    by: str,
) -> Specialist:
    """Register a specialist of a region with the services they are competent for."""
    tenant = await catalog.get_tenant(uow, tenant_code)
    spec = Specialist(
        tenant_id=tenant.id,
        name=name.strip(),
        contact_channel=contact_channel,
        contact_address=contact_address,
    )
    uow.session.add(spec)
    await uow.session.flush()
    for code in services:
        service = await catalog.get_service(uow, code)
        uow.session.add(SpecialistService(specialist_id=spec.id, service_id=service.id))
    await uow.session.flush()
    await audit.record(
        uow,
        actor=by,
        action="specialist.add",
        entity="specialist",
        entity_id=spec.id,
        tenant_id=tenant.id,
        after={"name": spec.name, "services": list(services), "channel": contact_channel},
    )
    return spec


async def set_weekly_hours(
    uow: UnitOfWork,
    tenant_id: int,
    specialist_id: int,
    *,
    hours: Sequence[WeeklySpan],
    breaks: Sequence[WeeklySpan] = (),
    by: str,
) -> None:
    """Replace a specialist's weekly working hours and breaks."""
    for span in (*hours, *breaks):
        span.check()
    spec = await get_specialist(uow, tenant_id, specialist_id)
    session = uow.session
    before: dict[str, Any] = {
        "hours": _spans(
            await session.scalars(select(WorkingHours).where(WorkingHours.specialist_id == spec.id))
        ),
        "breaks": _spans(
            await session.scalars(select(WeeklyBreak).where(WeeklyBreak.specialist_id == spec.id))
        ),
    }
    await session.execute(delete(WorkingHours).where(WorkingHours.specialist_id == spec.id))
    await session.execute(delete(WeeklyBreak).where(WeeklyBreak.specialist_id == spec.id))
    new_hours = [
        WorkingHours(specialist_id=spec.id, weekday=s.weekday, start_time=s.start, end_time=s.end)
        for s in hours
    ]
    new_breaks = [
        WeeklyBreak(specialist_id=spec.id, weekday=s.weekday, start_time=s.start, end_time=s.end)
        for s in breaks
    ]
    session.add_all([*new_hours, *new_breaks])
    await session.flush()
    await audit.record(
        uow,
        actor=by,
        action="specialist.hours",
        entity="specialist",
        entity_id=spec.id,
        tenant_id=tenant_id,
        before=before,
        after={"hours": _spans(new_hours), "breaks": _spans(new_breaks)},
    )


async def deactivate(uow: UnitOfWork, tenant_id: int, specialist_id: int, *, by: str) -> None:
    """Stop offering a specialist's time (their past appointments stay)."""
    spec = await get_specialist(uow, tenant_id, specialist_id)
    spec.active = False
    await uow.session.flush()
    await audit.record(
        uow,
        actor=by,
        action="specialist.deactivate",
        entity="specialist",
        entity_id=spec.id,
        tenant_id=tenant_id,
        before={"active": True},
        after={"active": False},
    )


async def add_closure(
    uow: UnitOfWork,
    tenant_id: int,
    starts_on: date,
    ends_on: date,
    *,
    reason: str,
    by: str,
    specialist_id: int | None = None,
) -> Closure:
    """Close the regional office, or give one specialist days off, for whole days."""
    if starts_on > ends_on:
        raise InvalidTransition("a closure must end on or after its first day")
    if specialist_id is not None:
        await get_specialist(uow, tenant_id, specialist_id)
    closure = Closure(
        kind=ClosureKind.DAY_OFF if specialist_id is not None else ClosureKind.REGIONAL,
        tenant_id=tenant_id,
        specialist_id=specialist_id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
    )
    uow.session.add(closure)
    await uow.session.flush()
    await audit.record(
        uow,
        actor=by,
        action=f"closure.add.{closure.kind}",
        entity="closure",
        entity_id=closure.id,
        tenant_id=tenant_id,
        after={
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "reason": reason,
            "specialist_id": specialist_id,
        },
    )
    return closure


async def closures(uow: UnitOfWork, tenant_id: int, *, since: date) -> list[Closure]:
    """National holidays and this region's closures and days off ending on or after `since`."""
    rows = await uow.session.scalars(
        select(Closure)
        .where(
            Closure.ends_on >= since,
            (Closure.tenant_id == tenant_id)
            | ((Closure.kind == ClosureKind.HOLIDAY) & Closure.tenant_id.is_(None)),
        )
        .order_by(Closure.starts_on, Closure.id)
    )
    return list(rows)


async def remove_closure(uow: UnitOfWork, tenant_id: int, closure_id: int, *, by: str) -> None:
    """Remove a regional closure or day off of this tenant (national holidays stay)."""
    closure = await uow.session.scalar(
        select(Closure).where(Closure.id == closure_id, Closure.tenant_id == tenant_id)
    )
    if closure is None:
        national = await uow.session.scalar(
            select(Closure).where(Closure.id == closure_id, Closure.tenant_id.is_(None))
        )
        if national is not None:
            reason = f" ({national.reason})" if national.reason else ""
            raise Forbidden(
                f"closure {closure_id} is a national holiday{reason} on "
                f"{national.starts_on.isoformat()}: it closes every region and only the "
                "national team can change it; a region cannot remove it"
            )
        raise NotFound("no such closure in this region", entity="closure")
    before = {
        "kind": closure.kind,
        "starts_on": closure.starts_on.isoformat(),
        "ends_on": closure.ends_on.isoformat(),
        "reason": closure.reason,
    }
    await uow.session.delete(closure)
    await uow.session.flush()
    await audit.record(
        uow,
        actor=by,
        action="closure.remove",
        entity="closure",
        entity_id=closure_id,
        tenant_id=tenant_id,
        before=before,
    )
