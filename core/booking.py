"""Book, cancel and reschedule appointments, race-free.

The database refuses a double booking (PostgreSQL: the exclusion constraint of migration
0001; SQLite: every write transaction is BEGIN IMMEDIATE, so the re-check below runs
alone). Python only chooses the candidate; the insert inside a savepoint is the proof.

Likewise a citizen never holds two booked appointments at overlapping times: `book` looks
first (to answer with the appointment they already have), and the database refuses what a
race lets through (migration 0007: an exclusion constraint on PostgreSQL, triggers under
the serialised writers of SQLite). A reschedule releases the old time before booking the
new one, so moving an appointment never overlaps itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from core import audit
from core.availability import (
    FIRST_WINDOW,
    Rules,
    Schedule,
    Slot,
    compute_slots,
    earliest_slots,
    load_schedule,
    lookup_offer,
    tenant_service_rules,
)
from core.errors import (
    AlreadyBooked,
    Closed,
    Holiday,
    InvalidTransition,
    NotActive,
    NotFound,
    OutsideHours,
    SlotOffer,
    SlotTaken,
    TooFarAhead,
    TooSoon,
)
from core.meetings import MeetingProvider, needs_link
from core.models import Appointment, AppointmentStatus, Citizen, Service, Tenant
from core.uow import UnitOfWork, lock_row

ALTERNATIVES = 3
# The name the database gives a citizen's overlap (constraint on PostgreSQL, trigger on SQLite).
CITIZEN_OVERLAP = "ex_appointment_citizen_overlap"
DEADLOCK_RETRIES = 3


def _is_deadlock(failed: DBAPIError) -> bool:
    """Whether PostgreSQL undid the statement to break a deadlock (SQLSTATE 40P01)."""
    return getattr(failed.orig, "sqlstate", None) == "40P01"


def _snapshot(appointment: Appointment) -> dict[str, Any]:
    return {
        "status": appointment.status.value,
        "start_utc": appointment.start_utc.isoformat(),
        "specialist_id": appointment.specialist_id,
        "service_id": appointment.service_id,
    }


async def _alternatives(
    uow: UnitOfWork,
    tenant: Tenant,
    service: Service,
    rules: Rules,
    *,
    now: datetime,
    after: datetime,
) -> list[SlotOffer]:
    slots = await earliest_slots(
        uow, tenant, service, rules, now=now, count=ALTERNATIVES, after=after
    )
    return [SlotOffer(s.start, s.end) for s in slots]


async def _alternatives_from(
    uow: UnitOfWork,
    schedule: Schedule,
    tenant: Tenant,
    service: Service,
    *,
    now: datetime,
    after: datetime,
    read_until: datetime,
) -> list[SlotOffer]:
    """The next free slots from `after`: first from the schedule in hand, read up to
    `read_until`, then from the database beyond it."""
    slots = compute_slots(schedule, after, read_until, now, limit=ALTERNATIVES)
    if len(slots) < ALTERNATIVES:
        slots += await earliest_slots(
            uow,
            tenant,
            service,
            schedule.rules,
            now=now,
            count=ALTERNATIVES - len(slots),
            after=read_until,
        )
    return [SlotOffer(s.start, s.end) for s in slots]


def _check_window(rules: Rules, start: datetime, now: datetime) -> None:
    """Refuse a start inside the minimum notice or beyond the horizon."""
    if start < now + rules.min_notice:
        raise TooSoon("inside the minimum notice", earliest=now + rules.min_notice)
    if start >= now + rules.horizon:
        raise TooFarAhead("beyond the booking horizon", latest=now + rules.horizon)


def _explain(schedule: Schedule, start: datetime, now: datetime) -> None:
    """Raise the refusal that explains why `start` is not a slot, busy time aside."""
    _check_window(schedule.rules, start, now)
    day = start.astimezone(schedule.tz).date()
    if day in schedule.holidays:
        raise Holiday(schedule.holidays[day], day=day)
    if day in schedule.closed:
        raise Closed(schedule.closed[day], day=day)
    if _slot_at(schedule, start, now, ignore_busy=True) is None:
        raise OutsideHours("no competent specialist works at that time")


def _slot_at(
    schedule: Schedule, start: datetime, now: datetime, *, ignore_busy: bool = False
) -> Slot | None:
    """The slot starting exactly at `start`, if there is one."""
    end = start + schedule.rules.duration
    slots = compute_slots(schedule, start, end, now, ignore_busy=ignore_busy)
    return next((s for s in slots if s.start == start), None)


def _day_load(schedule: Schedule, start: datetime) -> Counter[int]:
    """Booked appointments per specialist on the local day of `start`."""
    day = start.astimezone(schedule.tz).date()
    day_from = datetime.combine(day, time(0), tzinfo=schedule.tz).astimezone(UTC)
    day_to = datetime.combine(day + timedelta(days=1), time(0), tzinfo=schedule.tz).astimezone(UTC)
    load: Counter[int] = Counter()
    for spec in schedule.specialists:
        load[spec.id] = sum(1 for a, _ in spec.busy if day_from <= a < day_to)
    return load


async def _by_key(uow: UnitOfWork, key: str | None) -> Appointment | None:
    if key is None:
        return None
    return await uow.session.scalar(select(Appointment).where(Appointment.idempotency_key == key))


async def overlapping(
    uow: UnitOfWork, citizen_id: int, start: datetime, end: datetime
) -> Appointment | None:
    """The citizen's booked appointment overlapping [start, end), if any (the earliest)."""
    return await uow.session.scalar(
        select(Appointment)
        .where(
            Appointment.citizen_id == citizen_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_utc < end,
            Appointment.end_utc > start,
        )
        .order_by(Appointment.start_utc, Appointment.id)
        .limit(1)
    )


