"""Move a booked appointment to another competent free specialist at the same time.

Used when a specialist asks to hand a case over, when a day off is added and when a
regional closure is added (the whole region closed: nobody is usually free). The colleague
is chosen from a fresh schedule (hours, breaks, closures, days off, booked time) like a
booking; the database has the last word, as for a booking: the change of specialist runs in
a savepoint, and the exclusion constraint (PostgreSQL) or the partial unique index with
serialised writers (SQLite) refuses a double booking, in which case the next colleague is
tried. The appointment keeps its id, its link and its reminders.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError

from core import audit, booking
from core.availability import free_at, load_schedule, tenant_service_rules
from core.errors import NotActive, NotFound
from core.models import Appointment, AppointmentStatus, Service, Tenant
from core.uow import UnitOfWork, lock_row


async def _locked(uow: UnitOfWork, appointment_id: int) -> Appointment:
    query = select(Appointment).where(Appointment.id == appointment_id)
    return await lock_row(uow, query, "no such appointment", "appointment")


async def colleagues(uow: UnitOfWork, appointment: Appointment, now: datetime) -> list[int]:
    """Competent specialists free for the appointment's exact time, least loaded first."""
    tenant = await uow.session.get(Tenant, appointment.tenant_id)
    service = await uow.session.get(Service, appointment.service_id)
    assert tenant is not None and service is not None
    _, rules = await tenant_service_rules(uow, tenant, service)
    # The time is already promised to the citizen: the minimum notice does not apply.
    rules = dataclasses.replace(rules, min_notice=timedelta(0))
    start = appointment.start_utc
    tz = ZoneInfo(tenant.timezone)
    day = start.astimezone(tz).date()
    day_from = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    day_to = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    schedule = await load_schedule(uow, tenant, service, rules, day_from, day_to)
    # Not the slot grid: a colleague whose slots start at other times may still be free then.
    free = [sid for sid in free_at(schedule, start) if sid != appointment.specialist_id]
    load = {
        spec.id: sum(1 for busy_from, _ in spec.busy if day_from <= busy_from < day_to)
        for spec in schedule.specialists
    }
    return sorted(free, key=lambda sid: (load.get(sid, 0), sid))


async def find_colleague(uow: UnitOfWork, appointment: Appointment, now: datetime) -> int | None:
    """The colleague a reassignment would try first, or None when nobody is free then."""
    found = await colleagues(uow, appointment, now)
    return found[0] if found else None


async def reassign(
    uow: UnitOfWork, appointment_id: int, *, now: datetime, by: str
) -> Appointment | None:
    """Give a booked, future appointment to a free colleague; None when nobody is free.

    The appointment keeps its id and session link; only `specialist_id` changes.
    """
    appointment = await _locked(uow, appointment_id)
    if appointment.status != AppointmentStatus.BOOKED or appointment.start_utc <= now:
        raise NotActive(f"appointment is {appointment.status.value} or has started")
    old_specialist = appointment.specialist_id
    for candidate in await colleagues(uow, appointment, now):
        try:
            async with uow.session.begin_nested():
                appointment.specialist_id = candidate
                await uow.session.flush()
        except IntegrityError:
            # Taken meanwhile: the savepoint is undone, the appointment read back as it was.
            await uow.session.refresh(appointment)
            continue
        await audit.record(
            uow,
            actor=by,
            action="appointment.reassign",
            entity="appointment",
            entity_id=appointment.id,
            tenant_id=appointment.tenant_id,
            before={"specialist_id": old_specialist},
            after={"specialist_id": candidate},
        )
        return appointment
    return None


async def _booked_on_days(
    uow: UnitOfWork, scope: ColumnElement[bool], starts_on: date, ends_on: date, tz: ZoneInfo
) -> list[Appointment]:
    since = datetime.combine(starts_on, time(0), tzinfo=tz).astimezone(UTC)
    until = datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    rows = await uow.session.scalars(
        select(Appointment)
        .where(
            scope,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_utc >= since,
            Appointment.start_utc < until,
        )
        .order_by(Appointment.start_utc, Appointment.id)
    )
    return list(rows)


async def booked_between(
    uow: UnitOfWork, specialist_id: int, starts_on: date, ends_on: date, *, tz: ZoneInfo
) -> list[Appointment]:
    """A specialist's booked appointments on the local days [starts_on, ends_on], in order."""
    scope = Appointment.specialist_id == specialist_id
    return await _booked_on_days(uow, scope, starts_on, ends_on, tz)


async def booked_in_region(
    uow: UnitOfWork, tenant_id: int, starts_on: date, ends_on: date, *, tz: ZoneInfo
) -> list[Appointment]:
    """A region's booked appointments on the local days [starts_on, ends_on], in order."""
    scope = Appointment.tenant_id == tenant_id
    return await _booked_on_days(uow, scope, starts_on, ends_on, tz)


async def rebook(
    uow: UnitOfWork,
    appointment_id: int,
    start: datetime,
    *,
    now: datetime,
    channel: str,
    idempotency_key: str | None = None,
    citizen_id: int | None = None,
) -> Appointment:
    """Book a new time for the citizen of an appointment a specialist or admin cancelled.

    Same region, service, citizen and case description; the usual refusals apply
    (SlotTaken with alternatives, TooSoon...). Scope it with `citizen_id` from a chat.
    """
    old = await uow.session.get(Appointment, appointment_id)
    if old is None or (citizen_id is not None and old.citizen_id != citizen_id):
        raise NotFound("no such appointment", entity="appointment")
    tenant = await uow.session.get(Tenant, old.tenant_id)
    service = await uow.session.get(Service, old.service_id)
    assert tenant is not None and service is not None
    return await booking.book(
        uow,
        tenant_code=tenant.code,
        service_code=service.code,
        citizen_id=old.citizen_id,
        start=start,
        now=now,
        channel=channel,
        idempotency_key=idempotency_key,
        case_description=old.case_description,
    )
