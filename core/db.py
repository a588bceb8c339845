"""Database engine and sessions: SQLite (embedded default) or PostgreSQL, both async."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from core.uow import UnitOfWork


class KeepingSession(Session):
    """A session that holds what it loaded or added until it closes.

    SQLAlchemy's identity map holds objects weakly: a region, service or citizen loaded early
    in a turn and no longer referenced was read again by `session.get` later in the same
    turn (five statements of a booking's confirmation, issue 16). Held for the session's
    short life, `get` answers them from memory; a savepoint's rollback still expires them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: list[object] = []


@event.listens_for(KeepingSession, "loaded_as_persistent")
@event.listens_for(KeepingSession, "pending_to_persistent")
def _hold(session: KeepingSession, instance: object) -> None:
    session.held.append(instance)


def _sqlite_serialised_writes(engine: AsyncEngine) -> None:
    """Make every SQLite transaction BEGIN IMMEDIATE so a re-check inside it is race-free.

    pysqlite's own deferred BEGIN would let two writers read the same state and
    then both write; IMMEDIATE takes the write lock at the start instead.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


IDLE_PING_S = 5.0


def _ping_after_idle(engine: AsyncEngine) -> None:
    """Ping a pooled PostgreSQL connection at checkout only if it sat idle IDLE_PING_S or more.

    SQLAlchemy's pool_pre_ping pings at every checkout: one more round trip per transaction,
    about one in eight of a turn's (issue 16). A connection used within the last seconds is
    alive but for a server restart in that window; then its statement fails, is seen as a
    disconnect, and SQLAlchemy drops every older pooled connection, so the next try connects
    anew (the inbox and the outbox claim first, so a turn is never lost to it).
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whichever the driver raises: the pool reconnects
            raise DisconnectionError(str(exc)) from exc


class Database:
    """One engine and its session factory; made explicitly, never at import time."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        # hide_parameters: errors and logs never carry bound values (names, document
        # numbers, phones), only the SQL.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=0)
        self.engine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_serialised_writes(self.engine)
        else:
            _ping_after_idle(self.engine)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=KeepingSession
        )
        # SQLite lets one writer in at a time; queueing writers of this process on a lock is
        # fairer and faster than SQLite's sleep-and-retry busy handler.
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None

    @property
    def is_postgres(self) -> bool:
        """Whether this database is PostgreSQL."""
        return self.dialect == "postgresql"

    def uow(self) -> UnitOfWork:
        """A new unit of work (one transaction) on this database."""
        return UnitOfWork(self.sessions, self._write_lock)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