async def _refuse_overlap(uow: UnitOfWork, citizen_id: int, start: datetime, end: datetime) -> None:
    """Raise AlreadyBooked when the citizen already holds an appointment in [start, end)."""
    existing = await overlapping(uow, citizen_id, start, end)
    if existing is not None:
        raise AlreadyBooked(
            "the citizen already has an appointment at that time",
            existing=existing.id,
            service_id=existing.service_id,
            start=existing.start_utc,
        )


async def _insert_first_free(
    uow: UnitOfWork,
    tenant: Tenant,
    service: Service,
    rules: Rules,
    citizen: Citizen,
    start: datetime,
    *,
    now: datetime,
    channel: str,
    idempotency_key: str | None,
    case_description: str | None,
    rescheduled_from_id: int | None = None,
    meeting: MeetingProvider | None = None,
) -> Appointment:
    _check_window(rules, start, now)
    await _refuse_overlap(uow, citizen.id, start, start + rules.duration)
    # One read serves the check and, when refused, the first alternatives: it covers the
    # first window `earliest_slots` would search from `start`.
    read_until = max(start + rules.duration, min(start + FIRST_WINDOW, now + rules.horizon))
    schedule = await load_schedule(uow, tenant, service, rules, start, read_until)
    slot = _slot_at(schedule, start, now)
    if slot is None:
        _explain(schedule, start, now)
        raise SlotTaken(
            "every competent specialist is busy then",
            await _alternatives_from(
                uow, schedule, tenant, service, now=now, after=start, read_until=read_until
            ),
        )
    load = _day_load(schedule, start)
    candidates = sorted(slot.specialist_ids, key=lambda sid: (load[sid], sid))
    deadlocks = 0
    # The room is made before the INSERT that carries it: one UPDATE fewer (attach_link).
    link = meeting.new_link() if meeting is not None and needs_link(service.modality) else None
    while candidates:
        specialist_id = candidates[0]
        appointment = Appointment(
            tenant_id=tenant.id,
            service_id=service.id,
            specialist_id=specialist_id,
            citizen_id=citizen.id,
            start_utc=start,
            end_utc=start + rules.duration,
            busy_until=start + rules.duration + rules.buffer,
            channel=channel,
            idempotency_key=idempotency_key,
            case_description=case_description,
            rescheduled_from_id=rescheduled_from_id,
            session_link=link,
            created_at=now,
        )
        try:
            async with uow.session.begin_nested():
                uow.session.add(appointment)
        except IntegrityError as refused:
            # Someone took this specialist meanwhile (or the same key was used): the
            # savepoint is gone, the transaction lives on; try the next candidate.
            existing = await _by_key(uow, idempotency_key)
            if existing is not None:
                return existing
            if CITIZEN_OVERLAP in str(refused):
                # The same citizen booked that time in a racing request, now committed.
                await _refuse_overlap(uow, citizen.id, start, start + rules.duration)
            candidates.pop(0)
            continue
        except DBAPIError as failed:
            # Two exclusion checks may wait for each other (PostgreSQL inserts, then
            # checks); the deadlock detector undoes one statement. Only the savepoint is
            # lost: try the same specialist again, the other request having gone on.
            deadlocks += 1
            if not _is_deadlock(failed) or deadlocks > DEADLOCK_RETRIES:
                raise
            continue
        return appointment
    raise SlotTaken(
        "taken while booking",
        await _alternatives(uow, tenant, service, rules, now=now, after=start),
    )


