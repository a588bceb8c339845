"""What every admin API handler needs: the database, settings, clock and the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.admin_api.throttle import FailureLimiter
from core import audit
from core.access import Principal
from core.db import Database
from core.settings import Settings
from core.types import utcnow
from core.uow import UnitOfWork


@dataclass
class AdminContext:
    """Shared by the admin API's handlers; made once by `setup`."""

    db: Database
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    # The sandbox engine of `flows try`, made on first use.
    sandbox: Any = field(default=None)
    # Refused tokens per client address (bot/admin_api/throttle.py).
    failures: FailureLimiter = field(default_factory=FailureLimiter)

    @property
    def tz(self) -> ZoneInfo:
        """The time zone local days are counted in."""
        return ZoneInfo(self.settings.timezone)


CONTEXT = web.AppKey("psv_admin_context", AdminContext)
PRINCIPAL = web.RequestKey("psv_admin_principal", Principal)


def context(request: web.Request) -> AdminContext:
    """The admin context of the application serving this request."""
    return request.config_dict[CONTEXT]


def principal(request: web.Request) -> Principal:
    """The authenticated caller (set by the auth middleware)."""
    found: Principal = request[PRINCIPAL]
    return found


@asynccontextmanager
async def reading(request: web.Request) -> AsyncIterator[UnitOfWork]:
    """A unit of work for a read: what it loaded stays readable after it ends."""
    async with context(request).db.uow() as uow:
        yield uow
        # Rolling back expires what the session holds; detached objects keep their values.
        uow.session.expunge_all()


async def record_change(
    uow: UnitOfWork,
    request: web.Request,
    tenant_id: int,
    action: str,
    entity: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Audit a change to one of the region's rows in the name of the request's caller."""
    await audit.record(
        uow,
        actor=principal(request).actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        tenant_id=tenant_id,
        before=before,
        after=after,
    )
