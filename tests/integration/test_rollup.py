"""The daily rollup the triggers keep equals counting the appointments, on both databases."""

from __future__ import annotations

import importlib.util
import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, text

from core import catalog, daily
from core.db import Database
from core.migrate import MIGRATIONS
from core.models import (
    Appointment,
    AppointmentDaily,
    AppointmentStatus,
    AppointmentWaitDaily,
    Specialist,
)
from core.uow import UnitOfWork
from tests.factories import LIMA, add_citizen, add_specialist, lima

DAYS = daily.span(date(2026, 11, 25), date(2026, 12, 20), LIMA)


class DirectSpan(daily.Span):
    """The same period, counted from the appointments instead of the rollup."""

    @property
    def rolled_up(self) -> bool:
        """Never the rollup."""
        return False


DIRECT = DirectSpan(DAYS.start, DAYS.end, DAYS.tz, DAYS.first, DAYS.after)


def test_the_rollup_is_read_only_for_days_of_utc_minus_5() -> None:
    assert DAYS.rolled_up
    assert daily.span(DAYS.start, DAYS.end, ZoneInfo("America/Bogota")).rolled_up
    assert not daily.span(DAYS.start, DAYS.end, ZoneInfo("America/La_Paz")).rolled_up
    # New York is UTC-5 in December but not in April: a period across the change is counted.
    assert daily.span(date(2026, 12, 1), date(2026, 12, 31), ZoneInfo("America/New_York")).rolled_up
    assert not daily.span(
        date(2026, 1, 1), date(2026, 12, 31), ZoneInfo("America/New_York")
    ).rolled_up


