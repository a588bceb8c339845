"""GET /me, GET /tenants and POST /tenants/{t}/onboard (national admins)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.auth import scoped_tenant
from bot.admin_api.bodies import iso, json_object
from bot.admin_api.context import context, principal, reading
from bot.admin_api.pagination import fetch, listing, page_of
from core import access, audit
from core.models import Service, ServiceKind, Tenant, TenantService

DEFAULT_OFFICE_HOURS = {"weekdays": [0, 1, 2, 3, 4], "opens": "08:30", "closes": "17:00"}


def tenant_json(tenant: Tenant) -> dict[str, Any]:
    """A region as the API shows it."""
    return {
        "code": tenant.code,
        "name": tenant.name,
        "display_name": tenant.display_name,
        "active": tenant.active,
    }


async def me(request: web.Request) -> web.Response:
    """GET /me: who the token is."""
    caller = principal(request)
    return web.json_response(
        {
            "name": caller.name,
            "role": caller.role,
            "tenant": caller.tenant_code,
            "expires_at": iso(caller.expires_at),
        }
    )


async def list_tenants(request: web.Request) -> web.Response:
    """GET /tenants: the regions in the caller's scope."""
    caller = principal(request)
    page = page_of(request)
    query = select(Tenant)
    if caller.tenant_id is not None:
        query = query.where(Tenant.id == caller.tenant_id)
    async with reading(request) as uow:
        rows, cursor = await fetch(uow, query, Tenant.id, page)
    return listing([tenant_json(t) for (t,) in rows], cursor)


async def onboard(request: web.Request) -> web.Response:
    """POST /tenants/{t}/onboard: activate a region with services, hours and a first admin."""
    caller = principal(request)
    caller.require_national_admin()
    body = await json_object(request, allowed=frozenset({"admin_name", "expires_days"}))
    admin_name = body.text("admin_name", max_length=80)
    expires_days = body.integer("expires_days", low=1, high=access.MAX_EXPIRY_DAYS, required=False)
    assert admin_name is not None
    ctx = context(request)
    now = ctx.clock()
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        before = {**tenant_json(tenant), "office_hours": tenant.office_hours}
        tenant.active = True
        if tenant.office_hours is None:
            tenant.office_hours = dict(DEFAULT_OFFICE_HOURS)
        offered = {
            row.service_id: row
            for row in await uow.session.scalars(
                select(TenantService).where(TenantService.tenant_id == tenant.id)
            )
        }
        bookable = await uow.session.scalars(
            select(Service.id).where(Service.kind == ServiceKind.APPOINTMENT)
        )
        enabled = 0
        for service_id in bookable:
            row = offered.get(service_id)
            if row is None:
                uow.session.add(TenantService(tenant_id=tenant.id, service_id=service_id))
            else:
                row.enabled = True
            enabled += 1
        await uow.session.flush()
        token_row, token = await access.create_token(
            uow,
            role=access.REGIONAL,
            tenant_code=tenant.code,
            name=admin_name,
            expires_days=expires_days,
            now=now,
            by=caller.actor,
        )
        after = {
            **tenant_json(tenant),
            "office_hours": tenant.office_hours,
            "services_enabled": enabled,
            "admin_token_id": token_row.id,
        }
        await audit.record(
            uow,
            actor=caller.actor,
            action="tenant.onboard",
            entity="tenant",
            entity_id=tenant.code,
            tenant_id=tenant.id,
            before=before,
            after=after,
        )
        await uow.commit()
    return web.json_response(
        {
            **tenant_json(tenant),
            "office_hours": tenant.office_hours,
            "services_enabled": enabled,
            "token_id": token_row.id,
            "token": token,
            "expires_at": iso(token_row.expires_at),
        },
        status=201,
    )
