"""Live events: what commits reaches the hub, what rolls back does not; NOTIFY on PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from bot.dashboard import live
from core import booking
from core.db import Database
from core.models import AppointmentStatus
from tests.factories import NOW, add_citizen, add_specialist, lima

SERVICE = "consultas-laborales"


def _drain(queue: asyncio.Queue[live.LiveEvent]) -> list[str]:
    found = []
    while not queue.empty():
        found.append(queue.get_nowait().kind)
    return found


async def test_committed_changes_reach_the_hub_and_rolled_back_ones_do_not(db: Database) -> None:
    live.install()
    async with db.uow() as uow:
        await add_specialist(uow)
        citizen = await add_citizen(uow)
        await uow.commit()
    async with live.HUB.subscribe() as queue:
        async with db.uow() as uow:  # never committed
            await booking.book(
                uow,
                tenant_code="PE-ARE",
                service_code=SERVICE,
                citizen_id=citizen.id,
                start=lima(2026, 12, 2, 10),
                now=NOW,
            )
        assert _drain(queue) == []
        async with db.uow() as uow:
            appt = await booking.book(
                uow,
                tenant_code="PE-ARE",
                service_code=SERVICE,
                citizen_id=citizen.id,
                start=lima(2026, 12, 2, 10),
                now=NOW,
            )
            await uow.commit()
        [event] = [queue.get_nowait()]
        assert event == live.LiveEvent("booked", appt.tenant_id, appt.service_id)
        async with db.uow() as uow:
            await booking.set_outcome(
                uow,
                appt.id,
                AppointmentStatus.ATTENDED,
                now=lima(2026, 12, 2, 11),
                by="test",
            )
            await uow.commit()
        assert _drain(queue) == ["attended"]


@pytest.mark.postgres
async def test_postgres_notifies_other_processes(postgresql_db: Database, pg_url: str) -> None:
    from tests.conftest import reset

    db = postgresql_db
    await reset(db)
    live.install()
    dsn = live.Listener(pg_url).dsn
    other = await asyncpg.connect(dsn)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await other.add_listener(live.CHANNEL, lambda *args: heard.put_nowait(args[-1]))
    async with db.uow() as uow:
        await add_specialist(uow)
        citizen = await add_citizen(uow)
        await uow.commit()
    async with db.uow() as uow:
        appt = await booking.book(
            uow,
            tenant_code="PE-ARE",
            service_code=SERVICE,
            citizen_id=citizen.id,
            start=lima(2026, 12, 2, 10),
            now=NOW,
        )
        await asyncio.sleep(0.2)
        assert heard.empty()  # nothing is said before the commit
        await uow.commit()
    payload = json.loads(await asyncio.wait_for(heard.get(), timeout=5))
    assert payload["kind"] == "booked" and payload["tenant_id"] == appt.tenant_id
    assert payload["o"] == live.ORIGIN
    # A notification from another process reaches this process's pages through LISTEN.
    listener = live.Listener(pg_url, retry_seconds=0.2)
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), timeout=5)
        async with live.HUB.subscribe() as queue:
            message = {"o": "elsewhere", "kind": "cancelled", "tenant_id": 7, "service_id": 3}
            await other.execute("SELECT pg_notify($1, $2)", live.CHANNEL, json.dumps(message))
            got = await asyncio.wait_for(queue.get(), timeout=5)
            assert got == live.LiveEvent("cancelled", 7, 3)
            mine = {**message, "o": live.ORIGIN}  # this process published its own already
            await other.execute("SELECT pg_notify($1, $2)", live.CHANNEL, json.dumps(mine))
            await other.execute("SELECT pg_notify($1, $2)", live.CHANNEL, "not json")
            await asyncio.sleep(0.3)
            assert queue.empty()
    finally:
        await listener.stop()
        await other.close()
