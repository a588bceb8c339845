"""The raw floor of bench/bench_webhooks.py does a whole simplified turn, on PostgreSQL.

Its turns/s are the yardstick PSV's end-to-end turns/s are divided by (issue 16), so the
floor must really do the work it stands for: dedupe, locked load, state update, outbox row.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

pytestmark = pytest.mark.postgres

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_webhooks.py"


def load_bench() -> ModuleType:
    """bench/bench_webhooks.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_webhooks", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_webhooks", module)
    spec.loader.exec_module(module)
    return module


bench = load_bench()


@pytest.fixture
async def floor_pool(scratch_pg: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on an empty scratch database holding the floor's tables."""
    dsn = scratch_pg.replace("postgresql+asyncpg://", "postgresql://", 1)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await bench.floor_schema(conn)
    yield pool
    await pool.close()


async def test_a_floor_turn_dedupes_locks_updates_state_and_queues_one_reply(
    floor_pool: asyncpg.Pool,
) -> None:
    chat, citizen = 7_000_000_042, 42
    first = bench.update(chat, citizen, 0, 501)
    second = bench.update(chat, citizen, 1, 502)
    async with floor_pool.acquire() as conn:
        assert await bench.floor_turn(conn, first) is True
        assert await bench.floor_turn(conn, first) is False  # a redelivery: no second turn
        assert await bench.floor_turn(conn, second) is True
        conversations = await conn.fetch("SELECT chat_id, state, turns FROM floor_conversation")
        replies = await conn.fetch(
            "SELECT idempotency_key, address FROM floor_outbox ORDER BY idempotency_key"
        )
        updates = await conn.fetch("SELECT update_id FROM floor_update ORDER BY update_id")
    assert [r["update_id"] for r in updates] == [501, 502]
    assert len(conversations) == 1
    assert conversations[0]["chat_id"] == chat
    assert conversations[0]["turns"] == 2
    state = json.loads(conversations[0]["state"])
    assert state == {"step": 2, "last": bench.script(citizen)[1]}
    assert [(r["idempotency_key"], r["address"]) for r in replies] == [
        ("reply:telegram:501:0", str(chat)),
        ("reply:telegram:502:0", str(chat)),
    ]


async def test_the_floor_webhook_runs_the_turn_inside_the_request(
    floor_pool: asyncpg.Pool,
) -> None:
    body = bench.update(7_000_000_007, 7, 0, 900)
    client = TestClient(TestServer(bench.floor_app(floor_pool)))
    await client.start_server()
    try:
        refused = await client.post(
            bench.PATH, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        )
        async with floor_pool.acquire() as conn:
            before = await conn.fetchval("SELECT count(*) FROM floor_outbox")
        answer = await client.post(
            bench.PATH, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": bench.TG_SECRET}
        )
        async with floor_pool.acquire() as conn:
            keys = await conn.fetch("SELECT idempotency_key FROM floor_outbox")
    finally:
        await client.close()
    assert refused.status == 401
    assert before == 0
    assert answer.status == 200
    assert [r["idempotency_key"] for r in keys] == ["reply:telegram:900:0"]
