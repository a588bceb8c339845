"""Scratch databases for the benchmarks: a new PostgreSQL database dropped afterwards, and
one measurement run on a temporary SQLite file and then on such a database."""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

PG_DSN = os.environ.get("PSV_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@asynccontextmanager
async def scratch_postgres(dsn: str, prefix: str) -> AsyncIterator[str]:
    """A new empty database on the server of `dsn`, as an asyncpg SQLAlchemy URL; dropped after."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def on_both(run: Callable[[str, str], Awaitable[object]], dsn: str, prefix: str) -> None:
    """`run(url, label)` on a temporary SQLite file, then on a scratch PostgreSQL database."""
    with tempfile.TemporaryDirectory() as folder:
        await run(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", "SQLite")
    async with scratch_postgres(dsn, prefix) as url:
        await run(url, "PostgreSQL")


def people_args(description: str, people: int) -> argparse.Namespace:
    """`--people N` and `--pg-dsn`, parsed; prints the Python and the machine first."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--people", type=int, default=people)
    parser.add_argument("--pg-dsn", default=PG_DSN)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    return args
