"""Dashboard and /metrics on PostgreSQL at national scale.

Run from the project root:

    .venv/bin/python bench/bench_dashboard.py \
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--runs 20] [--scale 1.0] [--keep]

On a scratch database (created here, dropped at the end, even on error; with --keep
the database psv_bench_dashboard, filled on the first run and reused, migrated to the
head on each): migrate and seed, then fill with INSERT ... SELECT generate_series
(scale 1.0): 1,000,000 appointments over 400 days in the 26 regions, 500,000
conversations, 5,000,000 inbound messages, 1,000,000 outbox messages (20,000 pending),
100,000 survey answers, 2,000 group events with 60,000 registrations, 1,000 open hand-off
tickets. Then, after a warm-up, time each query
of the page (`bot/dashboard/queries.py`, with `core.reports.report`) for the country and
for one region over today, 7 and 30 days, the first free slot of every offer
(`bot/dashboard/first_free.py`: each specialist competent for its region's offers, weekdays
8:30-17), and `GET /metrics` on a real `Server` app.
Timings are printed against the targets (p95 <= 300 ms per query, one scrape <= 50 ms),
never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.dashboard import first_free, queries
from bot.server import Server
from core import catalog, daily, migrate, reports
from core.db import Database
from core.models import Tenant
from core.settings import Settings

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
KEPT = "psv_bench_dashboard"  # the database --keep fills once and reuses
LIMA = ZoneInfo("America/Lima")


def fill_sql(scale: float) -> list[tuple[str, str]]:
    """The statements that fill the scratch database (label, SQL)."""
    appointments = int(1_000_000 * scale)
    conversations = int(500_000 * scale)
    inbound = int(5_000_000 * scale)
    outbox = int(1_000_000 * scale)
    return [
        (
            "specialists (2 per region)",
            """INSERT INTO specialist (tenant_id, name, contact_channel, contact_address, active)
               SELECT t.id, 'Especialista ' || t.code || '-' || k, 'telegram',
                      t.id * 10 + k, true
               FROM tenant t CROSS JOIN generate_series(1, 2) k""",
        ),
        (
            "citizens (100,000, no documents)",
            """INSERT INTO citizen (preferred_language, share_phone, created_at)
               SELECT 'es', false, now() FROM generate_series(1, 100000)""",
        ),
        (
            f"appointments ({appointments:,})",
            f"""WITH s AS (SELECT id, tenant_id, row_number() OVER (ORDER BY id) - 1 AS n,
                                  count(*) OVER () AS total FROM specialist),
                    v AS (SELECT array_agg(id ORDER BY id) AS ids FROM service
                          WHERE kind = 'appointment'),
                    c AS (SELECT min(id) AS first FROM citizen)
               INSERT INTO appointment (tenant_id, service_id, specialist_id, citizen_id,
                   start_utc, end_utc, busy_until, status, cancelled_at, channel, created_at)
               SELECT s.tenant_id,
                      v.ids[1 + (i % array_length(v.ids, 1))],
                      s.id,
                      c.first + (i % 100000),
                      st, st + interval '30 minutes', st + interval '30 minutes',
                      CASE WHEN i % 20 < 12 THEN 'attended' WHEN i % 20 < 14 THEN 'no_show'
                           WHEN i % 20 < 17 THEN 'cancelled' ELSE 'booked' END,
                      CASE WHEN i % 20 BETWEEN 14 AND 16 THEN st - interval '1 day' END,
                      'telegram',
                      st - (interval '1 hour' * (2 + (i % 240)))
               FROM generate_series(0, {appointments - 1}) i
               CROSS JOIN v CROSS JOIN c
               JOIN s ON s.n = i % s.total
               CROSS JOIN LATERAL (SELECT now() - interval '380 days'
                      + interval '30 minutes' * (i / (SELECT count(*) FROM specialist)) AS st) x""",
        ),
        (
            f"conversations ({conversations:,})",
            f"""WITH t AS (SELECT array_agg(code ORDER BY id) AS codes FROM tenant)
               INSERT INTO conversation (channel, user_ref, answers, memory, state, language,
                   misunderstood, created_at)
               SELECT 'telegram', 'u' || i, '{{}}',
                      json_build_object('region', t.codes[1 + i % array_length(t.codes, 1)]),
                      '{{}}', 'es', 0,
                      now() - interval '400 days' * (i::float / {conversations})
               FROM generate_series(1, {conversations}) i CROSS JOIN t""",
        ),
        (
            f"inbound messages ({inbound:,}, 200 queued)",
            f"""INSERT INTO inbound_message (channel, message_id, user_ref, status, received_at)
               SELECT 'telegram', 'm' || i, 'u' || (i % {conversations}),
                      CASE WHEN i <= 200 THEN 'queued' ELSE 'done' END,
                      now() - interval '400 days' * (i::float / {inbound})
               FROM generate_series(1, {inbound}) i""",
        ),
        (
            f"outbox messages ({outbox:,}, 2% pending)",
            f"""INSERT INTO outbox_message (channel, address, payload, status, priority, due_at,
                   attempts, kind, provider_ids, created_at)
               SELECT 'telegram', 'u' || (i % 1000), '{{"text": "hola"}}',
                      CASE WHEN i % 50 = 0 THEN 'pending' ELSE 'sent' END,
                      CASE WHEN i % 2 = 0 THEN 10 ELSE 0 END,
                      now() + interval '30 days' - interval '400 days' * (i::float / {outbox}),
                      1, 'reply', '[]', now() - interval '400 days' * (i::float / {outbox})
               FROM generate_series(1, {outbox}) i""",
        ),
        (
            "survey answers (100,000)",
            """INSERT INTO survey_response (tenant_id, score, created_at)
               SELECT 1 + (SELECT min(id) FROM tenant) + i % 26 - 1, 1 + i % 5,
                      now() - interval '400 days' * (i::float / 100000)
               FROM generate_series(1, 100000) i""",
        ),
        (
            "group events (2,000) and registrations (60,000)",
            """WITH v AS (SELECT min(id) AS id FROM service WHERE kind = 'group_event')
               INSERT INTO group_event (tenant_id, service_id, title, start_utc,
                   duration_minutes, seats, status, confirmed_count, last_position)
               SELECT (SELECT min(id) FROM tenant) + i % 26, v.id, 'Taller ' || i,
                      now() - interval '400 days' * (i::float / 2000), 90, 60, 'scheduled', 30, 30
               FROM generate_series(1, 2000) i CROSS JOIN v""",
        ),
        (
            "registrations",
            """INSERT INTO event_registration (event_id, citizen_id, status, position, channel,
                   created_at, updated_at)
               SELECT e.id, (SELECT min(id) FROM citizen) + (e.id * 31 + k) % 100000,
                      'confirmed', k, 'telegram', e.start_utc - interval '3 days',
                      e.start_utc - interval '3 days'
               FROM group_event e CROSS JOIN generate_series(1, 30) k""",
        ),
        (
            "open hand-off tickets (1,000)",
            """INSERT INTO handoff_request (tenant_id, conversation_id, status, created_at)
               SELECT (SELECT min(id) FROM tenant) + i % 26, (SELECT min(id) FROM conversation)
                      + i, 'open', now() - interval '1 minute' * i
               FROM generate_series(1, 1000) i""",
        ),
    ]


async def filled(db: Database) -> bool:
    """Whether the database already holds the benchmark's appointments."""
    async with db.engine.connect() as conn:
        return bool(await conn.scalar(text("SELECT EXISTS (SELECT 1 FROM appointment)")))


