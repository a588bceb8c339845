"""A region's training events: list, create, attendees, cancel (registrants are told)."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.admin_api.auth import region_reading, scoped_tenant
from bot.admin_api.bodies import iso, json_object, path_id
from bot.admin_api.context import context, principal, record_change
from bot.admin_api.errors import conflict, invalid
from bot.admin_api.formats import first_name, mask_document
from bot.admin_api.pagination import fetch, listing, page_of
from bot.outbox import notify
from core import events, meetings, roster
from core.errors import NotActive, NotFound
from core.models import (
    Citizen,
    EventRegistration,
    EventStatus,
    GroupEvent,
    RegistrationStatus,
    Service,
    ServiceKind,
    Tenant,
)
from core.uow import UnitOfWork


def _event_id(request: web.Request) -> int:
    return path_id(request, "event")


async def _event(uow: UnitOfWork, tenant: Tenant, event_id: int) -> GroupEvent:
    event = await uow.session.scalar(
        select(GroupEvent).where(GroupEvent.id == event_id, GroupEvent.tenant_id == tenant.id)
    )
    if event is None:
        raise NotFound("no such event in this region")
    return event


async def _json_of(uow: UnitOfWork, rows: list[tuple[GroupEvent, str]]) -> list[dict[str, Any]]:
    ids = [e.id for e, _ in rows]
    counts = await uow.session.execute(
        select(EventRegistration.event_id, func.count())
        .where(
            EventRegistration.event_id.in_(ids),
            EventRegistration.status == RegistrationStatus.WAITLISTED,
        )
        .group_by(EventRegistration.event_id)
    )
    waiting: dict[int, int] = {event_id: n for event_id, n in counts}
    return [
        {
            "id": e.id,
            "title": e.title,
            "service": code,
            "start": iso(e.start_utc),
            "duration_minutes": e.duration_minutes,
            "seats": e.seats,
            "confirmed": e.confirmed_count,
            "waitlisted": waiting.get(e.id, 0),
            "status": e.status.value,
            "session_link": e.session_link,
        }
        for e, code in rows
    ]


async def list_events(request: web.Request) -> web.Response:
    """GET /tenants/{t}/events: newest first."""
    page = page_of(request)
    async with region_reading(request) as (uow, tenant):
        query = (
            select(GroupEvent, Service.code)
            .join(Service, Service.id == GroupEvent.service_id)
            .where(GroupEvent.tenant_id == tenant.id)
        )
        rows, cursor = await fetch(uow, query, GroupEvent.id, page, newest_first=True)
        items = await _json_of(uow, [(e, c) for e, c in rows])
    return listing(items, cursor)


async def create_event(request: web.Request) -> web.Response:
    """POST /tenants/{t}/events: a training event with seats and a session link (201)."""
    body = await json_object(
        request,
        allowed=frozenset({"title", "service", "start", "duration_minutes", "seats", "force"}),
    )
    force = body.boolean("force")
    title = body.text("title")
    code = body.text("service", max_length=60)
    start = body.moment("start")
    duration = body.integer("duration_minutes", low=15, high=480)
    seats = body.integer("seats", low=1, high=1000)
    assert title and code and duration and seats
    ctx = context(request)
    if start <= ctx.clock():
        raise invalid("'start' must be in the future", field="start")
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        service = await uow.session.scalar(select(Service).where(Service.code == code))
        if service is None or service.kind != ServiceKind.GROUP_EVENT:
            raise invalid(f"'{code}' is not a group-event service", field="service")
        closed = await _closed_on(uow, tenant.id, start.astimezone(ctx.tz).date())
        if closed and not force:
            raise conflict(
                f"{'; '.join(closed)}: send force to create the event anyway",
                closures=closed,
            )
        event = await events.create_event(
            uow,
            tenant_code=tenant.code,
            service_code=code,
            title=title,
            start=start,
            duration_minutes=duration,
            seats=seats,
            by=principal(request).actor,
        )
        await meetings.attach_link(uow, event, meetings.JitsiProvider(ctx.settings.meeting_url))
        await uow.session.flush()
        [answer] = await _json_of(uow, [(event, code)])
        await uow.commit()
    return web.json_response(answer | {"warnings": closed}, status=201)


async def _closed_on(uow: UnitOfWork, tenant_id: int, day: date) -> list[str]:
    """Why the region's offices are closed on a day (national holidays, its closures)."""
    found = []
    for row in await roster.closures(uow, tenant_id, since=day):
        if row.specialist_id is None and row.starts_on <= day <= row.ends_on:
            what = "a national holiday" if row.tenant_id is None else "a closure of the region"
            reason = f" ({row.reason})" if row.reason else ""
            found.append(f"{day.isoformat()} is {what}{reason}")
    return found


async def attendees(request: web.Request) -> web.Response:
    """GET /tenants/{t}/events/{id}/attendees: in arrival order, documents masked."""
    page = page_of(request)
    async with region_reading(request) as (uow, tenant):
        event = await _event(uow, tenant, _event_id(request))
        query = (
            select(EventRegistration, Citizen)
            .join(Citizen, Citizen.id == EventRegistration.citizen_id)
            .where(EventRegistration.event_id == event.id)
        )
        rows, cursor = await fetch(uow, query, EventRegistration.id, page)
    return listing(
        [
            {
                "position": r.position,
                "status": r.status.value,
                "first_name": first_name(c.name),
                "doc_type": c.document_type.value if c.document_type else None,
                "document": mask_document(c.document_number),
                "channel": r.channel,
            }
            for r, c in rows
        ],
        cursor,
    )


async def cancel_event(request: web.Request) -> web.Response:
    """POST /tenants/{t}/events/{id}/cancel: cancel it and tell everyone registered."""
    await json_object(request, allowed=frozenset())
    ctx = context(request)
    now = ctx.clock()
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        event = await _event(uow, tenant, _event_id(request))
        if event.status == EventStatus.CANCELLED:
            raise NotActive("the event is already cancelled")
        registrations = list(
            await uow.session.scalars(
                select(EventRegistration).where(
                    EventRegistration.event_id == event.id,
                    EventRegistration.status != RegistrationStatus.CANCELLED,
                )
            )
        )
        before = {"status": event.status.value, "confirmed": event.confirmed_count}
        told = await notify.event_cancelled(uow, event.id, now=now)
        event.status = EventStatus.CANCELLED
        for registration in registrations:
            registration.status = RegistrationStatus.CANCELLED
            registration.updated_at = now
        event.confirmed_count = 0
        await record_change(
            uow,
            request,
            tenant.id,
            "event.cancel",
            "group_event",
            event.id,
            before=before,
            after={"status": "cancelled", "registrations": len(registrations), "told": told},
        )
        await uow.commit()
    return web.json_response(
        {"id": event.id, "status": "cancelled", "registrations": len(registrations), "told": told}
    )
