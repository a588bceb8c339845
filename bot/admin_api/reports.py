"""GET /reports: figures per day and totals, for a region or (national roles) every region."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.bodies import query_day
from bot.admin_api.context import context, principal, reading
from core import reports
from core.access import Forbidden
from core.errors import NotFound
from core.models import Tenant

DEFAULT_DAYS = 7


async def get_report(request: web.Request) -> web.Response:
    """GET /reports?tenant=CODE&from=DATE&to=DATE (the last 7 days by default)."""
    caller = principal(request)
    ctx = context(request)
    today = datetime.now(ctx.tz).date()
    end = query_day(request, "to") or today
    start = query_day(request, "from") or end - timedelta(days=DEFAULT_DAYS - 1)
    code = request.query.get("tenant") or caller.tenant_code
    async with reading(request) as uow:
        tenants = {t.id: t for t in await uow.session.scalars(select(Tenant))}
        tenant = next((t for t in tenants.values() if t.code == code), None) if code else None
        if code and tenant is None:
            if not caller.is_national:
                raise Forbidden(f"this token is limited to {caller.tenant_code}, not {code}")
            raise NotFound(f"no region {code}")
        if tenant is not None:
            caller.require_tenant(tenant.id, tenant.code)
        found = await reports.report(
            uow, tenant_id=tenant.id if tenant else None, start=start, end=end, tz=ctx.tz
        )
    answer: dict[str, Any] = {
        "tenant": tenant.code if tenant else None,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": [{"date": day.isoformat(), **f.to_json()} for day, f in found.days.items()],
        "totals": found.totals.to_json(),
    }
    if tenant is None:
        answer["regions"] = [
            {"tenant": tenants[tid].code, **f.to_json()}
            for tid, f in sorted(found.regions.items(), key=lambda item: tenants[item[0]].code)
        ]
    return web.json_response(answer)
