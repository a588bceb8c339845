"""The outbox worker's claim alone: ms per claim with 10,000 unsent messages for 2,000 addresses.

A scratch database is migrated and given a history of sent messages, then (statistics taken
while the queue was quiet, autovacuum off so they stay stale) a burst of unsent ones: five per
address, three in ten replies (priority 10), due in the last ten minutes. Each round claims a
batch of 50 the way `OutboxWorker` does and is timed from the first statement to the commit;
between rounds (not timed) the batch claimed the round before is marked sent and as many new
messages are queued, so the queue stays at about 10,000 with 50 messages in flight.

"before" is the claim of commit a5136b7 (the first waiting message of every address, then the
due ones among those ids, leased through the ORM) on the schema of migration 0012; "after" is
`bot.outbox.claim`'s one statement on migration 0013. The lookups both do after the claim (the
24-hour window, unreachable people) are left out. `EXPLAIN ANALYZE` of one claim is printed
for PostgreSQL (server time, without the round trip).

Run: PYTHONPATH=$PWD .venv/bin/python bench/bench_outbox_claim.py [--waiting 10000]
     [--addresses 2000] [--rounds 300] [--history 30000] [--sqlite]
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

from bot.outbox.claim import claim_statement
from core import migrate
from core.db import Database
from core.models import OutboxMessage
from core.states import OutboxStatus
from core.types import UTCDateTime, utcnow

BATCH = 50
LEASE = timedelta(seconds=60)


def message(address: int, due: datetime, rng: random.Random, status: str) -> dict[str, Any]:
    """One outbox row's values: a reply three times in ten, due at `due`."""
    reply = rng.random() < 0.3
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


async def claim_before(db: Database, now: datetime, busy: list[int]) -> list[int]:
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
                .limit(BATCH)
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


def params(db: Database, now: datetime, busy: list[int]) -> dict[str, Any]:
    """The claim statement's parameters, as `bot.outbox.claim.claim` binds them."""
    lists: dict[str, Any] = {"channels": ["telegram"], "own": [], "busy": busy}
    if not db.is_postgres:
        lists = {name: json.dumps(value) for name, value in lists.items()}
    return {"now": now, "lease_end": now + LEASE, "limit": BATCH, **lists}


async def claim_after(db: Database, now: datetime, busy: list[int]) -> list[int]:
    """One statement picks, locks and leases the batch."""
    statement = claim_statement(db.engine.dialect.name)
    async with db.uow() as uow:
        rows = list(await uow.session.execute(statement, params(db, now, busy)))
        await uow.commit()
    return [row.id for row in rows]


async def explain(db: Database, now: datetime, busy: list[int]) -> str:
    """EXPLAIN ANALYZE of one claim (rolled back), PostgreSQL only."""
    sql = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + claim_statement("postgresql").element.text
    statement = text(sql).bindparams(
        bindparam("now", type_=UTCDateTime()), bindparam("lease_end", type_=UTCDateTime())
    )
    async with db.engine.connect() as conn:
        lines = [row[0] for row in await conn.execute(statement, params(db, now, busy))]
        await conn.rollback()
    return "\n".join(lines)


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
        rng = random.Random(7)
        now = utcnow()
        old = now - timedelta(days=1)
        sent = [message(rng.randrange(50_000), old, rng, "sent") for _ in range(args.history)]
        await queue(db, sent[:15])
        async with db.engine.begin() as conn:  # statistics of a quiet hour
            await conn.execute(text("ANALYZE outbox_message" if db.is_postgres else "ANALYZE"))
        await queue(db, sent[15:])
        # queued in the last ten minutes, round the addresses (five each with the defaults)
        step = timedelta(seconds=600 / args.waiting)
        start = now - timedelta(seconds=600)
        burst = [
            message(n % args.addresses, start + n * step, rng, "pending")
            for n in range(args.waiting)
        ]
        await queue(db, burst)
        claim = claim_before if before else claim_after
        times: list[float] = []
        busy: list[int] = []
        for _ in range(args.rounds):
            now = utcnow()
            start = time.perf_counter()
            taken = await claim(db, now, busy)
            times.append((time.perf_counter() - start) * 1000)
            async with db.engine.begin() as conn:  # the previous batch was sent; more queued
                if busy:
                    await conn.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(busy))
                        .values(status="sent", sent_at=now)
                    )
                    fresh = [
                        message(rng.randrange(args.addresses), now, rng, "pending") for _ in busy
                    ]
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
            f"({args.rounds} claims of {BATCH}; {left} unsent at the end)"
        )
        if db.is_postgres and not before and args.explain:
            print(await explain(db, utcnow(), busy))
    finally:
        await db.dispose()


async def main() -> None:
    """Before and after, on SQLite and PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--addresses", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--history", type=int, default=30_000)
    parser.add_argument("--pg-dsn", default=PG_DSN)
    parser.add_argument("--sqlite", action="store_true", help="SQLite too")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE one claim")
    args = parser.parse_args()
    print(
        f"{args.waiting} unsent messages for {args.addresses} addresses, "
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
