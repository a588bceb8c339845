"""The outbox worker's claim alone: ms per claim with 10,000 unsent messages for 2,000 addresses.

A scratch database is migrated and given a history of sent messages, then (statistics taken
while the queue was quiet, autovacuum off so they stay stale) a burst of unsent ones: five per
address, queued round the addresses over the last ten minutes; three addresses in ten get
replies (priority 10), the others notices. With --mixed, three messages in ten are replies
whatever their address, so most replies wait behind an older notice of their address: the
walk in priority order passes them at every claim (the claim's worst case).

Each round claims a batch of 50 (--batch) the way `OutboxWorker` does, timed from the first
statement to the commit; between rounds (not timed) the batch claimed the round before is
marked sent and as many new messages are queued, so the queue stays at about 10,000 with a
batch in flight.

"before" is the claim of commit a5136b7 (the first waiting message of every address, then the
due ones among those ids, leased through the ORM) on the schema of migration 0012; "after" is
`bot.outbox.claim`'s one statement on migration 0013. The lookups both do after the claim (the
24-hour window, unreachable people) are left out. `EXPLAIN ANALYZE` of one claim is printed
for PostgreSQL (server time, without the round trip).

Run: PYTHONPATH=$PWD .venv/bin/python bench/bench_outbox_claim.py [--waiting 10000]
     [--addresses 2000] [--rounds 300] [--batch 50] [--history 30000] [--sqlite] [--mixed]
     [--explain]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scratch import PG_DSN, scratch_postgres
from sqlalchemy import and_, bindparam, func, insert, or_, select, text, update

from bot.outbox.claim import claim_statement, plan_settings
from core import migrate
from core.db import Database
from core.models import OutboxMessage
from core.states import OutboxStatus
from core.types import UTCDateTime, utcnow

LEASE = timedelta(seconds=60)


def message(address: int, due: datetime, reply: bool, status: str) -> dict[str, Any]:
    """One outbox row's values, due at `due`: a reply (priority 10) or a notice."""
    return {
        "channel": "telegram",
        "address": str(7_000_000 + address),
        "payload": {"text": "Su cita quedó registrada, gracias."},
        "status": status,
        "priority": 10 if reply else 0,
        "due_at": due,
        "attempts": 0,
        "kind": "reply" if reply else "notice",
        "provider_ids": [],
        "created_at": due,
    }


async def queue(db: Database, rows: list[dict[str, Any]]) -> None:
    """Insert the rows in one transaction."""
    async with db.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(insert(OutboxMessage), rows[start : start + 5000])


# ---- before: the two statements of commit a5136b7 ---------------------------------------


async def claim_before(db: Database, now: datetime, busy: list[int], batch: int) -> list[int]:
    """The first waiting message of each address, then the due ones among them, leased."""
    waiting = or_(
        OutboxMessage.status == OutboxStatus.SENDING,
        and_(
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(OutboxMessage.due_at <= now, OutboxMessage.attempts > 0),
        ),
    )
    async with db.uow() as uow:
        firsts = list(
            await uow.session.scalars(
                select(func.min(OutboxMessage.id))
                .where(waiting, OutboxMessage.channel.in_(["telegram"]))
                .group_by(OutboxMessage.channel, OutboxMessage.address)
            )
        )
        firsts = sorted(i for i in firsts if i not in set(busy))[:10_000]
        due = or_(
            and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now),
            and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.leased_until < now),
        )
        rows = list(
            await uow.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(firsts), due)
                .order_by(OutboxMessage.priority.desc(), OutboxMessage.due_at, OutboxMessage.id)
                .limit(batch)
                .with_for_update(skip_locked=True, of=OutboxMessage)
            )
        )
        for row in rows:
            row.status = OutboxStatus.SENDING
            row.leased_until = now + LEASE
            row.attempts += 1
        ids = [row.id for row in rows]
        await uow.commit()
    return ids


# ---- after: bot.outbox.claim's one statement ----------------------------------------------


def params(db: Database, now: datetime, busy: list[int], batch: int) -> dict[str, Any]:
    """The claim statement's parameters, as `bot.outbox.claim.claim` binds them."""
    lists: dict[str, Any] = {"channels": ["telegram"], "own": [], "busy": busy}
    if not db.is_postgres:
        lists = {name: json.dumps(value) for name, value in lists.items()}
    return {"now": now, "lease_end": now + LEASE, "limit": batch, **lists}


async def claim_after(db: Database, now: datetime, busy: list[int], batch: int) -> list[int]:
    """One statement picks, locks and leases the batch (after the plan's settings)."""
    dialect = db.engine.dialect.name
    statement = claim_statement(dialect)
    async with db.uow() as uow:
        for setting in plan_settings(dialect):
            await uow.session.execute(setting)
        rows = list(await uow.session.execute(statement, params(db, now, busy, batch)))
        await uow.commit()
    return [row.id for row in rows]


async def explain(db: Database, now: datetime, busy: list[int], batch: int) -> str:
    """EXPLAIN ANALYZE of one claim (rolled back), PostgreSQL only."""
    sql = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + str(claim_statement("postgresql").element)
    statement = text(sql).bindparams(
        bindparam("now", type_=UTCDateTime()), bindparam("lease_end", type_=UTCDateTime())
    )
    async with db.engine.connect() as conn:
        for setting in plan_settings("postgresql"):
            await conn.execute(setting)
        lines = [row[0] for row in await conn.execute(statement, params(db, now, busy, batch))]
        await conn.rollback()
    return "\n".join(lines)