async def book(
    uow: UnitOfWork,
    *,
    tenant_code: str,
    service_code: str,
    citizen_id: int,
    start: datetime,
    now: datetime,
    channel: str = "console",
    idempotency_key: str | None = None,
    case_description: str | None = None,
    meeting: MeetingProvider | None = None,
) -> Appointment:
    """Book `start` with the least loaded free competent specialist; idempotent on its key.

    A retried request with the same key returns the appointment made the first time.
    Refusals: ServiceNotOffered, TooSoon, TooFarAhead, AlreadyBooked (the citizen holds an
    overlapping appointment), Holiday, Closed, OutsideHours, SlotTaken (with the next free
    slots as alternatives). With `meeting`, a video service's appointment is inserted with its
    room (core/meetings.py).
    """
    existing = await _by_key(uow, idempotency_key)
    if existing is not None:
        return existing
    tenant, service, rules = await lookup_offer(uow, tenant_code, service_code)
    citizen = await uow.session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound("no such citizen", entity="citizen")
    return await _insert_first_free(
        uow,
        tenant,
        service,
        rules,
        citizen,
        start,
        now=now,
        channel=channel,
        idempotency_key=idempotency_key,
        case_description=case_description,
        meeting=meeting,
    )


async def _locked(uow: UnitOfWork, appointment_id: int, tenant_id: int | None) -> Appointment:
    query = select(Appointment).where(Appointment.id == appointment_id)
    if tenant_id is not None:
        query = query.where(Appointment.tenant_id == tenant_id)
    return await lock_row(uow, query, "no such appointment", "appointment")


async def cancel(
    uow: UnitOfWork,
    appointment_id: int,
    *,
    by: str,
    reason: str,
    now: datetime,
    tenant_id: int | None = None,
    citizen_id: int | None = None,
) -> Appointment:
    """Cancel a booked appointment (the row is kept); scope it by tenant or citizen."""
    appointment = await _locked(uow, appointment_id, tenant_id)
    if citizen_id is not None and appointment.citizen_id != citizen_id:
        raise NotFound("no such appointment", entity="appointment")
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotActive(f"appointment is {appointment.status.value}")
    before = _snapshot(appointment)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancel_reason = reason
    appointment.cancelled_by = by
    appointment.cancelled_at = now
    await uow.session.flush()
    await audit.record(
        uow,
        actor=by,
        action="appointment.cancel",
        entity="appointment",
        entity_id=appointment.id,
        tenant_id=appointment.tenant_id,
        before=before,
        after=_snapshot(appointment) | {"reason": reason},
    )
    return appointment


