"""Database engine and sessions: SQLite (embedded default) or PostgreSQL, both async."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.uow import UnitOfWork


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
            kwargs.update(pool_size=pool_size, max_overflow=0, pool_pre_ping=True)
        self.engine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_serialised_writes(self.engine)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
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
