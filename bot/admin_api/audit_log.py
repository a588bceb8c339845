"""GET /audit: who changed what, filtered; a regional admin sees only their region."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.bodies import iso, query_day
from bot.admin_api.context import context, principal, reading
from bot.admin_api.pagination import fetch, listing, page_of
from core.access import Forbidden
from core.errors import NotFound
from core.models import AuditEntry, Tenant


async def list_audit(request: web.Request) -> web.Response:
    """GET /audit?tenant&actor&action&entity&from&to, newest first."""
    caller = principal(request)
    caller.require_admin()
    page = page_of(request)
    ctx = context(request)
    code = request.query.get("tenant") or caller.tenant_code
    first, last = query_day(request, "from"), query_day(request, "to")
    async with reading(request) as uow:
        codes = {tid: c for tid, c in await uow.session.execute(select(Tenant.id, Tenant.code))}
        query = select(AuditEntry)
        if code:
            tenant_id = next((tid for tid, c in codes.items() if c == code), None)
            if tenant_id is None:
                if not caller.is_national:
                    raise Forbidden(f"this token is limited to {caller.tenant_code}, not {code}")
                raise NotFound(f"no region {code}")
            caller.require_tenant(tenant_id, code)
            query = query.where(AuditEntry.tenant_id == tenant_id)
        for name, column in (("action", AuditEntry.action), ("entity", AuditEntry.entity)):
            value = request.query.get(name)
            if value:
                query = query.where(column == value)
        actor = request.query.get("actor")
        if actor:
            query = query.where(AuditEntry.actor.contains(actor, autoescape=True))
        if first:
            query = query.where(AuditEntry.at >= datetime.combine(first, time(), ctx.tz))
        if last:
            end = datetime.combine(last + timedelta(days=1), time(), ctx.tz).astimezone(UTC)
            query = query.where(AuditEntry.at < end)
        rows, cursor = await fetch(uow, query, AuditEntry.id, page, newest_first=True)
    return listing(
        [
            {
                "id": e.id,
                "at": iso(e.at),
                "actor": e.actor,
                "tenant": codes.get(e.tenant_id) if e.tenant_id else None,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "before": e.before,
                "after": e.after,
            }
            for (e,) in rows
        ],
        cursor,
    )
