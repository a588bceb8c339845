"""Notices about appointments: booked, cancelled, moved, outcome, new specialist, days off.

Each runs inside the caller's unit of work: it withdraws what no longer holds about the
appointment and writes what the change needs, to the citizen and to the specialist.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import i18n
from bot.messages import Option, Outbound
from bot.outbox.notify.cases import (
    case_calendar,
    case_card,
    citizen_extras,
    load_case,
    new_times,
    scheduled,
    to_specialist,
)
from bot.outbox.notify.reach import (
    SPECIALIST_LANG,
    T_CANCELLED,
    T_CHANGED,
    numbered,
    to_citizen,
)
from bot.outbox.rows import Note, withdraw, write
from core import booking, meetings, reassign
from core.errors import DomainError
from core.models import Appointment, OutboxMessage, Specialist, Tenant
from core.uow import UnitOfWork

log = logging.getLogger("psv.notify")

BY_CITIZEN = "citizen"


async def appointment_booked(uow: UnitOfWork, appointment_id: int, *, now: datetime) -> None:
    """Card to the specialist; link and calendar file, reminders and survey for the citizen."""
    appointment = await uow.session.get(Appointment, appointment_id)
    if appointment is None:
        raise LookupError(f"no appointment {appointment_id}")
    await meetings.attach_link(uow, appointment)
    case = await load_case(uow, appointment_id)
    await write(uow, [*citizen_extras(case, now=now), *scheduled(case, now=now)], now=now)


async def appointment_cancelled(
    uow: UnitOfWork, appointment_id: int, *, by: str, now: datetime
) -> None:
    """Withdraw what is pending about it and tell the other side (new times to a citizen)."""
    case = await load_case(uow, appointment_id)
    notes: list[Note] = []
    lang = case.lang
    if by == BY_CITIZEN:
        text = i18n.t(
            "notify.specialist.cancelled",
            SPECIALIST_LANG,
            service=case.service_name(SPECIALIST_LANG),
            when=case.when(SPECIALIST_LANG),
            first_name=case.first_name(),
        )
        notes += to_specialist(
            case, case.specialist, f"{case.subject}:cancelled:specialist", Outbound(text), now=now
        )
    else:
        text = i18n.t(
            "notify.cancelled",
            lang,
            service=case.service_name(lang),
            when=case.when(lang),
        )
        text += "\n" + i18n.t("notify.new_times", lang)
        notes += to_citizen(
            case,
            f"{case.subject}:cancelled:citizen",
            Outbound(text, options=await new_times(uow, case, now=now)),
            kind="notification",
            due_at=now,
            template=T_CANCELLED,
            template_vars=numbered(case.service_name(lang), case.when(lang)),
        )
        if by != "specialist":
            text = i18n.t(
                "notify.specialist.cancelled_by_admin",
                SPECIALIST_LANG,
                service=case.service_name(SPECIALIST_LANG),
                when=case.when(SPECIALIST_LANG),
                first_name=case.first_name(),
            )
            notes += to_specialist(
                case,
                case.specialist,
                f"{case.subject}:cancelled:specialist",
                Outbound(text),
                now=now,
            )
    await withdraw(uow, case.subject, keep=[n.key for n in notes])
    await write(uow, notes, now=now)


async def appointment_moved(
    uow: UnitOfWork, old_id: int, new_id: int, *, by: str, now: datetime
) -> None:
    """Withdraw the old time's notices, schedule the new one's, tell the other side."""
    old = await load_case(uow, old_id)
    new_appointment = await uow.session.get(Appointment, new_id)
    if new_appointment is None:
        raise LookupError(f"no appointment {new_id}")
    await meetings.attach_link(uow, new_appointment)
    new = await load_case(uow, new_id)
    notes: list[Note] = []
    sp = SPECIALIST_LANG
    same_specialist = old.specialist.id == new.specialist.id
    if not same_specialist or by == BY_CITIZEN:
        key = "notify.specialist.moved" if same_specialist else "notify.specialist.released"
        text = i18n.t(
            key,
            sp,
            service=old.service_name(sp),
            old_when=old.when(sp),
            when=new.when(sp),
            first_name=old.first_name(),
        )
        notes += to_specialist(
            old, old.specialist, f"{old.subject}:moved:specialist", Outbound(text), now=now
        )
    lang = new.lang
    if by == BY_CITIZEN:
        notes += citizen_extras(new, now=now)
    else:
        text = i18n.t(
            "notify.moved",
            lang,
            service=new.service_name(lang),
            old_when=old.when(lang),
            when=new.when(lang),
        )
        message = Outbound(text, attachment=case_calendar(new, lang, now=now))
        notes += to_citizen(
            new,
            f"{old.subject}:moved:citizen",
            message,
            kind="notification",
            due_at=now,
            template=T_CHANGED,
            template_vars=new.summary_vars(),
        )
    await withdraw(uow, old.subject, keep=[n.key for n in notes])
    await write(uow, [*notes, *scheduled(new, now=now)], now=now)


async def outcome_recorded(
    uow: UnitOfWork, appointment_id: int, outcome: str, *, now: datetime
) -> None:
    """Tell the citizen what happens next; reminders go, the survey stays only if attended."""
    case = await load_case(uow, appointment_id)
    lang = case.lang
    service, when = case.service_name(lang), case.when(lang)
    options: tuple[Option, ...] = ()
    if outcome == "attended":
        text = i18n.t("notify.outcome.attended", lang, service=service)
    elif outcome == "no_show":
        text = i18n.t("notify.outcome.no_show", lang, service=service, when=when)
        options = (Option("menu:book", i18n.t("notify.option.book_again", lang)),)
    elif outcome == "reschedule":
        text = i18n.t("notify.outcome.reschedule", lang, service=service)
        text += "\n" + i18n.t("notify.new_times", lang)
        options = await new_times(uow, case, now=now)
    else:
        raise ValueError(f"unknown outcome {outcome!r}")
    notes = to_citizen(
        case,
        f"{case.subject}:outcome:{outcome}",
        Outbound(text, options=options),
        kind="notification",
        due_at=now,
        template=T_CHANGED,
        template_vars=numbered(service, when),
    )
    kinds = ["reminder"] if outcome == "attended" else ["reminder", "survey"]
    await withdraw(uow, case.subject, keep=[n.key for n in notes], kinds=kinds)
    await write(uow, notes, now=now)


async def specialist_changed(
    uow: UnitOfWork, appointment_id: int, old_specialist_id: int, *, now: datetime
) -> None:
    """The new specialist gets the card, the old one a notice, the citizen the news."""
    case = await load_case(uow, appointment_id)
    old = await uow.session.get(Specialist, old_specialist_id)
    sp = SPECIALIST_LANG
    notes: list[Note] = []
    pair = f"{old_specialist_id}:{case.specialist.id}"
    if old is not None:
        text = i18n.t(
            "notify.specialist.reassigned",
            sp,
            service=case.service_name(sp),
            when=case.when(sp),
            first_name=case.first_name(),
            colleague=case.specialist.name,
        )
        notes += to_specialist(
            case, old, f"{case.subject}:reassigned:{pair}:from", Outbound(text), now=now
        )
    card = case_card(case, now=now, reassigned=True)
    # The old specialist's unsent card must not go out any more.
    await withdraw(uow, case.subject, keep=[n.key for n in card], kinds=["card"])
    notes += card
    lang = case.lang
    text = i18n.t(
        "notify.reassigned",
        lang,
        service=case.service_name(lang),
        when=case.when(lang),
        specialist=case.specialist.name.split(" ")[0],
    )
    notes += to_citizen(
        case,
        f"{case.subject}:reassigned:{pair}:citizen",
        Outbound(text),
        kind="notification",
        due_at=now,
        template=T_CHANGED,
        template_vars=case.summary_vars(),
    )
    await write(uow, notes, now=now)


async def _move_or_cancel(
    uow: UnitOfWork,
    appointments: Sequence[Appointment],
    *,
    reason: str,
    actor: str,
    now: datetime,
) -> dict[str, int]:
    """Give each future appointment to a free colleague, else cancel it and offer new times.

    Returns {"moved": n, "cancelled": m, "reoffered": k}: k of the m cancelled citizens
    could be reached with the new times (the others have no reachable chat).
    """
    counts = {"moved": 0, "cancelled": 0, "reoffered": 0}
    for appointment in appointments:
        if appointment.start_utc <= now:
            continue
        old_specialist = appointment.specialist_id
        moved = None
        try:
            async with uow.session.begin_nested():
                moved = await reassign.reassign(uow, appointment.id, now=now, by=actor)
        except DomainError:
            moved = None
        if moved is not None:
            await specialist_changed(uow, appointment.id, old_specialist, now=now)
            counts["moved"] += 1
            continue
        await booking.cancel(
            uow,
            appointment.id,
            by=actor,
            reason=reason,
            now=now,
            tenant_id=appointment.tenant_id,
        )
        await appointment_cancelled(uow, appointment.id, by="admin", now=now)
        counts["cancelled"] += 1
        told = await uow.session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.idempotency_key == f"appointment:{appointment.id}:cancelled:citizen"
            )
        )
        counts["reoffered"] += told is not None
    return counts


async def after_day_off(
    uow: UnitOfWork,
    *,
    specialist_id: int,
    starts_on: date,
    ends_on: date,
    actor: str,
    now: datetime,
) -> dict[str, int]:
    """Move the specialist's appointments on those days to colleagues, else cancel them.

    Returns {"moved": n, "cancelled": m}; both sides are told either way, and citizens of
    cancelled appointments are offered new times.
    """
    specialist = await uow.session.get(Specialist, specialist_id)
    if specialist is None:
        raise LookupError(f"no specialist {specialist_id}")
    tenant = await uow.session.get(Tenant, specialist.tenant_id)
    assert tenant is not None
    tz = ZoneInfo(tenant.timezone)
    covered = await reassign.booked_between(uow, specialist_id, starts_on, ends_on, tz=tz)
    counts = await _move_or_cancel(uow, covered, reason="specialist_day_off", actor=actor, now=now)
    log.info(
        "day off of specialist %d: %d moved, %d cancelled",
        specialist_id,
        counts["moved"],
        counts["cancelled"],
    )
    return {"moved": counts["moved"], "cancelled": counts["cancelled"]}


async def after_closure(
    uow: UnitOfWork,
    *,
    tenant_id: int,
    starts_on: date,
    ends_on: date,
    actor: str,
    now: datetime,
) -> dict[str, int]:
    """Follow a regional closure (already added in this unit of work) like a day off.

    Each booked appointment of the region on those local days goes to a colleague free
    then; with the whole region closed nobody usually is, so it is cancelled (reminders
    withdrawn, the specialist told) and the citizen is offered new times, which the
    closure itself keeps off those days. Returns {"moved", "cancelled", "reoffered"}.
    """
    tenant = await uow.session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    tz = ZoneInfo(tenant.timezone)
    covered = await reassign.booked_in_region(uow, tenant_id, starts_on, ends_on, tz=tz)
    counts = await _move_or_cancel(uow, covered, reason="regional_closure", actor=actor, now=now)
    log.info(
        "closure of tenant %d: %d moved, %d cancelled, %d offered new times",
        tenant_id,
        counts["moved"],
        counts["cancelled"],
        counts["reoffered"],
    )
    return counts
