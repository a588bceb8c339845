"""Unit of work: one transaction per use case, rolled back unless committed."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import NotFound

_Row = TypeVar("_Row")

LOCK_TIMEOUT_S = 30.0


class UnitOfWork:
    """Holds one session in one transaction; services use `uow.session` and never commit."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], lock: asyncio.Lock | None = None
    ) -> None:
        self._sessions = sessions
        self._lock = lock
        self._session: AsyncSession | None = None
        self.committed = False

    @property
    def session(self) -> AsyncSession:
        """The open session (only inside `async with`)."""
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    @property
    def dialect(self) -> str:
        """The database dialect name ("sqlite" or "postgresql")."""
        return self.session.get_bind().dialect.name

    async def __aenter__(self) -> Self:
        if self._lock is not None:
            # A bounded wait: a unit of work opened inside another one on SQLite would
            # otherwise wait for itself forever.
            await asyncio.wait_for(self._lock.acquire(), timeout=LOCK_TIMEOUT_S)
        try:
            self._session = self._sessions()
            await self._session.begin()
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            if not self.committed:
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None
            if self._lock is not None:
                self._lock.release()

    async def commit(self) -> None:
        """Commit the transaction; the unit of work is finished afterwards."""
        await self.session.commit()
        self.committed = True


async def lock_row(uow: UnitOfWork, query: Select[_Row], missing: str, entity: str) -> _Row:
    """The row `query` finds, locked until commit and read afresh; NotFound(missing) if none."""
    row = await uow.session.scalar(
        query.with_for_update().execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(missing, entity=entity)
    return row
