"""Searches over the free slots: a range, the earliest ones, one local day, the next days.

Each takes the region's and service's codes; a caller that holds a recent copy of the offer
(the bot's catalogue snapshot) passes it as `offer` and saves the query that reads it.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.availability.load import Offer, load_schedule, lookup_offer
from core.availability.slots import Rules, Schedule, Slot, compute_slots
from core.models import Service, Tenant
from core.uow import UnitOfWork

# The first window `earliest_slots` searches; later ones grow to a week, then the horizon.
FIRST_WINDOW = timedelta(days=2)


async def free_slots(
    uow: UnitOfWork,
    tenant_code: str,
    service_code: str,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    limit: int | None = None,
    offer: Offer | None = None,
) -> list[Slot]:
    """Free slots of a region's service starting in [start, end) (aware datetimes)."""
    tenant, service, rules = offer or await lookup_offer(uow, tenant_code, service_code)
    window_start = max(start, now + rules.min_notice)
    window_end = min(end, now + rules.horizon)
    if window_start >= window_end:
        return []
    schedule = await load_schedule(uow, tenant, service, rules, window_start, window_end)
    return compute_slots(schedule, window_start, window_end, now, limit=limit)


async def first_free_slots(
    uow: UnitOfWork,
    tenant_code: str,
    service_code: str,
    *,
    now: datetime,
    count: int = 1,
    after: datetime | None = None,
    offer: Offer | None = None,
) -> list[Slot]:
    """The earliest `count` free slots (from `after`, default now) within the horizon."""
    tenant, service, rules = offer or await lookup_offer(uow, tenant_code, service_code)
    return await earliest_slots(uow, tenant, service, rules, now=now, count=count, after=after)


async def earliest_slots(
    uow: UnitOfWork,
    tenant: Tenant,
    service: Service,
    rules: Rules,
    *,
    now: datetime,
    count: int,
    after: datetime | None = None,
) -> list[Slot]:
    """Search forward in growing windows (2, 7, then the rest of the horizon) for free slots."""
    start = max(after or now, now + rules.min_notice)
    spans = (FIRST_WINDOW, timedelta(days=7), rules.horizon)
    found: list[Slot] = []
    async with aclosing(_windows(uow, tenant, service, rules, start, now, spans)) as windows:
        async for since, until, schedule in windows:
            found += compute_slots(schedule, since, until, now, limit=count - len(found))
            if len(found) >= count:
                break
    return found


async def _windows(
    uow: UnitOfWork,
    tenant: Tenant,
    service: Service,
    rules: Rules,
    start: datetime,
    now: datetime,
    spans: tuple[timedelta, ...],
) -> AsyncGenerator[tuple[datetime, datetime, Schedule]]:
    """Consecutive windows from `start` to the horizon, each `span` long and ending at a local
    midnight (so no day is split between two), with the schedule of each: a search that finds
    what it wants early reads only the first."""
    tz = ZoneInfo(tenant.timezone)
    end = now + rules.horizon
    cursor = start
    for span in spans:
        if cursor >= end:
            return
        midnight = (cursor + span).astimezone(tz).date() + timedelta(days=1)
        window_end = min(datetime.combine(midnight, time(0), tzinfo=tz).astimezone(UTC), end)
        yield (
            cursor,
            window_end,
            await load_schedule(uow, tenant, service, rules, cursor, window_end),
        )
        cursor = window_end


class NoSlots(enum.StrEnum):
    """Why a local day has no free slot."""

    HOLIDAY = "holiday"  # detail: the holiday's name
    CLOSED = "closed"  # the region is closed; detail: the reason given
    TOO_SOON = "too_soon"  # the day is past or inside the notice
    TOO_FAR = "too_far"  # beyond the horizon
    NOBODY_WORKS = "nobody_works"  # no specialist of the service works that day
    NO_SLOTS = "no_slots"  # fully booked


@dataclass(frozen=True)
class DaySlots:
    """The free slots of one local day; when there are none, the reason code and detail."""

    slots: list[Slot]
    reason: NoSlots | None = None
    detail: str = ""


async def day_slots(
    uow: UnitOfWork,
    tenant_code: str,
    service_code: str,
    day: date,
    *,
    now: datetime,
    offer: Offer | None = None,
) -> DaySlots:
    """The free slots of one local day, or why there are none (`NoSlots`)."""
    tenant, service, rules = offer or await lookup_offer(uow, tenant_code, service_code)
    tz = ZoneInfo(tenant.timezone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    schedule = await load_schedule(uow, tenant, service, rules, start, end)
    slots = compute_slots(schedule, start, end, now)
    if slots:
        return DaySlots(slots)
    if day in schedule.holidays:
        return DaySlots([], NoSlots.HOLIDAY, schedule.holidays[day])
    if day in schedule.closed:
        return DaySlots([], NoSlots.CLOSED, schedule.closed[day])
    if end <= now + rules.min_notice:
        return DaySlots([], NoSlots.TOO_SOON)
    if start >= now + rules.horizon:
        return DaySlots([], NoSlots.TOO_FAR)
    if not any(spec.hours_on(day) for spec in schedule.specialists):
        return DaySlots([], NoSlots.NOBODY_WORKS)
    return DaySlots([], NoSlots.NO_SLOTS)


async def next_free_days(
    uow: UnitOfWork,
    tenant_code: str,
    service_code: str,
    *,
    now: datetime,
    count: int = 5,
    offer: Offer | None = None,
) -> list[tuple[date, int]]:
    """The next local days with free slots, each with how many slots are free.

    The first week is read first, which mostly holds them all, then the rest of the horizon;
    each window ends at a local midnight so that no day's count is split.
    """
    tenant, service, rules = offer or await lookup_offer(uow, tenant_code, service_code)
    tz = ZoneInfo(tenant.timezone)
    per_day: dict[date, int] = {}
    spans = (timedelta(days=7), rules.horizon)
    start = now + rules.min_notice
    async with aclosing(_windows(uow, tenant, service, rules, start, now, spans)) as windows:
        async for since, until, schedule in windows:
            for slot in compute_slots(schedule, since, until, now, days=count - len(per_day)):
                day = slot.start.astimezone(tz).date()
                per_day[day] = per_day.get(day, 0) + 1
            if len(per_day) >= count:
                break
    return list(per_day.items())