CLAIMS = (  # the claim's statements, as pg_stat_statements normalises them
    "SELECT min(outbox_message.id)",  # before: first waiting message of each address
    "FOR UPDATE",  # before: the due ones among them; after: the one statement
    "leased_until=",  # before: the ORM's lease, one row per execution
    "SELECT set_config($1, $2, $3)",  # after: sorts off
)


async def server_times(db: Database, rounds: int) -> None:
    """PostgreSQL's own time in the claim's statements (pg_stat_statements of this database)."""
    async with db.engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT query, calls, total_exec_time FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        groups: dict[str, list[float]] = {}
        for query, calls, spent in found:
            for mark in CLAIMS:
                if mark in query:  # the first mark found names the statement
                    group = groups.setdefault(mark, [0, 0.0])
                    group[0] += calls
                    group[1] += spent
                    break
    total = sum(spent for _, spent in groups.values())
    for mark, (calls, spent) in groups.items():
        print(f"    {int(calls):6} calls, mean {spent / calls:7.3f} ms: {mark}")
    print(f"    PostgreSQL's time in the claim: {total / rounds:.3f} ms a claim")


async def run(url: str, label: str, args: argparse.Namespace, before: bool) -> None:
    """Fill one database, then time `args.rounds` claims."""
    db = Database(url)
    try:
        await migrate.upgrade(db)
        async with db.engine.begin() as conn:
            if before:  # the schema of migration 0012
                await conn.execute(text("DROP INDEX ix_outbox_claim_order"))
                await conn.execute(text("DROP INDEX ix_outbox_waiting_address"))
            if db.is_postgres:
                await conn.execute(
                    text("ALTER TABLE outbox_message SET (autovacuum_enabled = false)")
                )
                await conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        rng = random.Random(7)
        now = utcnow()
        old = now - timedelta(days=1)
        sent = [message(rng.randrange(50_000), old, False, "sent") for _ in range(args.history)]

        def reply(address: int) -> bool:
            """Three addresses in ten get replies; with --mixed, three messages in ten."""
            return rng.random() < 0.3 if args.mixed else address % 10 < 3

        await queue(db, sent[:15])
        async with db.engine.begin() as conn:  # statistics of a quiet hour
            await conn.execute(text("ANALYZE outbox_message" if db.is_postgres else "ANALYZE"))
        await queue(db, sent[15:])
        # queued in the last ten minutes, round the addresses (five each with the defaults)
        step = timedelta(seconds=600 / args.waiting)
        first = now - timedelta(seconds=600)
        burst = [
            message(n % args.addresses, first + n * step, reply(n % args.addresses), "pending")
            for n in range(args.waiting)
        ]
        await queue(db, burst)
        claim = claim_before if before else claim_after
        times: list[float] = []
        busy: list[int] = []
        for _ in range(args.rounds):
            now = utcnow()
            start = time.perf_counter()
            taken = await claim(db, now, busy, args.batch)
            times.append((time.perf_counter() - start) * 1000)
            async with db.engine.begin() as conn:  # the previous batch was sent; more queued
                if busy:
                    await conn.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(busy))
                        .values(status="sent", sent_at=now)
                    )
                    addresses = [rng.randrange(args.addresses) for _ in busy]
                    fresh = [message(a, now, reply(a), "pending") for a in addresses]
                    await conn.execute(insert(OutboxMessage), fresh)
            busy = taken
        async with db.engine.connect() as conn:
            left = await conn.scalar(
                text("SELECT count(*) FROM outbox_message WHERE status IN ('pending', 'sending')")
            )
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        which = "before (0012, two statements)" if before else "after (0013, one statement)"
        print(
            f"{label:10} {which:30} mean {statistics.mean(times):7.2f} ms  "
            f"median {statistics.median(times):7.2f} ms  p99 {p99:7.2f} ms  "
            f"({args.rounds} claims of {args.batch}; {left} unsent at the end)"
        )
        if db.is_postgres:
            await server_times(db, args.rounds)
        if db.is_postgres and not before and args.explain:
            print(await explain(db, utcnow(), busy, args.batch))
    finally:
        await db.dispose()


async def main() -> None:
    """Before and after, on SQLite and PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--addresses", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--batch", type=int, default=50, help="messages a claim may lease")
    parser.add_argument("--history", type=int, default=30_000)
    parser.add_argument("--pg-dsn", default=PG_DSN)
    parser.add_argument("--sqlite", action="store_true", help="SQLite too")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE one claim")
    parser.add_argument(
        "--mixed", action="store_true", help="replies and notices mixed within an address"
    )
    args = parser.parse_args()
    mix = "mixed within addresses" if args.mixed else "three addresses in ten"
    print(
        f"{args.waiting} unsent messages for {args.addresses} addresses (replies: {mix}), "
        f"{args.history} sent, statistics taken before the burst"
    )
    for before in (True, False):
        if args.sqlite:
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
                await run(url, "SQLite", args, before)
        async with scratch_postgres(args.pg_dsn, "psv_bench_claim") as url:
            await run(url, "PostgreSQL", args, before)


if __name__ == "__main__":
    asyncio.run(main())
