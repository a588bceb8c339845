"""A region's closures: list (with national holidays), add, remove its own."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web

from bot.admin_api.auth import region_reading, scoped_tenant
from bot.admin_api.bodies import json_object, path_id, query_day
from bot.admin_api.context import context, principal
from bot.admin_api.errors import invalid
from bot.admin_api.pagination import encode_cursor, listing, page_of
from bot.outbox import notify
from core import roster
from core.models import Closure


def closure_json(row: Closure) -> dict[str, Any]:
    """A closure as the API shows it."""
    return {
        "id": row.id,
        "kind": row.kind,
        "national": row.tenant_id is None,
        "specialist_id": row.specialist_id,
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat(),
        "reason": row.reason,
    }


async def closure_body(request: web.Request) -> tuple[date, date, str]:
    """A closure's body: its first and last day (in order) and its reason ("" when none)."""
    body = await json_object(request, allowed=frozenset({"starts_on", "ends_on", "reason"}))
    starts_on, ends_on = body.day("starts_on"), body.day("ends_on")
    reason = body.text("reason", required=False) or ""
    assert starts_on is not None and ends_on is not None
    if ends_on < starts_on:
        raise invalid("ends_on must be on or after starts_on")
    return starts_on, ends_on, reason


async def list_closures(request: web.Request) -> web.Response:
    """GET /tenants/{t}/closures?since=DATE: holidays, regional closures and days off."""
    page = page_of(request)
    ctx = context(request)
    since = query_day(request, "since") or datetime.now(ctx.tz).date()
    async with region_reading(request) as (uow, tenant):
        rows = await roster.closures(uow, tenant.id, since=since)
    # Ordered by first day: the cursor is a position in that order.
    start = page.after or 0
    chunk = rows[start : start + page.limit]
    more = start + page.limit < len(rows)

    return listing(
        [closure_json(r) for r in chunk], encode_cursor(start + page.limit) if more else None
    )


async def add_closure(request: web.Request) -> web.Response:
    """POST /tenants/{t}/closures: the regional office is closed these days (201).

    The appointments booked on those days are moved to a free colleague or cancelled with
    new times offered (bot.outbox.notify.after_closure); the answer counts them.
    """
    starts_on, ends_on, reason = await closure_body(request)
    ctx = context(request)
    actor = principal(request).actor
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        row = await roster.add_closure(uow, tenant.id, starts_on, ends_on, reason=reason, by=actor)
        followed = await notify.after_closure(
            uow,
            tenant_id=tenant.id,
            starts_on=starts_on,
            ends_on=ends_on,
            actor=actor,
            now=ctx.clock(),
        )
        await uow.commit()
    return web.json_response(closure_json(row) | {"appointments": followed}, status=201)


async def remove_closure(request: web.Request) -> web.Response:
    """DELETE /tenants/{t}/closures/{id}: only the region's own closures."""
    closure_id = path_id(request, "closure")
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        await roster.remove_closure(uow, tenant.id, closure_id, by=principal(request).actor)
        await uow.commit()
    return web.json_response({"id": closure_id, "deleted": True})
