"""Booking core benchmark on PostgreSQL: availability reads and a booking race.

Run from the project root:

    .venv/bin/python bench/bench_booking.py \
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--runs 200]

What it does, on a fresh scratch database (created here, dropped at the end, even on error):

1. migrate and seed (catalogue, tenants, holidays);
2. PE-LMA: 40 specialists competent for `consultas-laborales`, Monday-Friday 08:30-17:00,
   lunch 13:00-14:00; horizon of that service raised to 45 days;
3. book 2,000 appointments one after the other with `booking.book`, spread at random
   (fixed seed) over the 30 days after `now` (Monday 1 February 2027, 08:00 Lima);
4. measure, after a warm-up, over --runs runs each, one unit of work per call:
   (a) `free_slots` for 14 days, (b) the earliest free slot (`first_free_slots(count=1)`);
5. race: PE-CUS with 5 specialists; 500 concurrent `book` calls (own unit of work, own
   citizen) over a pool of 50 connections aim at 10 slot times = 50 free specialist-slots.
   Exactly 50 must be confirmed, none double-booked: otherwise the script exits 1.

Timings are only reported against the targets, never asserted. `--profile` adds a
cProfile run of (a) and (b) and a split of their time between reading and computing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import math
import os
import platform
import pstats
import random
import secrets
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy
from sqlalchemy import func, select, text

from core import availability, booking, catalog, citizens, migrate
from core.db import Database
from core.errors import SlotTaken
from core.models import (
    Appointment,
    AppointmentStatus,
    DocumentType,
    Specialist,
    SpecialistService,
    WeeklyBreak,
    WorkingHours,
)

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVICE = "consultas-laborales"
READ_TENANT = "PE-LMA"
RACE_TENANT = "PE-CUS"
LIMA = ZoneInfo("America/Lima")
# Monday 1 February 2027, 08:00 in Lima: a working week, inside the seeded holidays (2026-27).
NOW = datetime(2027, 2, 1, 8, 0, tzinfo=LIMA).astimezone(UTC)
HORIZON_DAYS = 45
OFFICE = (clock(8, 30), clock(17, 0))
LUNCH = (clock(13, 0), clock(14, 0))
WEEKDAYS = range(5)

READ_SPECIALISTS = 40
BOOKINGS = 2_000
BOOKING_SPREAD_DAYS = 30
FREE_SLOTS_DAYS = 14

RACE_SPECIALISTS = 5
RACE_DAY = date(2027, 2, 4)  # a Thursday, no holiday
# The first ten slot starts of that day: 08:30 ... 12:30 and 14:00 (after lunch).
RACE_TIMES = [
    datetime.combine(RACE_DAY, clock(8, 30), tzinfo=LIMA) + timedelta(minutes=30 * i)
    for i in range(9)
] + [datetime.combine(RACE_DAY, clock(14, 0), tzinfo=LIMA)]
RACE_ATTEMPTS = 500
RACE_POOL = 50

TARGETS_MS = {"free_slots": 20.0, "earliest": 10.0}


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Stats:
    """Summary of one series of timings, in milliseconds."""

    runs: int
    mean: float
    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Stats:
        ordered = sorted(samples_ms)
        return cls(
            runs=len(ordered),
            mean=statistics.fmean(ordered),
            p50=_percentile(ordered, 50),
            p95=_percentile(ordered, 95),
            max=ordered[-1],
        )


def _percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted samples (p95 of 200 runs = the 190th value)."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class RaceResult:
    attempts: int
    confirmed: int
    refused: int
    errors: Counter[str]
    wall_s: float
    latencies_ms: list[float]
    booked_rows: int
    per_time: Counter[datetime]
    overlaps: int

    @property
    def throughput(self) -> float:
        return self.attempts / self.wall_s

    def problems(self) -> list[str]:
        """What makes this race a correctness failure (empty when it passed)."""
        free = RACE_SPECIALISTS * len(RACE_TIMES)
        found = []
        if self.confirmed != free:
            found.append(f"{self.confirmed} confirmed, expected exactly {free}")
        if self.booked_rows != free:
            found.append(f"{self.booked_rows} booked rows in {RACE_TENANT}, expected {free}")
        if self.per_time != {t.astimezone(UTC): RACE_SPECIALISTS for t in RACE_TIMES}:
            found.append(f"booked per slot time is not {RACE_SPECIALISTS} everywhere")
        if self.overlaps:
            found.append(f"{self.overlaps} overlapping booked pairs (double booking)")
        if self.errors:
            found.append(f"unexpected errors: {dict(self.errors)}")
        return found


# --------------------------------------------------------------------------- machine


def machine_facts(pg_version: str) -> dict[str, str]:
    cpu = "unknown"
    cores_per_socket = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and cpu == "unknown":
                cpu = value.strip()
            elif key == "cpu cores" and not cores_per_socket:
                cores_per_socket = value.strip()
    logical = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    cores = f"{logical} logical, {usable} usable"
    if cores_per_socket:
        cores += f" ({cores_per_socket} cores per socket)"
    return {
        "CPU": cpu,
        "Cores": cores,
        "OS": f"{platform.system()} {platform.release()} {platform.machine()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "PostgreSQL": pg_version,
        "SQLAlchemy": sqlalchemy.__version__,
        "asyncpg": asyncpg.__version__,
    }


# --------------------------------------------------------------------------- setup


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def sqlalchemy_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0]
    for prefix in ("postgresql+asyncpg://", "postgres://", "postgresql://"):
        if base.startswith(prefix):
            base = "postgresql+asyncpg://" + base[len(prefix) :]
            break
    return f"{base}/{database}"


def admin_dsn(dsn: str) -> str:
    return dsn.replace("postgresql+asyncpg://", "postgresql://", 1)


async def create_database(dsn: str) -> tuple[str, str]:
    """A new empty database; returns its name and the server's version."""
    name = f"psv_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_dsn(dsn), timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        version = await admin.fetchval("SHOW server_version")
    finally:
        await admin.close()
    return name, str(version)


