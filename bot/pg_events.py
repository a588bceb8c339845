"""PostgreSQL LISTEN/NOTIFY between PSV's processes: who listens, and coalesced pokes.

Processes that share one PostgreSQL wake each other this way instead of polling: a webhook
that queued a message wakes the turn processes (`psv inbox`), a turn that queued replies
wakes the outbox worker, a booking reaches every open dashboard (bot/dashboard/live.py).
A notification is only a hint: every waiting loop also polls now and then, so a lost
connection delays work and loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger("psv.events")

INBOX = "psv_inbox"  # a message was queued for a turn
OUTBOX = "psv_outbox"  # replies were queued for sending


def asyncpg_dsn(database_url: str) -> str:
    """The plain PostgreSQL DSN of an SQLAlchemy URL (asyncpg connects with it)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """LISTEN on PostgreSQL channels, calling each one's handler; reconnects when cut."""

    def __init__(
        self,
        database_url: str,
        handlers: Mapping[str, Callable[[str], None]],
        retry_seconds: float = 5.0,
    ) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.handlers = dict(handlers)
        self.retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        """Start listening in the background."""
        self._task = asyncio.create_task(self._run())

    def _callback(self, handler: Callable[[str], None]) -> Callable[..., None]:
        def notified(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            handler(payload)

        return notified

    async def _run(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                await asyncio.sleep(self.retry_seconds)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            try:
                for channel, handler in self.handlers.items():
                    await conn.add_listener(channel, self._callback(handler))
                self.connected.set()
                await lost.wait()
            except (OSError, asyncpg.PostgresError):
                pass
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
            log.info("listener lost its connection; reconnecting")
            await asyncio.sleep(self.retry_seconds)

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def poke_count(payload: str) -> int:
    """How many pokes a `Notifier`'s notification stands for (1 when it does not say)."""
    return max(1, int(payload)) if payload.isdigit() else 1


class Notifier:
    """NOTIFY a channel on a connection of its own; pokes made while one is sent make one more.

    A turn process pokes after every turn that queued replies; under load hundreds of pokes
    a second become a few notifications, and none is on the way of the turns themselves.
    The payload is how many pokes the notification stands for (`poke_count`): a webhook
    pokes once per queued message, so turn processes wake as many processors as there are
    messages, and not every processor for one.
    """

    def __init__(self, database_url: str, channel: str, retry_seconds: float = 5.0) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.channel = channel
        self.retry_seconds = retry_seconds
        self._poked = asyncio.Event()
        self._pokes = 0
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None

    def poke(self) -> None:
        """Ask for a notification soon (cheap: counts and sets a flag)."""
        self._pokes += 1
        self._poked.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self._poked.wait()
            self._poked.clear()
            pokes, self._pokes = self._pokes, 0
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(self.dsn, timeout=10)
                await self._conn.execute(f"NOTIFY {self.channel}, '{pokes}'")
            except (OSError, asyncpg.PostgresError, TimeoutError):
                self._conn = None  # the other side polls meanwhile
                await asyncio.sleep(self.retry_seconds)

    async def close(self) -> None:
        """Stop notifying and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
            self._conn = None
