"""A region's services and their booking rules: GET list, PATCH one."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.auth import region_reading, scoped_tenant
from bot.admin_api.bodies import json_object
from bot.admin_api.context import context, record_change
from bot.admin_api.errors import invalid
from bot.admin_api.pagination import fetch, listing, page_of
from core.errors import NotFound
from core.models import Service, TenantService

FIELDS = frozenset(
    {
        "enabled",
        "duration_minutes",
        "min_notice_minutes",
        "horizon_days",
        "buffer_minutes",
        "intake_questions",
        "reminder_minutes",
    }
)


def service_json(row: TenantService, service: Service) -> dict[str, Any]:
    """A region's service and its rules."""
    return {
        "code": service.code,
        "name": service.names.get("es") or service.code,
        "enabled": row.enabled,
        "duration_minutes": row.duration_minutes or service.default_duration_minutes,
        "min_notice_minutes": row.min_notice_minutes,
        "horizon_days": row.horizon_days,
        "buffer_minutes": row.buffer_minutes,
        "intake_questions": list(row.intake_questions or []),
        "reminder_minutes": list(row.reminder_minutes or []),
    }


async def list_services(request: web.Request) -> web.Response:
    """GET /tenants/{t}/services."""
    page = page_of(request)
    async with region_reading(request) as (uow, tenant):
        query = (
            select(TenantService, Service)
            .join(Service, Service.id == TenantService.service_id)
            .where(TenantService.tenant_id == tenant.id)
        )
        rows, cursor = await fetch(uow, query, TenantService.id, page)
    return listing([service_json(row, service) for row, service in rows], cursor)


async def patch_service(request: web.Request) -> web.Response:
    """PATCH /tenants/{t}/services/{code}: change some of a service's rules."""
    body = await json_object(request, allowed=FIELDS)
    changes: dict[str, Any] = {}
    if "enabled" in body:
        changes["enabled"] = body.boolean("enabled")
    for name, low, high in (
        ("duration_minutes", 5, 480),
        ("min_notice_minutes", 0, 60 * 24 * 30),
        ("horizon_days", 1, 365),
        ("buffer_minutes", 0, 240),
    ):
        value = body.integer(name, low=low, high=high, required=False)
        if value is not None:
            changes[name] = value
    questions = body.strings("intake_questions", max_items=10, max_length=300, required=False)
    if questions is not None:
        changes["intake_questions"] = questions
    reminders = body.integers("reminder_minutes", low=5, high=60 * 24 * 7, max_items=5)
    if reminders is not None:
        changes["reminder_minutes"] = sorted(set(reminders), reverse=True)
    if not changes:
        raise invalid(f"nothing to change; give any of {', '.join(sorted(FIELDS))}")
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        code = request.match_info["code"]
        found = (
            await uow.session.execute(
                select(TenantService, Service)
                .join(Service, Service.id == TenantService.service_id)
                .where(TenantService.tenant_id == tenant.id, Service.code == code)
            )
        ).first()
        if found is None:
            raise NotFound(f"the region does not offer a service {code!r}")
        row, service = found
        before = service_json(row, service)
        for name, value in changes.items():
            setattr(row, name, value)
        await uow.session.flush()
        after = service_json(row, service)
        await record_change(
            uow,
            request,
            tenant.id,
            "service.update",
            "tenant_service",
            code,
            before={k: before[k] for k in changes},
            after={k: after[k] for k in changes},
        )
        await uow.commit()
    return web.json_response(after)