async def drop_database(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(admin_dsn(dsn), timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def add_specialists(db: Database, tenant_code: str, count: int) -> list[int]:
    """`count` specialists of a region, competent for SERVICE, on office hours with lunch."""
    async with db.uow() as uow:
        tenant = await catalog.get_tenant(uow, tenant_code)
        service = await catalog.get_service(uow, SERVICE)
        specs = [
            Specialist(
                tenant_id=tenant.id,
                name=f"Especialista {tenant_code} {n:02d}",
                contact_channel="telegram",
                contact_address=f"bench-{tenant_code.lower()}-{n}",
            )
            for n in range(1, count + 1)
        ]
        uow.session.add_all(specs)
        await uow.session.flush()
        for spec in specs:
            uow.session.add(SpecialistService(specialist_id=spec.id, service_id=service.id))
            for weekday in WEEKDAYS:
                uow.session.add(
                    WorkingHours(
                        specialist_id=spec.id,
                        weekday=weekday,
                        start_time=OFFICE[0],
                        end_time=OFFICE[1],
                    )
                )
                uow.session.add(
                    WeeklyBreak(
                        specialist_id=spec.id,
                        weekday=weekday,
                        start_time=LUNCH[0],
                        end_time=LUNCH[1],
                    )
                )
        await uow.commit()
        return [spec.id for spec in specs]


async def add_citizens(db: Database, first: int, count: int) -> list[int]:
    async with db.uow() as uow:
        ids = []
        for n in range(first, first + count):
            citizen = await citizens.identify(
                uow, DocumentType.DNI, f"{40000000 + n:08d}", name=f"Ciudadana {n}"
            )
            ids.append(citizen.id)
        await uow.commit()
    return ids


async def set_horizon(db: Database, tenant_codes: Sequence[str], days: int) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE tenant_service SET horizon_days = :days "
                "WHERE service_id = (SELECT id FROM service WHERE code = :service) "
                "AND tenant_id IN (SELECT id FROM tenant WHERE code = ANY(:tenants))"
            ),
            {"days": days, "service": SERVICE, "tenants": list(tenant_codes)},
        )


