"""Appointment counts and waits per local day, region and service, for a period.

Read from the rollup tables the triggers keep (`core.models.rollup`, migration 0011) when
the configured zone is UTC-5 over the whole period, as the triggers' days are; otherwise
counted from the appointments themselves, with the same columns, so that every caller
groups one source whichever it is. Waits are whole minutes (start minus booking, in whole
seconds, never below 0), and medians are taken from their histogram.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Subquery,
    case,
    cast,
    func,
    literal,
    null,
    select,
    text,
    true,
    tuple_,
    union_all,
)

from core.models import Appointment, AppointmentDaily, AppointmentStatus, AppointmentWaitDaily
from core.uow import UnitOfWork

ROLLUP_OFFSET = timedelta(hours=-5)  # America/Lima, the triggers' local day
COUNTS = ("booked", "attended", "no_shows", "cancelled")
SORT_MEMORY = "32MB"  # PostgreSQL's work_mem while the medians sort the period's waits


@dataclass(frozen=True)
class Span:
    """A period of local days and the UTC instants of its first and last-plus-one midnight."""

    start: date
    end: date
    tz: ZoneInfo
    first: datetime
    after: datetime

    @property
    def rolled_up(self) -> bool:
        """Whether the rollup's days (UTC-5) are this zone's days over the whole period."""
        days = (self.end - self.start).days + 2  # every midnight, the one after the end too
        return all(
            datetime.combine(self.start + timedelta(days=i), time(), self.tz).utcoffset()
            == ROLLUP_OFFSET
            for i in range(days)
        )


def span(start: date, end: date, tz: ZoneInfo) -> Span:
    """The period from `start` to `end` (included) in the zone `tz`."""
    first = datetime.combine(start, time(), tz).astimezone(UTC)
    after = datetime.combine(end + timedelta(days=1), time(), tz).astimezone(UTC)
    return Span(start, end, tz, first, after)


def local_day(column: Any, dialect: str, period: Span) -> ColumnElement[Any]:
    """The local day of a UTC timestamp column (SQLite: the zone's offset at the start)."""
    if dialect == "postgresql":
        # A date, not to_char text: formatting every row costs more than the grouping.
        return func.date(func.timezone(period.tz.key, column))
    offset = period.first.astimezone(period.tz).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    return func.strftime("%Y-%m-%d", column, f"{minutes:+d} minutes")


def as_day(value: str | date) -> date:
    """A day as the databases return it (SQLite: ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def counts(dialect: str, period: Span, tenant_id: int | None) -> Subquery:
    """(day, tenant_id, service_id, booked, attended, no_shows, cancelled) rows of the period."""
    if period.rolled_up:
        table = AppointmentDaily
        query = select(
            table.day, table.tenant_id, table.service_id, *(getattr(table, c) for c in COUNTS)
        ).where(table.day >= period.start, table.day <= period.end)
        if tenant_id is not None:
            query = query.where(table.tenant_id == tenant_id)
        return query.subquery()
    one, zero = literal(1), literal(0)
    status = Appointment.status

    def branch(column: Any, values: list[Any], *conditions: Any) -> Any:
        query = select(
            local_day(column, dialect, period).label("day"),
            Appointment.tenant_id,
            Appointment.service_id,
            *(value.label(name) for value, name in zip(values, COUNTS, strict=True)),
        ).where(column >= period.first, column < period.after, *conditions)
        return query if tenant_id is None else query.where(Appointment.tenant_id == tenant_id)

    held = [AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW]
    return union_all(
        branch(Appointment.created_at, [one, zero, zero, zero]),
        branch(
            Appointment.start_utc,
            [
                zero,
                case((status == AppointmentStatus.ATTENDED, 1), else_=0),
                case((status == AppointmentStatus.NO_SHOW, 1), else_=0),
                zero,
            ],
            status.in_(held),
        ),
        branch(
            Appointment.cancelled_at,
            [zero, zero, zero, one],
            status == AppointmentStatus.CANCELLED,
        ),
    ).subquery()


def wait_minutes(dialect: str) -> ColumnElement[int]:
    """Whole minutes from booking to start (whole seconds, never below 0), as the triggers."""
    if dialect == "postgresql":
        seconds = func.extract("epoch", func.date_trunc("second", Appointment.start_utc)) - (
            func.extract("epoch", func.date_trunc("second", Appointment.created_at))
        )
        return cast(func.greatest(0, func.floor(seconds / 60)), Integer)
    seconds = cast(func.strftime("%s", Appointment.start_utc), Integer) - cast(
        func.strftime("%s", Appointment.created_at), Integer
    )
    return func.max(0, seconds // 60)


def waits(dialect: str, period: Span, tenant_id: int | None) -> Subquery:
    """(day, tenant_id, service_id, wait_minutes, bookings) of the period's first bookings."""
    if period.rolled_up:
        table = AppointmentWaitDaily
        query = select(
            table.day, table.tenant_id, table.service_id, table.wait_minutes, table.bookings
        ).where(table.day >= period.start, table.day <= period.end)
        if tenant_id is not None:
            query = query.where(table.tenant_id == tenant_id)
        return query.subquery()
    query = select(
        local_day(Appointment.created_at, dialect, period).label("day"),
        Appointment.tenant_id,
        Appointment.service_id,
        wait_minutes(dialect).label("wait_minutes"),
        literal(1).label("bookings"),
    ).where(
        Appointment.created_at >= period.first,
        Appointment.created_at < period.after,
        Appointment.rescheduled_from_id.is_(None),
    )
    if tenant_id is not None:
        query = query.where(Appointment.tenant_id == tenant_id)
    return query.subquery()


async def medians(
    uow: UnitOfWork, source: Subquery, key_sets: tuple[tuple[str, ...], ...]
) -> list[dict[tuple[Any, ...], tuple[float, int]]]:
    """Median wait minutes and first bookings per value of each set of keys.

    The database takes the medians (the middle wait, or the mean of the two middle ones) from
    the histogram of whole minutes; only the medians come back.
    """
    names = sorted({k for keys in key_sets for k in keys})

    def left_out(keys: tuple[str, ...]) -> int:
        # As PostgreSQL's grouping(): a bit per key column, set when the set leaves it out.
        return sum(1 << (len(names) - 1 - i) for i, k in enumerate(names) if k not in keys)

    if uow.dialect == "postgresql":
        # A national month sorts ~75,000 waits per set of keys: in memory, not in temporary
        # files (the default 4 MB spills them), for this transaction only.
        await uow.session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
        rows = await uow.session.execute(_percentiles(source, names, key_sets))
    else:
        rows = await uow.session.execute(_running_sums(source, names, key_sets, left_out))
    by_set: list[dict[tuple[Any, ...], tuple[float, int]]] = [{} for _ in key_sets]
    index = {left_out(keys): i for i, keys in enumerate(key_sets)}
    for g, *values, median, count in rows:
        if not count:  # the empty set's row of a period with no first booking
            continue
        keys = key_sets[index[g]]
        key = tuple(values[names.index(k)] for k in keys)
        by_set[index[g]][key] = (float(median), int(count))
    return by_set


def _percentiles(
    source: Subquery, names: list[str], key_sets: tuple[tuple[str, ...], ...]
) -> Select[Any]:
    """PostgreSQL: percentile_cont over the histogram's rows, each repeated `bookings` times.

    Almost every row of the histogram is one booking, so the rows of one booking are read as
    they are and only the others go through generate_series (which, for every row, would cost
    four times the whole median): every set of keys in one grouped pass.
    """
    minutes = source.c.wait_minutes
    single = select(*(source.c[k] for k in names), minutes).where(source.c.bookings == 1)
    more = func.generate_series(1, source.c.bookings).table_valued("n")
    repeated = (
        select(*(source.c[k] for k in names), minutes)
        .select_from(source.join(more, true()))
        .where(source.c.bookings > 1)
    )
    rows = union_all(single, repeated).subquery()
    columns = [rows.c[k] for k in names]
    median = func.percentile_cont(0.5).within_group(rows.c.wait_minutes)
    return select(
        (func.grouping(*columns) if columns else literal(0)),
        *columns,
        median,
        func.count(),
    ).group_by(func.grouping_sets(*(tuple_(*(rows.c[k] for k in keys)) for keys in key_sets)))


def _running_sums(
    source: Subquery,
    names: list[str],
    key_sets: tuple[tuple[str, ...], ...],
    left_out: Callable[[tuple[str, ...]], int],
) -> Select[Any]:
    """SQLite (no percentile_cont): the histogram summed per set of keys, then running sums.

    With `cum` the bookings up to a wait and N in all, the median is the mean of the smallest
    wait with 2*cum >= N and the smallest with 2*cum > N.
    """
    minutes = source.c.wait_minutes
    n = func.sum(source.c.bookings)
    histogram = union_all(
        *(
            select(
                *(source.c[k] if k in keys else null().label(k) for k in names),
                minutes,
                n.label("n"),
                literal(left_out(keys)).label("g"),
            )
            .group_by(*(source.c[k] for k in keys), minutes)
            .having(n > 0)
            for keys in key_sets
        )
    ).subquery()
    groups = [histogram.c.g, *(histogram.c[k] for k in names)]
    running = select(
        *groups,
        histogram.c.wait_minutes,
        func.sum(histogram.c.n)
        .over(partition_by=groups, order_by=histogram.c.wait_minutes)
        .label("cum"),
        func.sum(histogram.c.n).over(partition_by=groups).label("total"),
    ).subquery()
    cum, total, wait = running.c.cum, running.c.total, running.c.wait_minutes
    outer = [running.c.g, *(running.c[k] for k in names)]
    return select(
        *outer,
        (func.min(case((2 * cum >= total, wait))) + func.min(case((2 * cum > total, wait)))) / 2.0,
        func.max(total),
    ).group_by(*outer)
