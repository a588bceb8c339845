"""The outbox worker's cost per message: messages/s and CPU ms per message, Telegram replies.

A scratch database (PostgreSQL, or SQLite with --sqlite) is migrated and given N pending
replies for M chats (a turn's replies: two or three per chat), then one `OutboxWorker` with
the real `TelegramChannel` sends them all to tests/fakes' Telegram Bot API on loopback, with
no pacing (the platform's limit is not what is measured). CPU is this process's
(`time.process_time`: the worker, the channel's HTTP client and the fake server, which shares
the process); statements counted with a `before_cursor_execute` listener.

Run: PYTHONPATH=$PWD .venv/bin/python bench/bench_outbox.py [--messages 3000] [--sqlite]
     [--pool 16] [--profile]
--profile prints cProfile's 25 most expensive functions by own time after the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import pstats
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from scratch import PG_DSN, scratch_postgres
from sqlalchemy import event, func, select

from bot.channels.telegram import TelegramChannel
from bot.messages import Option, Outbound
from bot.outbox import rows
from bot.outbox.worker import OutboxWorker
from core import migrate
from core.db import Database
from core.models import OutboxMessage
from core.states import OutboxStatus
from core.types import utcnow
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "123456:bench-outbox"


def notes(messages: int) -> list[rows.Note]:
    """`messages` replies, three to a chat (the last with two buttons), all due now."""
    now = utcnow()
    found = []
    for n in range(messages):
        chat, index = divmod(n, 3)
        options = (Option("si", "Sí"), Option("no", "No")) if index == 2 else ()
        found.append(
            rows.Note(
                key=f"reply:telegram:bench-{chat}:{index}",
                channel="telegram",
                address=str(7_000_000 + chat),
                message=Outbound(f"Respuesta {index + 1} para usted, gracias.", options),
                kind="reply",
                subject=None,
                tenant_id=None,
                due_at=now - timedelta(seconds=1),
                priority=1,
            )
        )
    return found


def package_of(filename: str) -> str:
    """The installed package (or PSV's top folder, or "python") a profiled function is in."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    for top in ("bot", "core", "tests"):
        if f"/{top}/" in filename:
            return f"psv {top}"
    return "python (stdlib, builtins)"


def by_package(stats: pstats.Stats) -> str:
    """Share of the profiled own time per package, largest first."""
    shares: dict[str, float] = {}
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        shares[package_of(filename)] = shares.get(package_of(filename), 0.0) + row[2]
    total = sum(shares.values()) or 1.0
    ranked = sorted(shares.items(), key=lambda item: -item[1])
    return "own time by package: " + ", ".join(
        f"{name} {100 * t / total:.0f}%" for name, t in ranked if t / total >= 0.01
    )


async def run(db: Database, messages: int, pool: int, profile: bool) -> dict[str, float]:
    """Send every queued message once; the figures of that drain."""
    await migrate.upgrade(db)
    async with db.uow() as uow:
        await rows.write(uow, notes(messages), now=utcnow())
        await uow.commit()
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    async with FakeTelegram(token=TOKEN) as fake:
        channel = TelegramChannel(TOKEN, fake.url, timeout=10, pool_size=pool)
        worker = OutboxWorker(db, {"telegram": channel}, {}, batch=50, idle_wait=0.05)
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        profiler = cProfile.Profile() if profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        task = asyncio.create_task(worker.run())
        while True:
            await asyncio.sleep(0.05)
            async with db.uow() as uow:
                left = await uow.session.scalar(
                    select(func.count()).where(OutboxMessage.status != OutboxStatus.SENT)
                )
            if not left:
                break
        worker.stop()
        await task
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        sent = sum(1 for method, _ in fake.calls if method == "sendMessage")
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        print(out.getvalue())
        print(by_package(stats))
    return {
        "sent": sent,
        "per_s": messages / wall,
        "cpu_ms": cpu * 1000 / messages,
        "statements": statements / messages,
    }


async def main() -> int:
    """Parse the options, make the scratch database, measure, drop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--pool", type=int, default=16, help="the channel's HTTP connections")
    args = parser.parse_args()
    async with contextlib.AsyncExitStack() as stack:
        if args.sqlite:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url, name = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", "SQLite"
        else:
            url = await stack.enter_async_context(scratch_postgres(PG_DSN, "psv_bench_outbox"))
            name = "PostgreSQL"
        db = Database(url)
        try:
            found = await run(db, args.messages, args.pool, args.profile)
        finally:
            await db.engine.dispose()
    print(
        f"{name}: {args.messages} messages, {int(found['sent'])} sent, "
        f"{found['per_s']:.0f} messages/s, CPU {found['cpu_ms']:.2f} ms/message "
        f"(worker, HTTP client and fake Telegram), "
        f"{found['statements']:.2f} statements/message"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