async def book_spread(db: Database, citizen_ids: Sequence[int], rng: random.Random) -> Stats:
    """Book one appointment per citizen at random free specialist-slots over 30 days."""
    async with db.uow() as uow:
        slots = await availability.free_slots(
            uow,
            READ_TENANT,
            SERVICE,
            NOW,
            NOW + timedelta(days=BOOKING_SPREAD_DAYS),
            now=NOW,
        )
    # One entry per free specialist-slot, so no start is chosen more often than it has room.
    seats = [slot.start for slot in slots for _ in slot.specialist_ids]
    if len(seats) < len(citizen_ids):
        raise RuntimeError(f"only {len(seats)} free specialist-slots for {len(citizen_ids)}")
    chosen = rng.sample(seats, len(citizen_ids))
    log(f"{len(slots)} slot times, {len(seats)} specialist-slots free over 30 days")
    timings = []
    for n, (citizen_id, start) in enumerate(zip(citizen_ids, chosen, strict=True), start=1):
        began = time.perf_counter()
        async with db.uow() as uow:
            await booking.book(
                uow,
                tenant_code=READ_TENANT,
                service_code=SERVICE,
                citizen_id=citizen_id,
                start=start,
                now=NOW,
            )
            await uow.commit()
        timings.append((time.perf_counter() - began) * 1000)
        if n % 500 == 0:
            log(f"booked {n}/{len(citizen_ids)}")
    return Stats.of(timings)


# --------------------------------------------------------------------------- measures


async def free_slots_14_days(db: Database) -> int:
    async with db.uow() as uow:
        slots = await availability.free_slots(
            uow, READ_TENANT, SERVICE, NOW, NOW + timedelta(days=FREE_SLOTS_DAYS), now=NOW
        )
    return len(slots)


async def earliest_slot(db: Database) -> int:
    async with db.uow() as uow:
        slots = await availability.first_free_slots(uow, READ_TENANT, SERVICE, now=NOW, count=1)
    return len(slots)


async def measure(call: Callable[[], Awaitable[int]], runs: int, warmup: int) -> Stats:
    for _ in range(warmup):
        await call()
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - began) * 1000)
    return Stats.of(timings)


async def race(url: str, citizen_ids: Sequence[int]) -> RaceResult:
    """500 concurrent bookings for 50 free specialist-slots, over 50 connections."""
    wide = Database(url, pool_size=RACE_POOL)
    try:
        # Open the pool's connections first, so the race does not time their handshakes.
        async def touch() -> None:
            async with wide.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0.05)

        await asyncio.gather(*(touch() for _ in range(RACE_POOL)))

        errors: Counter[str] = Counter()
        latencies: list[float] = []

        async def attempt(citizen_id: int, start: datetime) -> bool:
            began = time.perf_counter()
            try:
                async with wide.uow() as uow:
                    await booking.book(
                        uow,
                        tenant_code=RACE_TENANT,
                        service_code=SERVICE,
                        citizen_id=citizen_id,
                        start=start.astimezone(UTC),
                        now=NOW,
                    )
                    await uow.commit()
                return True
            except SlotTaken:
                return False
            except Exception as exc:  # counted and reported: any of these fails the run
                errors[type(exc).__name__] += 1
                return False
            finally:
                latencies.append((time.perf_counter() - began) * 1000)

        jobs = [
            attempt(citizen_id, RACE_TIMES[n % len(RACE_TIMES)])
            for n, citizen_id in enumerate(citizen_ids)
        ]
        began = time.perf_counter()
        outcomes = await asyncio.gather(*jobs)
        wall = time.perf_counter() - began
        confirmed = sum(outcomes)
    finally:
        await wide.dispose()

    db = Database(url, pool_size=2)
    try:
        async with db.uow() as uow:
            tenant = await catalog.get_tenant(uow, RACE_TENANT)
            rows = await uow.session.execute(
                select(Appointment.start_utc, func.count())
                .where(
                    Appointment.tenant_id == tenant.id,
                    Appointment.status == AppointmentStatus.BOOKED,
                )
                .group_by(Appointment.start_utc)
            )
            per_time: Counter[datetime] = Counter({start: n for start, n in rows})
            overlaps = await uow.session.scalar(
                text(
                    "SELECT count(*) FROM appointment a JOIN appointment b "
                    "ON a.specialist_id = b.specialist_id AND a.id < b.id "
                    "AND a.start_utc < b.busy_until AND b.start_utc < a.busy_until "
                    "WHERE a.status = 'booked' AND b.status = 'booked'"
                )
            )
    finally:
        await db.dispose()
    return RaceResult(
        attempts=len(citizen_ids),
        confirmed=confirmed,
        refused=len(citizen_ids) - confirmed - sum(errors.values()),
        errors=errors,
        wall_s=wall,
        latencies_ms=latencies,
        booked_rows=sum(per_time.values()),
        per_time=per_time,
        overlaps=int(overlaps or 0),
    )


