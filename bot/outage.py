"""Whether the database answers, said once per outage: one warning down, one info back.

Webhooks, inbox processors and the outbox worker all meet the same outage at once, each
several times a second. They report their failures here instead of logging them: the
first failure that a probe confirms logs one warning, the first success after it one info
line, and everything in between is counted, not logged. A failure while the database does
answer is a bug, and the caller logs it with its traceback as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from core.db import Database

log = logging.getLogger("psv.database")

PROBE_TIMEOUT_S = 2.0
PROBE_EVERY_S = 1.0  # a confirmed outage is re-probed at most this often
# A connection lost or refused, or a server shutting down or starting up: an outage even if
# the database answers again by the time the probe asks (a restart can take a second).
_DISCONNECTS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
)


def is_disconnect(error: BaseException) -> bool:
    """Whether `error` (or what caused it) is a lost or refused database connection."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _DISCONNECTS):
            return True
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen:
            current = orig
            continue
        current = current.__cause__ or current.__context__
    return False


class DatabaseWatch:
    """The database's state as this process last saw it, shared by its parts."""

    def __init__(
        self,
        db: Database,
        *,
        probe_timeout: float = PROBE_TIMEOUT_S,
        probe_every: float = PROBE_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.probe_timeout = probe_timeout
        self.probe_every = probe_every
        self.clock = clock
        self.down = False
        self.outages = 0
        self.failures = 0  # failures during outages (counted, not logged)
        self._since = 0.0
        self._probed_at: float | None = None
        self._probe_lock = asyncio.Lock()

    async def _answers(self) -> bool:
        try:
            async with asyncio.timeout(self.probe_timeout):
                async with self.db.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def probe(self) -> bool:
        """Ask the database now (at most once per `probe_every` while down); True if it answers."""
        async with self._probe_lock:
            if self._recently_down():
                return False
            answers = await self._answers()
            self._probed_at = self.clock()
        if answers:
            self.answered()
        else:
            self._went_down("it does not answer")
        return answers

    async def is_outage(self, error: BaseException) -> bool:
        """After `error` from a database call: True (and noted once) if the database is down."""
        if self._recently_down():
            self.failures += 1
            return True
        if await self.probe() and not is_disconnect(error):
            return False
        if not self.down:  # it answers again already: a blip, still said (once)
            self._went_down("connection lost")
            self._probed_at = None  # so the next call or health check asks it again
        self.failures += 1
        return True

    def _recently_down(self) -> bool:
        """Down at the last probe, which is too recent to ask again."""
        if not self.down or self._probed_at is None:
            return False
        return self.clock() - self._probed_at < self.probe_every

    def answered(self) -> None:
        """A database call succeeded: if it was down, say once that it is back."""
        if self.down:
            self.down = False
            log.info(
                "database answers again after %.1f s (%d failed calls meanwhile)",
                self.clock() - self._since,
                self.failures,
            )

    def _went_down(self, reason: str) -> None:
        if not self.down:
            self.down = True
            self.outages += 1
            self.failures = 0
            self._since = self.clock()
            log.warning(
                "database unavailable (%s): webhooks answer 503, the inbox and outbox wait", reason
            )
