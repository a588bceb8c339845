"""Bearer tokens on every admin API call, and the region checks handlers build on."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.context import PRINCIPAL, context, principal, reading
from bot.admin_api.errors import Handler, error_response
from bot.admin_api.throttle import client_address
from core import access
from core.access import Forbidden, Principal, Unauthorized
from core.errors import NotFound
from core.models import Tenant
from core.uow import UnitOfWork

# What a region code can look like (ISO 3166-2:PE, stored in 10 characters at most).
CODE_RE = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,7}")


def bearer(request: web.Request, *, cookie: bool = False) -> str | None:
    """The token of an `Authorization: Bearer` header (or a `token` cookie if allowed)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if cookie:
        return request.cookies.get("token") or None
    return None


def throttled(request: web.Request) -> int | None:
    """Seconds to wait when this client has had too many tokens refused, else None."""
    ctx = context(request)
    return ctx.failures.retry_after(client_address(request), ctx.clock())


def too_many(retry_after: int) -> web.Response:
    """The 429 answer of a throttled client (standard error body, Retry-After)."""
    response = error_response(
        429, f"too many refused tokens from this address; try again in {retry_after} s"
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


async def authenticate(request: web.Request, token: str | None) -> Principal:
    """Check a token in its own short transaction (nothing is written); count refusals."""
    ctx = context(request)
    try:
        async with ctx.db.uow() as uow:
            return await access.authenticate(uow, token, now=ctx.clock())
    except Unauthorized:
        ctx.failures.failed(client_address(request), ctx.clock())
        raise


async def touch_after_success(request: web.Request, found: Principal) -> None:
    """Refresh last_used_at (at most once a minute) once a call has succeeded."""
    ctx = context(request)
    now = ctx.clock()
    if access.needs_touch(found, now):
        async with ctx.db.uow() as uow:
            await access.touch(uow, found.token_id, now=now)
            await uow.commit()


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a missing, unknown, revoked or expired token with 401 before any handler.

    A client with too many refused tokens in the last minute gets 429 before its token is
    even looked at.
    """
    wait = throttled(request)
    if wait is not None:
        return too_many(wait)
    found = await authenticate(request, bearer(request))
    request[PRINCIPAL] = found
    response = await handler(request)
    if response.status < 400:
        await touch_after_success(request, found)
    return response


async def scoped_tenant(uow: UnitOfWork, request: web.Request, *, admin: bool = True) -> Tenant:
    """The region `{t}` of the path, refused with 403 outside the caller's role or region.

    A regional token gets 403 for any other code, known or not, so it learns nothing of
    other regions; a national token gets 404 for an unknown code.
    """
    caller = principal(request)
    if admin:
        caller.require_admin()
    code = request.match_info["t"]
    if not CODE_RE.fullmatch(code):
        # No region has such a code, so refusing it says nothing about other regions.
        raise NotFound(f"no region {code[:20]!r} (codes are like PE-ARE)")
    tenant = await uow.session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None:
        if caller.is_national:
            raise NotFound(f"no region {code}")
        raise Forbidden(f"this token is limited to {caller.tenant_code}, not {code}")
    caller.require_tenant(tenant.id, code)
    return tenant


@asynccontextmanager
async def region_reading(request: web.Request) -> AsyncIterator[tuple[UnitOfWork, Tenant]]:
    """A read unit of work with the path's region, scoped as `scoped_tenant` scopes it."""
    async with reading(request) as uow:
        yield uow, await scoped_tenant(uow, request)
