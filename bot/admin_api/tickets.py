"""The region's hand-off queue (`handoff_request`): list and assign to a specialist."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.admin_api.auth import region_reading, scoped_tenant
from bot.admin_api.bodies import MAX_ID, iso, json_object, path_id, query_choice
from bot.admin_api.context import context, record_change
from bot.admin_api.errors import conflict, invalid
from bot.admin_api.formats import first_name
from bot.admin_api.pagination import fetch, listing, page_of
from bot.conversation import relay
from core import roster
from core.errors import NotActive, NotFound
from core.models import Citizen, HandoffRequest, Service, Specialist
from core.states import TicketStatus

STATUSES = tuple(status.value for status in TicketStatus)


def ticket_json(
    row: HandoffRequest, service: str | None, citizen: Citizen | None, region: str
) -> dict[str, Any]:
    """A hand-off request as admins see it (the citizen by first name only)."""
    return {
        "id": row.id,
        "status": row.status,
        "first_name": first_name(citizen.name or citizen.representative_name) if citizen else None,
        "service": service,
        "region": region,
        "note": row.note,
        "specialist_id": row.specialist_id,
        "created_at": iso(row.created_at),
        "assigned_at": iso(row.assigned_at),
        "closed_at": iso(row.closed_at),
    }


async def list_tickets(request: web.Request) -> web.Response:
    """GET /tenants/{t}/tickets?status=open|assigned|closed."""
    page = page_of(request)
    status = query_choice(request, "status", STATUSES)
    async with region_reading(request) as (uow, tenant):
        query = (
            select(HandoffRequest, Service.code, Citizen)
            .outerjoin(Service, Service.id == HandoffRequest.service_id)
            .outerjoin(Citizen, Citizen.id == HandoffRequest.citizen_id)
            .where(HandoffRequest.tenant_id == tenant.id)
        )
        if status:
            query = query.where(HandoffRequest.status == status)
        rows, cursor = await fetch(uow, query, HandoffRequest.id, page)
    return listing([ticket_json(r, code, c, tenant.code) for r, code, c in rows], cursor)


async def assign_ticket(request: web.Request) -> web.Response:
    """POST /tenants/{t}/tickets/{id}/assign: give a request to an active specialist."""
    body = await json_object(request, allowed=frozenset({"specialist_id"}))
    specialist_id = body.integer("specialist_id", low=1, high=MAX_ID)
    assert specialist_id is not None
    ticket_id = path_id(request, "ticket")
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        found = (
            await uow.session.execute(
                select(HandoffRequest, Service.code)
                .outerjoin(Service, Service.id == HandoffRequest.service_id)
                .where(HandoffRequest.id == ticket_id, HandoffRequest.tenant_id == tenant.id)
                .with_for_update(of=HandoffRequest)
            )
        ).first()
        if found is None:
            raise NotFound("no such ticket in this region")
        ticket, code = found
        if ticket.status == TicketStatus.CLOSED:
            raise NotActive("the ticket is closed")
        try:
            spec = await roster.get_specialist(uow, tenant.id, specialist_id)
        except NotFound:
            raise invalid("no such specialist in this region", field="specialist_id") from None
        if not spec.active:
            raise invalid("the specialist is inactive", field="specialist_id")
        if spec.contact_channel not in relay.RELAY_CHANNELS or not spec.contact_address:
            able = await uow.session.execute(
                select(Specialist.id, Specialist.name).where(
                    Specialist.tenant_id == tenant.id,
                    Specialist.active.is_(True),
                    Specialist.contact_channel.in_(relay.RELAY_CHANNELS),
                )
            )
            names = ", ".join(f"{i} ({name})" for i, name in able) or "none yet"
            raise invalid(
                f"specialist {spec.id} has no Telegram or WhatsApp chat, so the citizen's "
                f"messages cannot reach them; specialists who can take it: {names}",
                field="specialist_id",
            )
        before = {"status": ticket.status, "specialist_id": ticket.specialist_id}
        # Starts the relay: both sides are told who they talk to (bot/conversation/relay.py).
        try:
            async with uow.session.begin_nested():
                await relay.assign(uow, ticket, spec, ctx.clock())
                await uow.session.flush()
        except IntegrityError:
            # uq_handoff_one_relay_per_specialist: they are relaying another conversation.
            raise conflict(
                "the specialist is already talking with another citizen", field="specialist_id"
            ) from None
        after = {"status": ticket.status, "specialist_id": spec.id}
        await record_change(
            uow,
            request,
            tenant.id,
            "ticket.assign",
            "handoff_request",
            ticket.id,
            before=before,
            after=after,
        )
        citizen = await uow.session.get(Citizen, ticket.citizen_id) if ticket.citizen_id else None
        answer = ticket_json(ticket, code, citizen, tenant.code)
        await uow.commit()
    return web.json_response(answer)
