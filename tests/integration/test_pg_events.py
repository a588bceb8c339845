"""PostgreSQL: processes wake each other with NOTIFY (a queued message, queued replies)."""

from __future__ import annotations

import asyncio

import pytest

from bot import pg_events
from bot.inbox import InboxWriter
from bot.messages import Inbound
from core.db import Database
from core.states import InboundStatus
from tests.conftest import reset
from tests.factories import NOW

pytestmark = pytest.mark.postgres


async def _listening(db: Database, channel: str) -> tuple[pg_events.Listener, list[str]]:
    heard: list[str] = []
    listener = pg_events.Listener(db.url, {channel: heard.append}, retry_seconds=0.2)
    listener.start()
    await asyncio.wait_for(listener.connected.wait(), timeout=10)
    return listener, heard


async def _settle() -> None:
    await asyncio.sleep(0.3)  # let notifications sent on commit reach the listener


async def test_a_queued_message_wakes_turn_processes_only_when_asked_and_once(
    postgresql_db: Database,
) -> None:
    await reset(postgresql_db)
    listener, heard = await _listening(postgresql_db, pg_events.INBOX)
    writer = InboxWriter(postgresql_db)
    notifier = pg_events.Notifier(postgresql_db.url, pg_events.INBOX)
    try:
        await writer.queue(Inbound("telegram", "ana", "n-1", text="hola"), NOW)
        await _settle()
        assert heard == []  # turns in this same process: nobody to wake
        writer.on_queued = notifier.poke  # as `psv serve` does when turns run elsewhere
        assert await writer.queue(Inbound("telegram", "ana", "n-2", text="sí"), NOW)
        await _settle()
        assert heard == ["1"]
        assert not await writer.queue(Inbound("telegram", "ana", "n-2", text="sí"), NOW)
        await _settle()
        assert heard == ["1"]  # a redelivery queues nothing and wakes nobody
        flooded = Inbound("telegram", "ana", "n-3", text="otra vez")
        assert await writer.queue(flooded, NOW, status=InboundStatus.FLOODED)
        await _settle()
        assert heard == ["1"]  # a message kept unanswered (flooding) needs no turn
    finally:
        await writer.close()
        await notifier.close()
        await listener.stop()


async def test_pokes_reach_the_outbox_worker_as_notifications(postgresql_db: Database) -> None:
    listener, heard = await _listening(postgresql_db, pg_events.OUTBOX)
    notifier = pg_events.Notifier(postgresql_db.url, pg_events.OUTBOX)
    try:
        for _ in range(50):
            notifier.poke()
        await _settle()
        # Pokes made while a notification is on its way make one more, not one each, and
        # the notifications say how many pokes they stand for.
        assert 1 <= len(heard) <= 2
        assert sum(pg_events.poke_count(payload) for payload in heard) == 50
        notifier.poke()
        await _settle()
        assert 2 <= len(heard) <= 3
        assert heard[-1] == "1"
    finally:
        await notifier.close()
        await listener.stop()


async def test_the_queue_connections_are_not_reset_after_each_message(
    postgresql_db: Database,
) -> None:
    """A webhook's queue insert is one round trip: no RESET ALL etc. when its connection returns.

    A session setting made on the pool's one connection survives the next queued message,
    which asyncpg's default reset on release (RESET ALL) would have undone.
    """
    await reset(postgresql_db)
    writer = InboxWriter(postgresql_db, pool_size=1)
    try:
        assert await writer.queue(Inbound("telegram", "ana", "r-1", text="hola"), NOW)
        pool = await writer._postgres()
        async with pool.acquire() as connection:
            await connection.execute("SET application_name = 'psv-kept'")
        assert await writer.queue(Inbound("telegram", "ana", "r-2", text="sí"), NOW)
        async with pool.acquire() as connection:
            assert await connection.fetchval("SHOW application_name") == "psv-kept"
    finally:
        await writer.close()
        await reset(postgresql_db)