# --------------------------------------------------------------------------- profiling


async def profile(db: Database, runs: int) -> None:
    """cProfile of (a) and (b), and their time split between queries and computing."""
    for label, call in (
        ("free_slots 14 days", free_slots_14_days),
        ("earliest free slot", earliest_slot),
    ):
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(runs):
            await call(db)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(18)
        stats.sort_stats("cumulative").print_stats(25)
        print(f"\n=== cProfile: {label}, {runs} runs ===\n{out.getvalue()}")

    load_ms, compute_ms, lookup_ms = [], [], []
    for _ in range(runs):
        async with db.uow() as uow:
            t0 = time.perf_counter()
            tenant = await catalog.get_tenant(uow, READ_TENANT)
            service = await catalog.get_service(uow, SERVICE)
            _, rules = await availability.tenant_service_rules(uow, tenant, service)
            t1 = time.perf_counter()
            start = NOW + rules.min_notice
            end = NOW + timedelta(days=FREE_SLOTS_DAYS)
            schedule = await availability.load_schedule(uow, tenant, service, rules, start, end)
            t2 = time.perf_counter()
            availability.compute_slots(schedule, start, end, NOW)
            t3 = time.perf_counter()
        lookup_ms.append((t1 - t0) * 1000)
        load_ms.append((t2 - t1) * 1000)
        compute_ms.append((t3 - t2) * 1000)
    print(f"=== free_slots 14 days split, {runs} runs (ms) ===")
    for label, samples in (
        ("tenant/service/rules lookups (3 queries)", lookup_ms),
        ("load_schedule (5 queries + rows)", load_ms),
        ("compute_slots (pure Python)", compute_ms),
    ):
        s = Stats.of(samples)
        print(f"  {label:<42} mean {s.mean:7.2f}  p50 {s.p50:7.2f}  p95 {s.p95:7.2f}")


# --------------------------------------------------------------------------- report


def verdict(value_ms: float, target_ms: float) -> str:
    return "met" if value_ms <= target_ms else "NOT met"


def report(
    facts: dict[str, str],
    command: str,
    free: Stats,
    earliest: Stats,
    seq: Stats,
    result: RaceResult,
    counts: dict[str, int],
) -> None:
    width = max(len(k) for k in facts)
    print("\nMachine")
    for key, value in facts.items():
        print(f"  {key:<{width}}  {value}")
    print(f"\nCommand  {command}")
    print(
        f"Data     {READ_TENANT}: {READ_SPECIALISTS} specialists, {BOOKINGS} appointments "
        f"over {BOOKING_SPREAD_DAYS} days; now = {NOW.astimezone(LIMA):%Y-%m-%d %H:%M} Lima"
    )
    print(
        f"         (a) returns {counts['free']} slot times; (b) returns {counts['earliest']} slot"
    )

    header = f"{'measure':<34}{'runs':>6}{'mean':>9}{'p50':>9}{'p95':>9}{'max':>9}  target"
    print("\nLatency (ms, one unit of work per call)")
    print(header)
    print("-" * len(header))
    rows = (
        ("(a) free_slots, 14 days", free, TARGETS_MS["free_slots"]),
        ("(b) earliest free slot", earliest, TARGETS_MS["earliest"]),
        ("setup: sequential book()", seq, None),
    )
    for label, s, target in rows:
        goal = f"p95 <= {target:g} ms: {verdict(s.p95, target)}" if target is not None else "(info)"
        print(
            f"{label:<34}{s.runs:>6}{s.mean:>9.2f}{s.p50:>9.2f}{s.p95:>9.2f}{s.max:>9.2f}  {goal}"
        )

    lat = Stats.of(result.latencies_ms)
    free_seats = RACE_SPECIALISTS * len(RACE_TIMES)
    print(
        f"\n(c) Booking race: {result.attempts} concurrent book() over a pool of {RACE_POOL}, "
        f"{RACE_SPECIALISTS} specialists x {len(RACE_TIMES)} slot times = {free_seats} free"
    )
    print(f"  confirmed          {result.confirmed}  (must be {free_seats})")
    print(f"  refused SlotTaken  {result.refused}")
    print(f"  other errors       {sum(result.errors.values())} {dict(result.errors) or ''}")
    print(f"  booked rows (DB)   {result.booked_rows}; overlapping pairs {result.overlaps}")
    print(f"  wall time          {result.wall_s:.3f} s")
    print(f"  throughput         {result.throughput:.1f} attempts/s")
    print(
        f"  attempt latency    mean {lat.mean:.1f} ms, p50 {lat.p50:.1f} ms, "
        f"p95 {lat.p95:.1f} ms, max {lat.max:.1f} ms"
    )


