"""GET /dashboard/events: server-sent events of the live changes in the caller's scope."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.context import context
from bot.dashboard import live, views
from core.models import Service, Tenant

KEEPALIVE_S = 15.0
STOPPING = web.AppKey("psv_dashboard_stopping", asyncio.Event)


async def _names(request: web.Request, lang: str) -> tuple[dict[int, Any], dict[int, str]]:
    async with context(request).db.uow() as uow:
        tenants = {
            tid: (code, name)
            for tid, code, name in await uow.session.execute(
                select(Tenant.id, Tenant.code, Tenant.name)
            )
        }
        services = {
            sid: str(names.get(lang) or names.get("es") or code)
            for sid, code, names in await uow.session.execute(
                select(Service.id, Service.code, Service.names)
            )
        }
    return tenants, services


def _frame(found: live.LiveEvent, tenants: dict[int, Any], services: dict[int, str]) -> bytes:
    code, name = tenants.get(found.tenant_id, ("", ""))
    data = {
        **found.to_json(),
        "region": code,
        "region_name": name,
        "service": services.get(found.service_id or 0, ""),
    }
    return f"event: change\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    """Stream the changes committed in the caller's scope until the page closes."""
    found = await views.signed_in_or_page(request)
    if isinstance(found, web.Response):
        return found
    tenant_id, _tenants = await views.scope(context(request), found, request.query.get("region"))
    tenants, services = await _names(request, views.language(request))
    stopping = request.app[STOPPING]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    # Subscribed before the headers go out: the page's «open» means no later change is missed.
    async with live.HUB.subscribe() as queue:
        await response.prepare(request)
        await response.write(b"retry: 2000\n: connected\n\n")
        stop = asyncio.ensure_future(stopping.wait())
        try:
            while not stopping.is_set():
                got = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {got, stop}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
                )
                if got not in done:
                    got.cancel()
                    if not stopping.is_set():
                        await response.write(b": keepalive\n\n")
                    continue
                change = got.result()
                if tenant_id is None or change.tenant_id == tenant_id:
                    await response.write(_frame(change, tenants, services))
        except ConnectionResetError:
            pass  # the page was closed
        finally:
            stop.cancel()
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response
