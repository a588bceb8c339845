"""PostgreSQL: turns run by a separate `psv inbox` process reach the page of `psv serve`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.dashboard.support import make_token, tap, text_of, up_to_confirmation
from tests.e2e.stack import PSV, Stack


async def _changes(stream: aiohttp.ClientResponse, into: list[str]) -> None:
    async for raw in stream.content:
        line = raw.decode()
        if line.startswith("data: "):
            into.append(line)


@pytest.mark.postgres
async def test_a_booking_made_by_psv_inbox_reaches_the_open_page(
    tmp_path: Path, scratch_pg: str
) -> None:
    stack = Stack(tmp_path, database_url=scratch_pg)
    stack.serve_args = ["--no-inbox"]
    async with stack:
        token = make_token(stack, "national")
        inbox = await asyncio.create_subprocess_exec(PSV, "inbox", env=stack.env(), cwd=tmp_path)
        changes: list[str] = []
        async with aiohttp.ClientSession(cookies={"token": token}) as session:
            stream = await session.get(stack.base + "/dashboard/events")
            assert stream.status == 200
            reader = asyncio.create_task(_changes(stream, changes))
            try:
                confirm = await up_to_confirmation(stack)
                assert changes == []  # nothing booked yet
                replies = await tap(stack, confirm, "Sí")
                assert "Su cita está confirmada" in text_of(replies)
                for _ in range(100):
                    if changes:
                        break
                    await asyncio.sleep(0.05)
                assert len(changes) == 1, changes
                assert '"kind": "booked"' in changes[0] and '"region": "PE-ARE"' in changes[0]
            finally:
                reader.cancel()
                stream.close()
                inbox.send_signal(signal.SIGTERM)
                assert await inbox.wait() == 0