def _migration() -> ModuleType:
    path = next((MIGRATIONS / "versions").glob("0011_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0011", Path(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _day(at: datetime) -> date:
    return at.astimezone(LIMA).date()


async def expected(uow: UnitOfWork) -> tuple[dict[Any, list[int]], Counter[Any]]:
    """The rollup computed here, in Python, from every appointment."""
    counts: dict[Any, list[int]] = {}
    waits: Counter[Any] = Counter()

    def add(at: datetime, a: Appointment, index: int) -> None:
        counts.setdefault((_day(at), a.tenant_id, a.service_id), [0, 0, 0, 0])[index] += 1

    for a in await uow.session.scalars(
        select(Appointment).execution_options(populate_existing=True)
    ):
        add(a.created_at, a, 0)
        if a.status == AppointmentStatus.ATTENDED:
            add(a.start_utc, a, 1)
        elif a.status == AppointmentStatus.NO_SHOW:
            add(a.start_utc, a, 2)
        elif a.status == AppointmentStatus.CANCELLED and a.cancelled_at is not None:
            add(a.cancelled_at, a, 3)
        if a.rescheduled_from_id is None:
            seconds = int(a.start_utc.timestamp()) - int(a.created_at.timestamp())
            key = (_day(a.created_at), a.tenant_id, a.service_id, max(0, seconds // 60))
            waits[key] += 1
    return counts, waits


async def rolled(uow: UnitOfWork) -> tuple[dict[Any, list[int]], Counter[Any]]:
    """The rollup as the triggers left it (rows at zero left out)."""
    d, w = AppointmentDaily, AppointmentWaitDaily
    counts = {
        (day, tid, sid): list(values)
        for day, tid, sid, *values in await uow.session.execute(
            select(d.day, d.tenant_id, d.service_id, d.booked, d.attended, d.no_shows, d.cancelled)
        )
        if any(values)
    }
    waits: Counter[Any] = Counter(
        {
            (day, tid, sid, minutes): n
            for day, tid, sid, minutes, n in await uow.session.execute(
                select(w.day, w.tenant_id, w.service_id, w.wait_minutes, w.bookings)
            )
            if n
        }
    )
    return counts, waits


async def grouped(uow: UnitOfWork, period: daily.Span) -> dict[Any, tuple[int, ...]]:
    """Counts per region, service and day as the reports group them."""
    source = daily.counts(uow.dialect, period, None)
    keys = (source.c.day, source.c.tenant_id, source.c.service_id)
    query = select(*keys, *(func.sum(source.c[c]) for c in daily.COUNTS)).group_by(*keys)
    return {
        (daily.as_day(day), tid, sid): tuple(int(v) for v in values)
        for day, tid, sid, *values in await uow.session.execute(query)
        if any(values)
    }


async def check(db: Database) -> None:
    """The triggers' rollup, the direct counts and the Python count all agree."""
    async with db.uow() as uow:
        want = await expected(uow)
        assert await rolled(uow) == want
        assert await grouped(uow, DAYS) == await grouped(uow, DIRECT)
        assert len(await grouped(uow, DAYS)) == len(want[0])
        sets = (("tenant_id", "service_id"), ("tenant_id",), ("day",), ())
        fast = await daily.medians(uow, daily.waits(uow.dialect, DAYS, None), sets)
        slow = await daily.medians(uow, daily.waits(uow.dialect, DIRECT, None), sets)
        days = [{daily.as_day(k[0]): v for k, v in found[2].items()} for found in (fast, slow)]
        assert fast[:2] + fast[3:] == slow[:2] + slow[3:] and days[0] == days[1]
        every = sorted(m for (_, _, _, m), n in want[1].items() for _ in range(n))
        assert fast[3][()] == (statistics.median(every), len(every))


async def book(
    uow: UnitOfWork, spec: Specialist, created: datetime, start: datetime, **more: Any
) -> Appointment:
    """An appointment of the specialist's region and first service."""
    citizen = await add_citizen(uow)
    service = await catalog.get_service(uow, "consultas-laborales")
    appointment = Appointment(
        tenant_id=spec.tenant_id,
        service_id=service.id,
        specialist_id=spec.id,
        citizen_id=citizen.id,
        start_utc=start,
        end_utc=start + timedelta(minutes=30),
        busy_until=start + timedelta(minutes=30),
        created_at=created,
        **more,
    )
    uow.session.add(appointment)
    await uow.session.flush()
    return appointment


async def test_rollup_follows_every_change(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        other = await add_specialist(uow, "PE-CUS")
        # 23:50 in Lima on the 1st is 04:50 UTC on the 2nd: the local day is the 1st.
        late = await book(uow, spec, lima(2026, 12, 1, 23, 50), lima(2026, 12, 3, 10))
        early = await book(uow, spec, lima(2026, 12, 2, 0, 10), lima(2026, 12, 3, 11, 7))
        same = await book(uow, other, lima(2026, 12, 2, 9, 0), lima(2026, 12, 2, 23, 30))
        past = await book(uow, other, lima(2026, 12, 4, 12), lima(2026, 12, 4, 11))  # wait < 0
        await uow.commit()
    await check(db)
    async with db.uow() as uow:
        assert (await rolled(uow))[0][(date(2026, 12, 1), spec.tenant_id, late.service_id)] == [
            1,
            0,
            0,
            0,
        ]

    async with db.uow() as uow:
        for a, status in ((late, "attended"), (same, "no_show"), (early, "cancelled")):
            row = await uow.session.get(Appointment, a.id)
            assert row is not None
            row.status = AppointmentStatus(status)
            if status == "cancelled":
                row.cancelled_at = lima(2026, 12, 2, 23, 59)
        await uow.commit()
    await check(db)

    async with db.uow() as uow:  # rebooking the cancelled one: not a first booking
        await book(
            uow,
            spec,
            lima(2026, 12, 3, 0, 1),
            lima(2026, 12, 5, 9),
            rescheduled_from_id=early.id,
        )
        moved = await uow.session.get(Appointment, past.id)
        assert moved is not None
        moved.start_utc = lima(2026, 12, 6, 9)
        moved.end_utc = moved.busy_until = lima(2026, 12, 6, 9, 30)
        await uow.commit()
    await check(db)

    async with db.uow() as uow:  # back to booked, then deleted
        row = await uow.session.get(Appointment, late.id)
        assert row is not None
        row.status = AppointmentStatus.BOOKED
        await uow.session.flush()
        await uow.session.execute(delete(Appointment).where(Appointment.id == same.id))
        await uow.commit()
    await check(db)
    async with db.uow() as uow:
        counts, _ = await rolled(uow)
        assert sum(v[0] for v in counts.values()) == 4  # late, early, the rebooking, past


async def test_medians_count_a_wait_booked_several_times_once_per_booking(db: Database) -> None:
    """Three first bookings of one day, region and service wait the same minutes: one row of
    the histogram with 3 bookings, which the medians weigh as three."""
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        for half_hour in range(3):
            created = lima(2026, 12, 1, 9) + timedelta(minutes=30 * half_hour)
            await book(uow, spec, created, created + timedelta(days=2))
        await book(uow, spec, lima(2026, 12, 1, 15), lima(2026, 12, 1, 16))
        await uow.commit()
    async with db.uow() as uow:
        [bookings] = await uow.session.scalars(
            select(AppointmentWaitDaily.bookings).where(AppointmentWaitDaily.bookings > 1)
        )
        assert bookings == 3
        [by_region] = await daily.medians(
            uow, daily.waits(uow.dialect, DAYS, None), (("tenant_id",),)
        )
        assert by_region == {(spec.tenant_id,): (2 * 24 * 60, 4)}
    await check(db)


async def test_migration_backfill_gives_what_the_triggers_keep(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        first = await book(uow, spec, lima(2026, 12, 1, 23, 59), lima(2026, 12, 2, 9))
        await book(uow, spec, lima(2026, 12, 1, 8), lima(2026, 12, 2, 10), status="attended")
        await book(
            uow,
            spec,
            lima(2026, 12, 1, 19, 1),
            lima(2026, 12, 2, 11),
            status="cancelled",
            cancelled_at=lima(2026, 12, 2, 0, 0),
        )
        await book(
            uow, spec, lima(2026, 12, 2, 7), lima(2026, 12, 3, 9), rescheduled_from_id=first.id
        )
        await uow.commit()
    async with db.uow() as uow:
        kept = await rolled(uow)
        assert kept == await expected(uow)
        await uow.session.execute(delete(AppointmentDaily))
        await uow.session.execute(delete(AppointmentWaitDaily))
        for sql in _migration()._backfill(uow.dialect):
            await uow.session.execute(text(sql))
        assert await rolled(uow) == kept
        await uow.commit()