# --------------------------------------------------------------------------- main


async def run(url: str, args: argparse.Namespace, pg_version: str, command: str) -> int:
    rng = random.Random(args.seed)
    db = Database(url, pool_size=5)
    try:
        log("migrating and seeding")
        await migrate.upgrade(db)
        async with db.uow() as uow:
            await catalog.seed(uow)
            await uow.commit()
        await set_horizon(db, (READ_TENANT, RACE_TENANT), HORIZON_DAYS)
        await add_specialists(db, READ_TENANT, READ_SPECIALISTS)
        await add_specialists(db, RACE_TENANT, RACE_SPECIALISTS)
        log("creating citizens")
        bookers = await add_citizens(db, 1, BOOKINGS)
        racers = await add_citizens(db, BOOKINGS + 1, RACE_ATTEMPTS)
        log(f"booking {BOOKINGS} appointments one after the other")
        seq = await book_spread(db, bookers, rng)
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))

        counts = {"free": await free_slots_14_days(db), "earliest": await earliest_slot(db)}
        log(f"(a) free_slots 14 days: {args.warmup} warm-up + {args.runs} runs")
        free = await measure(lambda: free_slots_14_days(db), args.runs, args.warmup)
        log(f"(b) earliest free slot: {args.warmup} warm-up + {args.runs} runs")
        earliest = await measure(lambda: earliest_slot(db), args.runs, args.warmup)
        if args.profile:
            await profile(db, args.runs)
    finally:
        await db.dispose()

    log(f"(c) race: {RACE_ATTEMPTS} concurrent bookings")
    result = await race(url, racers)

    report(machine_facts(pg_version), command, free, earliest, seq, result, counts)
    problems = result.problems()
    if problems:
        print("\nFAILED (correctness): " + "; ".join(problems))
        return 1
    print("\nOK: exactly 50 confirmed, no double booking (timings are informative only)")
    return 0


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dsn",
        default=os.environ.get("PSV_BENCH_PG_DSN", DEFAULT_DSN),
        help="admin DSN of the PostgreSQL server; a scratch database is made beside it",
    )
    parser.add_argument("--runs", type=int, default=200, help="measured runs of (a) and (b)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up runs before each")
    parser.add_argument("--seed", type=int, default=20270201, help="seed of the booking spread")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile (a) and (b) and split their time"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else "python"
    script = os.path.relpath(os.path.abspath(__file__))
    command = " ".join([python, script, *(argv if argv is not None else sys.argv[1:])])

    # A plain `kill` must still reach the `finally` below that drops the scratch database.
    signal.signal(signal.SIGTERM, _terminate)
    name, pg_version = asyncio.run(create_database(args.dsn))
    log(f"scratch database {name} (PostgreSQL {pg_version})")
    try:
        return asyncio.run(run(sqlalchemy_url(args.dsn, name), args, pg_version, command))
    finally:
        asyncio.run(drop_database(args.dsn, name))
        log(f"dropped {name}")


if __name__ == "__main__":
    sys.exit(main())
