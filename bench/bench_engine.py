"""Engine steps per second on SQLite and PostgreSQL, for a realistic mix of conversations.

Each simulated person writes to the engine directly (no channel): consent, a booking from
"hola" to the confirmation, a look at their appointments, some nonsense and help. People
run concurrently (asyncio tasks); every message is one engine step (one transaction).

    .venv/bin/python bench/bench_engine.py [--people 40] [--pg-dsn postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime

import sqlalchemy
from scratch import on_both, people_args

from bot.conversation.engine import Engine
from bot.messages import Inbound
from core import catalog, migrate
from core.db import Database
from core.settings import Settings

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # Tuesday 09:00 in Lima
REGIONS = ["arequipa", "cusco", "lima metropolitana", "piura", "puno", "junin", "ica", "tacna"]


def script(n: int) -> list[str]:
    """What person n writes: a realistic mix, ending with a confirmed booking."""
    region = REGIONS[n % len(REGIONS)]
    day = ["mañana", "el jueves", "el viernes", "lo antes posible", "el lunes"][n % 5]
    return [
        "hola",
        "sí",
        "asdf",  # nonsense happens
        "ayuda",
        "quiero una cita",
        ["me despidieron", "cts", "conciliación", "consultas"][n % 4],
        "1",
        region,
        day,
        "1",
        "dni",
        f"{41000000 + n}",
        "María Fernanda Quispe",
        "Mi empleador no me paga",
        "sí",
        "mis citas",
        "menú",
    ]


async def person(engine: Engine, n: int, latencies: list[float]) -> None:
    for i, text in enumerate(script(n)):
        inbound = Inbound(channel="bench", user_ref=f"p{n}", message_id=f"{n}-{i}", text=text)
        started = time.perf_counter()
        await engine.handle(inbound)
        latencies.append(time.perf_counter() - started)


async def run(url: str, people: int, label: str) -> dict[str, float]:
    db = Database(url, pool_size=20)
    await migrate.upgrade(db)
    async with db.uow() as uow:
        await catalog.seed(uow, demo=True)
        await uow.commit()
    engine = Engine(db, Settings(database_url=url), clock=lambda: NOW)
    await engine.start()
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(person(engine, n, latencies) for n in range(people)))
    wall = time.perf_counter() - started
    async with db.engine.connect() as conn:
        booked = await conn.scalar(sqlalchemy.text("SELECT count(*) FROM appointment"))
    await db.dispose()
    ms = sorted(x * 1000 for x in latencies)
    result = {
        "steps": len(ms),
        "wall_s": wall,
        "steps_per_s": len(ms) / wall,
        "p50_ms": statistics.median(ms),
        "p95_ms": ms[int(len(ms) * 0.95) - 1],
        "max_ms": ms[-1],
        "booked": float(booked or 0),
    }
    print(
        f"{label:10} {result['steps']:6.0f} steps  {result['steps_per_s']:8.1f} steps/s  "
        f"p50 {result['p50_ms']:6.1f} ms  p95 {result['p95_ms']:6.1f} ms  "
        f"max {result['max_ms']:7.1f} ms  booked {result['booked']:.0f}/{people}"
    )
    return result


async def main() -> int:
    args = people_args(__doc__.splitlines()[0], 40)
    print(f"{args.people} people x {len(script(0))} messages each, all at once")
    await on_both(lambda url, label: run(url, args.people, label), args.pg_dsn, "psv_bench_engine")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
