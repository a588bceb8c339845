"""Group events (training sessions): seats, an ordered waitlist, promotion on cancellation.

Every change locks the event row first (SELECT ... FOR UPDATE on PostgreSQL; SQLite writes
are serialised anyway), so the seat count and arrival positions cannot race: the event
never holds more confirmed people than seats, and the waitlist keeps arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from core import audit, catalog, meetings
from core.errors import EventClosed, NotActive, NotFound
from core.models import (
    EventRegistration,
    EventStatus,
    GroupEvent,
    RegistrationStatus,
    ServiceKind,
)
from core.uow import UnitOfWork, lock_row


@dataclass(frozen=True)
class Cancellation:
    """A cancelled registration and, if a seat was freed, who moved up from the waitlist."""

    cancelled: EventRegistration
    promoted: EventRegistration | None


async def create_event(
    uow: UnitOfWork,
    *,
    tenant_code: str,
    service_code: str,
    title: str,
    start: datetime,
    duration_minutes: int,
    seats: int,
    by: str,
    session_link: str | None = None,
    meeting_provider: meetings.MeetingProvider | None = None,
) -> GroupEvent:
    """Schedule a training event of a group-event service in a region.

    A video service's event gets its own session link unless one is given.
    """
    tenant = await catalog.get_tenant(uow, tenant_code)
    service = await catalog.get_service(uow, service_code)
    if service.kind != ServiceKind.GROUP_EVENT:
        raise NotFound(f"{service_code} is not a group-event service", entity="service")
    event = GroupEvent(
        tenant_id=tenant.id,
        service_id=service.id,
        title=title,
        start_utc=start,
        duration_minutes=duration_minutes,
        seats=seats,
        session_link=session_link,
    )
    if session_link is None and meetings.needs_link(service.modality):
        event.session_link = (meeting_provider or meetings.default_provider()).new_link()
    uow.session.add(event)
    await uow.session.flush()
    await audit.record(
        uow,
        actor=by,
        action="event.create",
        entity="group_event",
        entity_id=event.id,
        tenant_id=tenant.id,
        after={"title": title, "start_utc": start.isoformat(), "seats": seats},
    )
    return event


async def _lock_event(uow: UnitOfWork, event_id: int) -> GroupEvent:
    query = select(GroupEvent).where(GroupEvent.id == event_id)
    return await lock_row(uow, query, "no such event", "group_event")


async def upcoming_events(uow: UnitOfWork, tenant_code: str, *, now: datetime) -> list[GroupEvent]:
    """Scheduled events of a region that have not started, soonest first."""
    tenant = await catalog.get_tenant(uow, tenant_code)
    rows = await uow.session.scalars(
        select(GroupEvent)
        .where(
            GroupEvent.tenant_id == tenant.id,
            GroupEvent.status == EventStatus.SCHEDULED,
            GroupEvent.start_utc > now,
        )
        .order_by(GroupEvent.start_utc)
    )
    return list(rows)


async def register_for_event(
    uow: UnitOfWork, event_id: int, citizen_id: int, *, now: datetime, channel: str = "console"
) -> EventRegistration:
    """Take a seat, or the next place on the waitlist; registering twice returns the same row."""
    event = await _lock_event(uow, event_id)
    if event.status != EventStatus.SCHEDULED or event.start_utc <= now:
        raise EventClosed("the event is cancelled or has started")
    registration = await uow.session.scalar(
        select(EventRegistration).where(
            EventRegistration.event_id == event_id, EventRegistration.citizen_id == citizen_id
        )
    )
    if registration is not None and registration.status != RegistrationStatus.CANCELLED:
        return registration
    event.last_position += 1
    status = RegistrationStatus.WAITLISTED
    if event.confirmed_count < event.seats:
        event.confirmed_count += 1
        status = RegistrationStatus.CONFIRMED
    if registration is None:
        registration = EventRegistration(
            event_id=event_id,
            citizen_id=citizen_id,
            created_at=now,
            channel=channel,
            status=status,
            position=event.last_position,
        )
        uow.session.add(registration)
    else:
        registration.status = status
        registration.position = event.last_position
        registration.channel = channel
    registration.updated_at = now
    await uow.session.flush()
    return registration


async def cancel_registration(
    uow: UnitOfWork, event_id: int, citizen_id: int, *, now: datetime
) -> Cancellation:
    """Give up a seat or waitlist place; a freed seat goes to the first on the waitlist."""
    event = await _lock_event(uow, event_id)
    registration = await uow.session.scalar(
        select(EventRegistration).where(
            EventRegistration.event_id == event_id, EventRegistration.citizen_id == citizen_id
        )
    )
    if registration is None or registration.status == RegistrationStatus.CANCELLED:
        raise NotActive("no active registration")
    was_confirmed = registration.status == RegistrationStatus.CONFIRMED
    registration.status = RegistrationStatus.CANCELLED
    registration.updated_at = now
    promoted = None
    if was_confirmed:
        event.confirmed_count -= 1
        if event.start_utc > now:
            promoted = await uow.session.scalar(
                select(EventRegistration)
                .where(
                    EventRegistration.event_id == event_id,
                    EventRegistration.status == RegistrationStatus.WAITLISTED,
                )
                .order_by(EventRegistration.position)
                .limit(1)
            )
        if promoted is not None:
            promoted.status = RegistrationStatus.CONFIRMED
            promoted.updated_at = now
            event.confirmed_count += 1
    await uow.session.flush()
    return Cancellation(registration, promoted)


async def attendees(uow: UnitOfWork, event_id: int) -> dict[RegistrationStatus, int]:
    """How many registrations the event has in each status."""
    rows = await uow.session.execute(
        select(EventRegistration.status, func.count())
        .where(EventRegistration.event_id == event_id)
        .group_by(EventRegistration.status)
    )
    return {status: count for status, count in rows}
