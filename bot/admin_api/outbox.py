"""Messages of a region that could not go (failed, needs_template), and retrying them."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.auth import region_reading, scoped_tenant
from bot.admin_api.bodies import iso, json_object, path_id, query_choice
from bot.admin_api.context import context, record_change
from bot.admin_api.formats import mask_document
from bot.admin_api.pagination import fetch, listing, page_of
from core.errors import NotActive, NotFound
from core.models import OutboxMessage
from core.states import OutboxStatus

STUCK = (OutboxStatus.FAILED, OutboxStatus.NEEDS_TEMPLATE)


def message_json(row: OutboxMessage) -> dict[str, Any]:
    """A stuck message: where and why, the address masked."""
    return {
        "id": row.id,
        "channel": row.channel,
        "address": mask_document(row.address),
        "kind": row.kind,
        "subject": row.subject,
        "template": row.template,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "text": str(row.payload.get("text", "")) if row.payload else "",
        "created_at": iso(row.created_at),
        "due_at": iso(row.due_at),
    }


async def list_outbox(request: web.Request) -> web.Response:
    """GET /tenants/{t}/outbox?status=failed|needs_template (both by default)."""
    page = page_of(request)
    status = query_choice(request, "status", STUCK)
    async with region_reading(request) as (uow, tenant):
        query = select(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant.id,
            OutboxMessage.status.in_([status] if status else list(STUCK)),
        )
        rows, cursor = await fetch(uow, query, OutboxMessage.id, page)
    return listing([message_json(r) for (r,) in rows], cursor)


async def retry_message(request: web.Request) -> web.Response:
    """POST /tenants/{t}/outbox/{id}/retry: back to pending with attempts reset."""
    await json_object(request, allowed=frozenset())
    message_id = path_id(request, "message")
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        row = await uow.session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.tenant_id == tenant.id)
            .with_for_update()
        )
        if row is None:
            raise NotFound("no such message in this region")
        if row.status not in STUCK:
            raise NotActive(f"the message is {row.status}, not failed or needs_template")
        before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
        row.status = OutboxStatus.PENDING
        row.attempts = 0
        row.last_error = None
        row.leased_until = None
        row.due_at = ctx.clock()
        await uow.session.flush()
        after = {"status": OutboxStatus.PENDING, "attempts": 0}
        await record_change(
            uow,
            request,
            tenant.id,
            "outbox.retry",
            "outbox_message",
            row.id,
            before=before,
            after=after,
        )
        answer = message_json(row)
        await uow.commit()
    return web.json_response(answer)
