"""Notices about training events: a seat's calendar file and reminders, promotions, cancellations.

Subjects are "registration:<id>"; a registration given up and taken again is a new
generation (its position), so its keys are new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot import i18n
from bot.messages import Attachment, Outbound
from bot.outbox.notify.reach import (
    FOLLOW_UP_DELAY,
    T_EVENT_REMINDER,
    T_EVENT_UPDATE,
    find_reach,
    numbered,
    to_citizen,
)
from bot.outbox.rows import Note, withdraw, write
from core import ics, meetings
from core.models import Citizen, EventRegistration, GroupEvent, RegistrationStatus, Tenant
from core.uow import UnitOfWork

EVENT_REMINDERS = (1440, 60)


@dataclass
class _Seat:
    registration: EventRegistration
    event: GroupEvent
    tenant: Tenant
    reach: tuple[str, str] | None
    lang: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return f"registration:{self.registration.id}"

    @property
    def generation(self) -> str:
        # A registration given up and taken again reuses its row with a new position.
        return f"{self.subject}:{self.registration.position}"

    def when(self) -> str:
        return i18n.format_when(self.event.start_utc, self.lang, self.tenant.timezone)

    def how(self) -> str:
        if self.event.session_link:
            return i18n.t("notify.how.video", self.lang, link=self.event.session_link)
        return i18n.t("notify.how.event_place", self.lang, region=self.tenant.name)

    def note(
        self, key: str, message: Outbound, *, kind: str, due_at: datetime, template: str
    ) -> list[Note]:
        vars_ = numbered(self.event.title, self.when(), self.how())
        return to_citizen(
            self, key, message, kind=kind, due_at=due_at, template=template, template_vars=vars_
        )


async def _seat(uow: UnitOfWork, registration_id: int) -> _Seat:
    registration = await uow.session.get(EventRegistration, registration_id)
    if registration is None:
        raise LookupError(f"no registration {registration_id}")
    event = await uow.session.get(GroupEvent, registration.event_id)
    assert event is not None
    tenant = await uow.session.get(Tenant, event.tenant_id)
    citizen = await uow.session.get(Citizen, registration.citizen_id)
    assert tenant is not None and citizen is not None
    reach = None
    if citizen.erased_at is None:
        reach = await find_reach(uow, citizen.id, registration.channel)
    return _Seat(registration, event, tenant, reach, citizen.preferred_language)


def _event_calendar(seat: _Seat, *, now: datetime) -> Attachment:
    """The training event as a calendar file, with its link and an alarm an hour before."""
    event = seat.event
    text = ics.calendar_file(
        uid=ics.uid("event", event.id),
        start=event.start_utc,
        end=event.start_utc + timedelta(minutes=event.duration_minutes),
        summary=event.title,
        description=seat.how(),
        now=now,
        url=event.session_link,
        alarm_text=i18n.t("notify.calendar.alarm", seat.lang, service=event.title),
    )
    return Attachment(f"evento-{event.id}.ics", ics.MIME_TYPE, text)


def _event_reminders(seat: _Seat, *, now: datetime) -> list[Note]:
    notes: list[Note] = []
    for minutes in EVENT_REMINDERS:
        due = seat.event.start_utc - timedelta(minutes=minutes)
        if due <= now:
            continue
        text = i18n.t(
            "notify.event.reminder",
            seat.lang,
            title=seat.event.title,
            when=seat.when(),
            how=seat.how(),
        )
        notes += seat.note(
            f"{seat.generation}:reminder:{minutes}",
            Outbound(text),
            kind="reminder",
            due_at=due,
            template=T_EVENT_REMINDER,
        )
    return notes


async def registration_confirmed(
    uow: UnitOfWork, registration_id: int, *, now: datetime, promoted: bool = False
) -> None:
    """Schedule a confirmed seat's link the day before and an hour before.

    `promoted`: the seat came from the waitlist, so the citizen is told at once too.
    """
    seat = await _seat(uow, registration_id)
    if seat.registration.status != RegistrationStatus.CONFIRMED:
        return
    await meetings.attach_link(uow, seat.event)
    notes = _event_reminders(seat, now=now)
    title = seat.event.title
    notes += seat.note(
        f"{seat.generation}:calendar",
        Outbound(
            i18n.t("notify.event.calendar", seat.lang, title=title, when=seat.when()),
            attachment=_event_calendar(seat, now=now),
        ),
        kind="notification",
        due_at=now + FOLLOW_UP_DELAY,  # after the flow's own confirmation
        template=T_EVENT_UPDATE,
    )
    if promoted:
        text = i18n.t("notify.event.promoted", seat.lang, title=seat.event.title, when=seat.when())
        notes += seat.note(
            f"{seat.generation}:promoted",
            Outbound(text),
            kind="notification",
            due_at=now,
            template=T_EVENT_UPDATE,
        )
    await write(uow, notes, now=now)


async def registration_cancelled(uow: UnitOfWork, registration_id: int, *, now: datetime) -> None:
    """Withdraw a given-up seat's pending reminders."""
    await withdraw(uow, f"registration:{registration_id}")


async def event_cancelled(uow: UnitOfWork, event_id: int, *, now: datetime) -> int:
    """Tell every registrant (seat or waitlist) and withdraw their reminders; returns how many."""
    registrations = list(
        await uow.session.scalars(
            select(EventRegistration).where(
                EventRegistration.event_id == event_id,
                EventRegistration.status != RegistrationStatus.CANCELLED,
            )
        )
    )
    told = 0
    for registration in registrations:
        seat = await _seat(uow, registration.id)
        text = i18n.t("notify.event.cancelled", seat.lang, title=seat.event.title, when=seat.when())
        notes = seat.note(
            f"event:{event_id}:cancelled:{registration.id}",
            Outbound(text),
            kind="notification",
            due_at=now,
            template=T_EVENT_UPDATE,
        )
        await withdraw(uow, seat.subject, keep=[n.key for n in notes])
        told += await write(uow, notes, now=now)
    return told