STAFF_SQL = [
    """INSERT INTO specialist_service (specialist_id, service_id)
       SELECT s.id, ts.service_id FROM specialist s
       JOIN tenant_service ts ON ts.tenant_id = s.tenant_id AND ts.enabled
       JOIN service v ON v.id = ts.service_id AND v.kind = 'appointment'
       ON CONFLICT DO NOTHING""",
    """INSERT INTO working_hours (specialist_id, weekday, start_time, end_time)
       SELECT s.id, d, h.a, h.b FROM specialist s CROSS JOIN generate_series(0, 4) d
       CROSS JOIN (VALUES (time '08:30', time '13:00'), (time '14:00', time '17:00')) h(a, b)""",
]


async def staff(db: Database) -> None:
    """Make every specialist competent for its region's offers, weekdays 8:30-17 (once)."""
    async with db.engine.begin() as conn:
        if await conn.scalar(text("SELECT EXISTS (SELECT 1 FROM specialist_service)")):
            return
        for sql in STAFF_SQL:
            await conn.execute(text(sql))
    print("staffed: every offer of each region, weekdays 8:30-13 and 14-17", flush=True)


async def timed(job: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    """Milliseconds of each run, after one warm-up run."""
    await job()
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        await job()
        found.append((time.perf_counter() - started) * 1000)
    return found


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


class Statements:
    """Wall time of each SQL statement (by its text) while `on` is set."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self.times: dict[str, list[float]] = {}
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, _statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        started = conn.info.pop("bench_started", None)
        if self.on and started is not None:
            key = " ".join(statement.split())
            self.times.setdefault(key, []).append((time.perf_counter() - started) * 1000)


async def bench(db: Database, runs: int) -> list[tuple[str, list[float], float]]:
    """Time every dashboard query and the /metrics scrape."""
    rows: list[tuple[str, list[float], float]] = []
    statements = Statements(db)
    tz = LIMA
    now = datetime.now(UTC)
    today = now.astimezone(tz).date()
    async with db.uow() as uow:
        lima = await uow.session.scalar(select(Tenant.id).where(Tenant.code == "PE-LMA"))
    for scope_name, tenant_id in (("country", None), ("PE-LMA", lima)):
        for days in (1, 7, 30):
            start = today - timedelta(days=days - 1)
            period = daily.span(start, today, tz)
            first, after = period.first, period.after
            label = f"{scope_name}, {days} d"

            def session_job(
                fn: Callable[[Any], Awaitable[Any]],
            ) -> Callable[[], Awaitable[Any]]:
                async def job() -> Any:
                    async with db.uow() as uow:
                        return await fn(uow)

                return job

            jobs: list[tuple[str, Callable[[Any], Awaitable[Any]]]] = [
                (
                    "reports.report",
                    lambda uow, t=tenant_id, s=start: reports.report(
                        uow, tenant_id=t, start=s, end=today, tz=tz
                    ),
                ),
                (
                    "by_service",
                    lambda uow, t=tenant_id, p=period: queries.by_service(uow, t, p, "es"),
                ),
                (
                    "waits",
                    lambda uow, t=tenant_id, p=period: queries.waits(uow, t, p, {}, {}),
                ),
                (
                    "group_events",
                    lambda uow, t=tenant_id, f=first, a=after: queries.group_events(
                        uow, t, f, a, 0, now
                    ),
                ),
                (
                    "waiting_tickets",
                    lambda uow, t=tenant_id: queries.waiting_tickets(uow, t, now),
                ),
            ]
            page = [
                (
                    "whole page (overview)",
                    lambda t=tenant_id, s=start: queries.overview(
                        db,
                        tenant_id=t,
                        start=s,
                        end=today,
                        tz=tz,
                        now=now,
                        lang="es",
                        saving_soles=25.14,
                        saving_hours=4.0,
                    ),
                ),
            ]
            statements.on = scope_name == "country" and days == 30
            for name, fn in jobs:
                values = await timed(session_job(fn), runs)
                rows.append((f"{name} ({label})", values, 300.0))
                print(f"  {rows[-1][0]}: p95 {p95(values):.1f} ms", flush=True)
            for name, whole in page:
                values = await timed(whole, runs)
                rows.append((f"{name} ({label})", values, 300.0))
                print(f"  {rows[-1][0]}: p95 {p95(values):.1f} ms", flush=True)
    statements.on = False
    offers = await first_free.compute(db, now)
    values = await timed(lambda: first_free.compute(db, now), max(2, runs // 10))
    rows.append(
        (
            f"first free slot of {len(offers)} offers (cached {first_free.CACHE_SECONDS:.0f} s)",
            values,
            0.0,
        )
    )
    cache = first_free.FirstFreeCache()
    await cache.get(db, now)
    await cache.close()  # the first search ends; page views then read the copy
    values = await timed(lambda: cache.get(db, now), runs)
    rows.append(("first free slot, cached (a page view)", values, 300.0))
    print("\nEach SQL statement of the page (country, 30 days), slowest p95 first:")
    ranked = sorted(statements.times.items(), key=lambda item: -p95(item[1]))
    for statement, values in ranked:
        if statement.startswith(("BEGIN", "ROLLBACK", "COMMIT")):
            continue
        print(f"  p95 {p95(values):7.1f} ms  n={len(values):3d}  {statement[:150]}")
    settings = Settings(_env_file=None, database_url=db.url)  # type: ignore[call-arg]
    server = Server(settings, Database(db.url), channels={}, run_worker=False, run_inbox=False)
    async with TestClient(TestServer(server.app)) as client:

        async def scrape() -> None:
            response = await client.get("/metrics")
            assert response.status == 200
            await response.read()

        values = await timed(scrape, runs)
        rows.append(("GET /metrics (one scrape)", values, 50.0))
        print(f"  GET /metrics: p95 {p95(values):.1f} ms", flush=True)
    return rows


async def main() -> int:
    """Create, fill, measure, drop."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--keep",
        action="store_true",
        help=f"fill {KEPT} once, keep it and reuse it on the next runs (migrated to head)",
    )
    args = parser.parse_args()
    name = KEPT if args.keep else f"psv_bench_dash_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(args.dsn)
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    if not exists:
        await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = args.dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    db = Database(f"{base}/{name}", pool_size=4)
    try:
        print(f"Python {platform.python_version()}, scratch database {name}", flush=True)
        await migrate.upgrade(db)
        fill_started = time.perf_counter()
        if not await filled(db):
            async with db.uow() as uow:
                await catalog.seed(uow)
                await uow.commit()
            for label, sql in fill_sql(args.scale):
                started = time.perf_counter()
                async with db.engine.begin() as conn:
                    await conn.execute(text(sql))
                print(f"filled {label} in {time.perf_counter() - started:.1f} s", flush=True)
        await staff(db)
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
        print(f"fill + analyze: {time.perf_counter() - fill_started:.0f} s", flush=True)
        rows = await bench(db, args.runs)
        print()
        print("| query | p50 ms | p95 ms | max ms | target |")
        print("| --- | ---: | ---: | ---: | --- |")
        for label, values, target in rows:
            verdict = "met" if p95(values) <= target else "**not met**"
            if not target:
                median, high, top = statistics.median(values), p95(values), max(values)
                print(f"| {label} | {median:.1f} | {high:.1f} | {top:.1f} | background |")
                continue
            print(
                f"| {label} | {statistics.median(values):.1f} | {p95(values):.1f} "
                f"| {max(values):.1f} | ≤ {target:.0f} ms: {verdict} |"
            )
    finally:
        await db.dispose()
        if not args.keep:
            admin = await asyncpg.connect(args.dsn)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
