"""Pooled PostgreSQL connections are pinged only after sitting idle (core/db.py).

A real connection is cut under the pool by a TCP forwarder (tests/fakes/tcp_cut.py): after
an idle spell the pool finds the dead connection at checkout and connects anew, so the
caller never sees it; a connection used a moment ago is not pinged (no round trip per
transaction), and a cut in that moment shows as a disconnect the callers treat as an outage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bot.outage import is_disconnect
from core import db as core_db
from core.db import Database
from tests.fakes.tcp_cut import TcpCut

pytestmark = pytest.mark.postgres


@pytest.fixture
async def cut_proxy(postgresql_db: Database) -> AsyncIterator[tuple[Database, TcpCut]]:
    """A one-connection Database that reaches the test database through a cuttable proxy."""
    url = make_url(postgresql_db.url)
    async with TcpCut(url.host or "127.0.0.1", url.port or 5432) as proxy:
        through = Database(
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
            pool_size=1,
        )
        yield through, proxy
        await through.dispose()


async def _backend_pid(db: Database) -> int:
    async with db.uow() as uow:
        return int(await uow.session.scalar(text("SELECT pg_backend_pid()")) or 0)


async def _cut_and_restore(proxy: TcpCut) -> None:
    await proxy.cut()
    await proxy.restore()


async def test_an_idle_connection_found_dead_is_replaced_unseen(
    cut_proxy: tuple[Database, TcpCut], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the idle spell, a connection cut under the pool costs the caller nothing."""
    through, proxy = cut_proxy
    first = await _backend_pid(through)
    await _cut_and_restore(proxy)
    monkeypatch.setattr(core_db, "IDLE_PING_S", 0.0)  # every pooled connection counts as idle
    second = await _backend_pid(through)
    assert second != first  # a new server connection, and no error on the way


async def test_a_connection_used_a_moment_ago_is_not_pinged(
    cut_proxy: tuple[Database, TcpCut],
) -> None:
    """Within the idle spell there is no ping: a cut then surfaces as a disconnect, once."""
    through, proxy = cut_proxy
    await _backend_pid(through)
    await _cut_and_restore(proxy)
    with pytest.raises(Exception) as lost:  # whichever the driver raises
        async with through.uow() as uow:
            await uow.session.execute(select(1))
    assert is_disconnect(lost.value)
    assert await _backend_pid(through) > 0  # the pool dropped the dead one and reconnected
