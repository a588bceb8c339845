"""A region's office hours: when people (not the bot) answer, and when they next will."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

from core.models import Closure, ClosureKind, Tenant
from core.uow import UnitOfWork

# The ministry's offices answer Monday to Friday, 08:30-17:00.
DEFAULT: dict[str, Any] = {"weekdays": [0, 1, 2, 3, 4], "opens": "08:30", "closes": "17:00"}
LOOKAHEAD_DAYS = 31


@dataclass(frozen=True)
class OfficeHours:
    """Weekdays (Monday 0) and the local opening and closing times."""

    weekdays: frozenset[int]
    opens: time
    closes: time

    @classmethod
    def national(cls) -> OfficeHours:
        """The ministry's default hours."""
        return cls._from(DEFAULT)

    @classmethod
    def of(cls, tenant: Tenant) -> OfficeHours:
        """The tenant's own hours, else the national default."""
        return cls._from(tenant.office_hours or DEFAULT)

    @classmethod
    def _from(cls, data: dict[str, Any]) -> OfficeHours:
        return cls(
            frozenset(int(d) for d in data.get("weekdays", DEFAULT["weekdays"])),
            time.fromisoformat(str(data.get("opens", DEFAULT["opens"]))),
            time.fromisoformat(str(data.get("closes", DEFAULT["closes"]))),
        )


async def closed_days(uow: UnitOfWork, tenant_id: int, first: date, last: date) -> set[date]:
    """National holidays and the region's closures between two days, inclusive."""
    rows = await uow.session.execute(
        select(Closure.starts_on, Closure.ends_on).where(
            or_(
                and_(Closure.kind == ClosureKind.HOLIDAY, Closure.tenant_id.is_(None)),
                and_(Closure.kind == ClosureKind.REGIONAL, Closure.tenant_id == tenant_id),
            ),
            Closure.starts_on <= last,
            Closure.ends_on >= first,
        )
    )
    days: set[date] = set()
    for starts_on, ends_on in rows:
        day = max(starts_on, first)
        while day <= min(ends_on, last):
            days.add(day)
            day += timedelta(days=1)
    return days


async def is_open(uow: UnitOfWork, tenant: Tenant, now: datetime) -> bool:
    """Whether the region's office is open at this moment."""
    hours = OfficeHours.of(tenant)
    local = now.astimezone(ZoneInfo(tenant.timezone))
    if local.weekday() not in hours.weekdays or not hours.opens <= local.time() < hours.closes:
        return False
    return local.date() not in await closed_days(uow, tenant.id, local.date(), local.date())


async def next_opening(uow: UnitOfWork, tenant: Tenant, now: datetime) -> datetime | None:
    """The next moment (UTC) the office opens after `now`; None if closed for a month."""
    hours = OfficeHours.of(tenant)
    tz = ZoneInfo(tenant.timezone)
    local = now.astimezone(tz)
    closed = await closed_days(
        uow, tenant.id, local.date(), local.date() + timedelta(days=LOOKAHEAD_DAYS)
    )
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        opening = datetime.combine(day, hours.opens, tzinfo=tz)
        if day.weekday() in hours.weekdays and day not in closed and opening > local:
            return opening.astimezone(UTC)
    return None