async def reschedule(
    uow: UnitOfWork,
    appointment_id: int,
    new_start: datetime,
    *,
    by: str,
    now: datetime,
    channel: str = "console",
    idempotency_key: str | None = None,
    tenant_id: int | None = None,
    citizen_id: int | None = None,
    meeting: MeetingProvider | None = None,
) -> Appointment:
    """Move an appointment atomically: the new one is booked or the old one stays.

    Both changes are one transaction; the old appointment is locked first so two
    reschedules of it run one after the other (the second finds it no longer booked).
    """
    existing = await _by_key(uow, idempotency_key)
    if existing is not None:
        return existing
    old = await _locked(uow, appointment_id, tenant_id)
    if citizen_id is not None and old.citizen_id != citizen_id:
        raise NotFound("no such appointment", entity="appointment")
    if old.status != AppointmentStatus.BOOKED:
        raise NotActive(f"appointment is {old.status.value}")
    tenant = await uow.session.get(Tenant, old.tenant_id)
    service = await uow.session.get(Service, old.service_id)
    citizen = await uow.session.get(Citizen, old.citizen_id)
    assert tenant is not None and service is not None and citizen is not None
    _, rules = await tenant_service_rules(uow, tenant, service)
    before = _snapshot(old)
    # The old time is released inside this transaction only, so the citizen may move to
    # an overlapping time with the same specialist; others still see it booked until commit.
    old.status = AppointmentStatus.CANCELLED
    old.cancel_reason = "rescheduled"
    old.cancelled_by = by
    old.cancelled_at = now
    await uow.session.flush()
    new = await _insert_first_free(
        uow,
        tenant,
        service,
        rules,
        citizen,
        new_start,
        now=now,
        channel=channel,
        idempotency_key=idempotency_key,
        case_description=old.case_description,
        rescheduled_from_id=old.id,
        meeting=meeting,
    )
    await audit.record(
        uow,
        actor=by,
        action="appointment.reschedule",
        entity="appointment",
        entity_id=old.id,
        tenant_id=old.tenant_id,
        before=before,
        after=_snapshot(new) | {"id": new.id},
    )
    return new


async def set_outcome(
    uow: UnitOfWork,
    appointment_id: int,
    status: AppointmentStatus,
    *,
    by: str,
    now: datetime,
    tenant_id: int | None = None,
) -> Appointment:
    """Record attended or no-show for a booked appointment that has started."""
    if status not in (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW):
        raise InvalidTransition(f"outcome must be attended or no_show, not {status.value}")
    appointment = await _locked(uow, appointment_id, tenant_id)
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotActive(f"appointment is {appointment.status.value}")
    if appointment.start_utc > now:
        raise InvalidTransition("the appointment has not started yet")
    before = _snapshot(appointment)
    appointment.status = status
    await uow.session.flush()
    await audit.record(
        uow,
        actor=by,
        action=f"appointment.{status.value}",
        entity="appointment",
        entity_id=appointment.id,
        tenant_id=appointment.tenant_id,
        before=before,
        after=_snapshot(appointment),
    )
    return appointment


async def appointments_of(
    uow: UnitOfWork,
    citizen_id: int,
    *,
    now: datetime,
    upcoming_only: bool = True,
    statuses: Sequence[AppointmentStatus] = (AppointmentStatus.BOOKED,),
) -> list[Appointment]:
    """A citizen's appointments (by default: booked and not yet ended), soonest first."""
    query = select(Appointment).where(
        Appointment.citizen_id == citizen_id, Appointment.status.in_(list(statuses))
    )
    if upcoming_only:
        query = query.where(Appointment.end_utc > now)
    return list(await uow.session.scalars(query.order_by(Appointment.start_utc)))


__all__ = [
    "appointments_of",
    "book",
    "cancel",
    "overlapping",
    "reschedule",
    "set_outcome",
]
