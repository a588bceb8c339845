"""Notifications, reminders, case cards and surveys, written as outbox rows.

Every function here runs inside the caller's unit of work (never commits) and only writes
`outbox_message` rows; the outbox worker sends them when due. Each row has:
- an `idempotency_key` (unique): writing the same notice twice is a no-op (INSERT ... ON
  CONFLICT DO NOTHING), so a retried turn or a restarted scheduler never duplicates;
- a `subject` ("appointment:<id>", "registration:<id>", "event:<id>", "agenda:<specialist>")
  so that everything still pending about something can be withdrawn together
  (status "withdrawn") when it is cancelled or moved;
- a `kind` ("notification", "reminder", "card", "survey") and a WhatsApp `template` name with
  its variables in `payload.meta.template_vars`: business-initiated messages outside the
  24-hour window go out as that approved template (PSV_TWILIO_TEMPLATES), or are held.

Texts come from the catalogues in the citizen's language; specialists read Spanish. Session
links go to the citizen and the specialist of the appointment only. Nothing here logs names,
documents, phone numbers or links.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot import i18n
from bot.messages import Attachment, Option, Outbound
from core import booking, ics, identity, meetings, reassign
from core.availability import first_free_slots
from core.errors import DomainError
from core.models import (
    Appointment,
    AppointmentStatus,
    ChannelIdentity,
    Citizen,
    EventRegistration,
    GroupEvent,
    OutboxMessage,
    RegistrationStatus,
    Service,
    Specialist,
    Tenant,
    TenantService,
)
from core.uow import UnitOfWork

log = logging.getLogger("psv.notify")

SPECIALIST_LANG = "es"
DEFAULT_REMINDERS = (1440, 60)
EVENT_REMINDERS = (1440, 60)
SURVEY_AFTER = timedelta(minutes=15)
# The confirmation extras follow the flow's own confirmation, which is queued later in the
# same turn: a short delay keeps them after it (the worker sends one address in id order,
# skipping rows not yet due).
FOLLOW_UP_DELAY = timedelta(seconds=5)
NEW_TIMES = 3
NOTICE_PRIORITY = 0
# Rows that have not left yet; "sending" ones are in flight and can no longer be stopped.
UNSENT = ("pending", "needs_template")

# WhatsApp templates (names in PSV_TWILIO_TEMPLATES); variables {{1}}, {{2}}, {{3}}.
T_CONFIRMED = "psv_appointment_confirmed"
T_REMINDER = "psv_appointment_reminder"
T_CHANGED = "psv_appointment_changed"
T_CANCELLED = "psv_appointment_cancelled"
T_SURVEY = "psv_survey"
T_CASE = "psv_new_case"
T_CASE_UPDATE = "psv_case_update"
T_AGENDA = "psv_agenda"
T_EVENT_REMINDER = "psv_event_reminder"
T_EVENT_UPDATE = "psv_event_update"
T_DOCUMENT_USED = "psv_document_used"

BY_CITIZEN = "citizen"


@dataclass(frozen=True)
class Note:
    """One outbox row to write (at most once: its key is unique)."""

    key: str
    channel: str
    address: str
    message: Outbound
    kind: str
    subject: str
    tenant_id: int | None
    due_at: datetime
    template: str | None = None
    template_vars: dict[str, str] = field(default_factory=dict)


# ---- writing and withdrawing ------------------------------------------------------------


async def write(uow: UnitOfWork, notes: Iterable[Note], *, now: datetime) -> int:
    """Insert the notes whose keys are new; returns how many rows were written."""
    insert = sqlite_insert if uow.dialect == "sqlite" else postgresql_insert
    written = 0
    for note in notes:
        payload = note.message.to_json()
        if note.template_vars:
            payload["meta"] = {**payload.get("meta", {}), "template_vars": note.template_vars}
        statement = (
            insert(OutboxMessage)
            .values(
                channel=note.channel,
                address=note.address,
                payload=payload,
                status="pending",
                priority=NOTICE_PRIORITY,
                due_at=note.due_at,
                idempotency_key=note.key,
                kind=note.kind,
                subject=note.subject,
                tenant_id=note.tenant_id,
                template=note.template,
                attempts=0,
                provider_ids=[],
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[OutboxMessage.idempotency_key])
            .returning(OutboxMessage.id)
        )
        if (await uow.session.execute(statement)).first() is not None:
            written += 1
    return written


async def withdraw(
    uow: UnitOfWork,
    subject: str,
    *,
    keep: Iterable[str] = (),
    kinds: Sequence[str] | None = None,
) -> int:
    """Withdraw what is still unsent about `subject` (except the keys in `keep`)."""
    query = update(OutboxMessage).where(
        OutboxMessage.subject == subject, OutboxMessage.status.in_(UNSENT)
    )
    kept = [k for k in keep]
    if kept:
        query = query.where(OutboxMessage.idempotency_key.not_in(kept))
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(list(kinds)))
    result = await uow.session.execute(
        query.values(status="withdrawn").execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---- what a notice is about ----------------------------------------------------------------


@dataclass
class _Case:
    """An appointment with everything its notices show."""

    appointment: Appointment
    tenant: Tenant
    service: Service
    specialist: Specialist
    citizen: Citizen | None
    reach: tuple[str, str] | None  # the citizen's (channel, address), if reachable
    reminders: tuple[int, ...]

    @property
    def tz(self) -> str:
        return self.tenant.timezone

    @property
    def lang(self) -> str:
        return self.citizen.preferred_language if self.citizen else SPECIALIST_LANG

    @property
    def subject(self) -> str:
        return f"appointment:{self.appointment.id}"

    def service_name(self, lang: str) -> str:
        names = self.service.names or {}
        return str(names.get(lang) or names.get("es") or self.service.code)

    def when(self, lang: str, moment: datetime | None = None) -> str:
        return i18n.format_when(moment or self.appointment.start_utc, lang, self.tz)

    def first_name(self) -> str:
        citizen = self.citizen
        if citizen is None:
            return "—"
        name = citizen.representative_name or citizen.name or ""
        return name.split(" ")[0] if name.strip() else "—"

    def how(self, lang: str) -> str:
        """The session link, or how the session happens without one."""
        link = self.appointment.session_link
        if link:
            return i18n.t("notify.how.video", lang, link=link)
        key = meetings.instructions_key(self.service.modality) or "notify.how.pending"
        return i18n.t(key, lang, region=self.tenant.name)


async def _reach(uow: UnitOfWork, citizen_id: int, prefer: str | None) -> tuple[str, str] | None:
    """Where to write to a citizen: the channel they booked on first, if still reachable."""
    rows = list(
        await uow.session.execute(
            select(ChannelIdentity.channel, ChannelIdentity.address)
            .where(ChannelIdentity.citizen_id == citizen_id, ChannelIdentity.reachable.is_(True))
            .order_by(ChannelIdentity.id)
        )
    )
    if not rows:
        return None
    preferred = [r for r in rows if r[0] == prefer]
    channel, address = (preferred or rows)[0]
    return str(channel), str(address)


async def _reminder_minutes(uow: UnitOfWork, tenant_id: int, service_id: int) -> tuple[int, ...]:
    found = await uow.session.scalar(
        select(TenantService.reminder_minutes).where(
            TenantService.tenant_id == tenant_id, TenantService.service_id == service_id
        )
    )
    values = DEFAULT_REMINDERS if found is None else found
    return tuple(sorted({int(m) for m in values if int(m) > 0}, reverse=True))


async def _case(uow: UnitOfWork, appointment_id: int) -> _Case:
    appointment = await uow.session.get(Appointment, appointment_id)
    if appointment is None:
        raise LookupError(f"no appointment {appointment_id}")
    tenant = await uow.session.get(Tenant, appointment.tenant_id)
    service = await uow.session.get(Service, appointment.service_id)
    specialist = await uow.session.get(Specialist, appointment.specialist_id)
    citizen = await uow.session.get(Citizen, appointment.citizen_id)
    assert tenant is not None and service is not None and specialist is not None
    if citizen is not None and citizen.erased_at is not None:
        citizen = None
    reach = await _reach(uow, appointment.citizen_id, appointment.channel) if citizen else None
    reminders = await _reminder_minutes(uow, appointment.tenant_id, appointment.service_id)
    return _Case(appointment, tenant, service, specialist, citizen, reach, reminders)


# The case card shows this much of a citizen's story; the whole text stays on the appointment.
CARD_STORY_CHARS = 600


def _shortened(story: str) -> str:
    """A story cut at a word for the case card, marked «…» when cut."""
    if len(story) <= CARD_STORY_CHARS:
        return story
    return story[:CARD_STORY_CHARS].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def _masked(number: str | None) -> str:
    if not number:
        return "—"
    return "****" + number[-4:]


def template_for(name: str, lang: str) -> str:
    """The template name in the citizen's language, e.g. "psv_appointment_reminder.en"."""
    # The WhatsApp channel falls back to the plain (Spanish) name when that one is not set.
    return name if lang == SPECIALIST_LANG else f"{name}.{lang}"


def _vars(*values: str) -> dict[str, str]:
    return {str(i): value for i, value in enumerate(values, start=1)}


# ---- notes about one appointment ---------------------------------------------------------


def _to_citizen(
    case: _Case,
    key: str,
    message: Outbound,
    *,
    kind: str,
    due_at: datetime,
    template: str,
    template_vars: dict[str, str],
) -> list[Note]:
    return _to_reach(
        case.reach,
        case.lang,
        key=key,
        message=message,
        kind=kind,
        subject=case.subject,
        tenant_id=case.tenant.id,
        due_at=due_at,
        template=template,
        template_vars=template_vars,
    )


def _to_reach(
    reach: tuple[str, str] | None,
    lang: str,
    *,
    key: str,
    message: Outbound,
    kind: str,
    subject: str,
    tenant_id: int | None,
    due_at: datetime,
    template: str,
    template_vars: dict[str, str],
) -> list[Note]:
    """A note to a citizen's chat, if they have one we can reach; the template in their language."""
    if reach is None:
        return []
    channel, address = reach
    return [
        Note(
            key=key,
            channel=channel,
            address=address,
            message=message,
            kind=kind,
            subject=subject,
            tenant_id=tenant_id,
            due_at=due_at,
            template=template_for(template, lang),
            template_vars=template_vars,
        )
    ]


def _to_specialist(
    case: _Case,
    specialist: Specialist,
    key: str,
    message: Outbound,
    *,
    now: datetime,
    kind: str = "notification",
    template: str = T_CASE_UPDATE,
) -> list[Note]:
    if not specialist.active or not specialist.contact_address:
        return []
    lang = SPECIALIST_LANG
    return [
        Note(
            key=key,
            channel=specialist.contact_channel,
            address=specialist.contact_address,
            message=message,
            kind=kind,
            subject=case.subject,
            tenant_id=case.tenant.id,
            due_at=now,
            template=template,
            template_vars=_vars(case.service_name(lang), case.when(lang), case.first_name()),
        )
    ]


def _card(case: _Case, *, now: datetime, reassigned: bool = False) -> list[Note]:
    """The specialist's case card with its buttons."""
    lang = SPECIALIST_LANG
    appointment, citizen = case.appointment, case.citizen
    unverified = citizen is not None and identity.is_unverified(citizen)
    shown = citizen.claimed_document_number if unverified and citizen else None
    lines = [
        i18n.t("notify.card.reassigned" if reassigned else "notify.card.title", lang),
        i18n.t(
            "notify.card.body",
            lang,
            service=case.service_name(lang),
            when=case.when(lang),
            first_name=case.first_name(),
            document=_masked(shown or (citizen.document_number if citizen else None)),
        ),
    ]
    if unverified:
        lines.append(i18n.t("notify.card.unverified", lang))
    if citizen is not None and citizen.share_phone and citizen.phone:
        lines.append(i18n.t("notify.card.phone", lang, phone=citizen.phone))
    description = _shortened((appointment.case_description or "").strip())
    lines.append(
        i18n.t("notify.card.case", lang, description=description)
        if description
        else i18n.t("notify.card.no_case", lang)
    )
    lines.append(case.how(lang))
    aid = appointment.id
    options = tuple(
        Option(f"sp:{action}:{aid}", i18n.t(f"notify.card.{action}", lang))
        for action in ("ack", "attended", "no_show", "reschedule", "reassign")
    )
    message = Outbound("\n".join(lines), options=options)
    specialist = case.specialist
    return _to_specialist(
        case,
        specialist,
        f"{case.subject}:card:{specialist.id}",
        message,
        now=now,
        kind="card",
        template=T_CASE,
    )


def _calendar(case: _Case, lang: str, *, now: datetime) -> Attachment:
    appointment = case.appointment
    summary = case.service_name(lang)
    text = ics.calendar_file(
        uid=ics.uid("appointment", appointment.id),
        start=appointment.start_utc,
        end=appointment.end_utc,
        summary=summary,
        description=case.how(lang),
        now=now,
        url=appointment.session_link,
        alarm_text=i18n.t("notify.calendar.alarm", lang, service=summary),
    )
    return Attachment(f"cita-{appointment.id}.ics", ics.MIME_TYPE, text)


def _citizen_extras(
    case: _Case, *, now: datetime, delay: timedelta = FOLLOW_UP_DELAY
) -> list[Note]:
    """The link (or how the session happens) and the calendar file, after the confirmation."""
    lang = case.lang
    message = Outbound(
        i18n.t("notify.booked", lang, how=case.how(lang)),
        attachment=_calendar(case, lang, now=now),
    )
    return _to_citizen(
        case,
        f"{case.subject}:confirmation",
        message,
        kind="notification",
        due_at=now + delay,
        template=T_CONFIRMED,
        template_vars=_vars(case.service_name(lang), case.when(lang), case.how(lang)),
    )


def _reminders(case: _Case, *, now: datetime) -> list[Note]:
    """One reminder per configured lead time that is still ahead."""
    lang = case.lang
    notes: list[Note] = []
    for minutes in case.reminders:
        due = case.appointment.start_utc - timedelta(minutes=minutes)
        if due <= now:
            continue
        text = i18n.t(
            "notify.reminder",
            lang,
            service=case.service_name(lang),
            when=case.when(lang),
            how=case.how(lang),
        )
        notes += _to_citizen(
            case,
            f"{case.subject}:reminder:{minutes}",
            Outbound(text),
            kind="reminder",
            due_at=due,
            template=T_REMINDER,
            template_vars=_vars(case.service_name(lang), case.when(lang), case.how(lang)),
        )
    return notes


def _survey(case: _Case) -> list[Note]:
    lang = case.lang
    aid = case.appointment.id
    options = tuple(Option(f"survey:{aid}:{n}", f"{n} ⭐") for n in range(1, 6))
    text = i18n.t("notify.survey", lang, service=case.service_name(lang))
    return _to_citizen(
        case,
        f"{case.subject}:survey",
        Outbound(text, options=options),
        kind="survey",
        due_at=case.appointment.end_utc + SURVEY_AFTER,
        template=T_SURVEY,
        template_vars=_vars(case.service_name(lang)),
    )


async def _new_times(uow: UnitOfWork, case: _Case, *, now: datetime) -> tuple[Option, ...]:
    """A few next free times of the same service (payload `rebook:<id>:<iso>`) and "book"."""
    lang = case.lang
    options: list[Option] = []
    try:
        slots = await first_free_slots(
            uow, case.tenant.code, case.service.code, now=now, count=NEW_TIMES
        )
    except DomainError:
        slots = []
    for slot in slots:
        start = slot.start.astimezone(UTC).isoformat()
        options.append(Option(f"rebook:{case.appointment.id}:{start}", case.when(lang, slot.start)))
    options.append(Option("menu:book", i18n.t("notify.option.book_again", lang)))
    return tuple(options)


def _schedule(case: _Case, *, now: datetime) -> list[Note]:
    return [*_card(case, now=now), *_reminders(case, now=now), *_survey(case)]


# ---- identity ----------------------------------------------------------------------------


async def document_used(uow: UnitOfWork, owner_id: int, claimer_id: int, *, now: datetime) -> int:
    """Tell a document's owner, on their own chat, that another chat typed their document.

    Nothing about the other person is said; one notice per claiming record (keyed).
    """
    owner = await uow.session.get(Citizen, owner_id)
    if owner is None or owner.erased_at is not None:
        return 0
    lang = owner.preferred_language
    document = _masked(owner.document_number)
    text = i18n.t("notify.document_used", lang, document=document)
    notes = _to_reach(
        await _reach(uow, owner_id, None),
        lang,
        key=f"citizen:{owner_id}:document_used:{claimer_id}",
        message=Outbound(text),
        kind="notification",
        subject=f"citizen:{owner_id}",
        tenant_id=None,
        due_at=now,
        template=T_DOCUMENT_USED,
        template_vars=_vars(document),
    )
    return await write(uow, notes, now=now)


# ---- appointments ---------------------------------------------------------------------


async def appointment_booked(uow: UnitOfWork, appointment_id: int, *, now: datetime) -> None:
    """Card to the specialist; link and calendar file, reminders and survey for the citizen."""
    appointment = await uow.session.get(Appointment, appointment_id)
    if appointment is None:
        raise LookupError(f"no appointment {appointment_id}")
    await meetings.attach_link(uow, appointment)
    case = await _case(uow, appointment_id)
    await write(uow, [*_citizen_extras(case, now=now), *_schedule(case, now=now)], now=now)


async def appointment_cancelled(
    uow: UnitOfWork, appointment_id: int, *, by: str, now: datetime
) -> None:
    """Withdraw what is pending about it and tell the other side (new times to a citizen)."""
    case = await _case(uow, appointment_id)
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
        notes += _to_specialist(
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
        notes += _to_citizen(
            case,
            f"{case.subject}:cancelled:citizen",
            Outbound(text, options=await _new_times(uow, case, now=now)),
            kind="notification",
            due_at=now,
            template=T_CANCELLED,
            template_vars=_vars(case.service_name(lang), case.when(lang)),
        )
        if by != "specialist":
            text = i18n.t(
                "notify.specialist.cancelled_by_admin",
                SPECIALIST_LANG,
                service=case.service_name(SPECIALIST_LANG),
                when=case.when(SPECIALIST_LANG),
                first_name=case.first_name(),
            )
            notes += _to_specialist(
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
    old = await _case(uow, old_id)
    new_appointment = await uow.session.get(Appointment, new_id)
    if new_appointment is None:
        raise LookupError(f"no appointment {new_id}")
    await meetings.attach_link(uow, new_appointment)
    new = await _case(uow, new_id)
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
        notes += _to_specialist(
            old, old.specialist, f"{old.subject}:moved:specialist", Outbound(text), now=now
        )
    lang = new.lang
    if by == BY_CITIZEN:
        notes += _citizen_extras(new, now=now)
    else:
        text = i18n.t(
            "notify.moved",
            lang,
            service=new.service_name(lang),
            old_when=old.when(lang),
            when=new.when(lang),
        )
        message = Outbound(text, attachment=_calendar(new, lang, now=now))
        notes += _to_citizen(
            new,
            f"{old.subject}:moved:citizen",
            message,
            kind="notification",
            due_at=now,
            template=T_CHANGED,
            template_vars=_vars(new.service_name(lang), new.when(lang), new.how(lang)),
        )
    await withdraw(uow, old.subject, keep=[n.key for n in notes])
    await write(uow, [*notes, *_schedule(new, now=now)], now=now)


async def outcome_recorded(
    uow: UnitOfWork, appointment_id: int, outcome: str, *, now: datetime
) -> None:
    """Tell the citizen what happens next; reminders go, the survey stays only if attended."""
    case = await _case(uow, appointment_id)
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
        options = await _new_times(uow, case, now=now)
    else:
        raise ValueError(f"unknown outcome {outcome!r}")
    notes = _to_citizen(
        case,
        f"{case.subject}:outcome:{outcome}",
        Outbound(text, options=options),
        kind="notification",
        due_at=now,
        template=T_CHANGED,
        template_vars=_vars(service, when),
    )
    kinds = ["reminder"] if outcome == "attended" else ["reminder", "survey"]
    await withdraw(uow, case.subject, keep=[n.key for n in notes], kinds=kinds)
    await write(uow, notes, now=now)


async def specialist_changed(
    uow: UnitOfWork, appointment_id: int, old_specialist_id: int, *, now: datetime
) -> None:
    """The new specialist gets the card, the old one a notice, the citizen the news."""
    case = await _case(uow, appointment_id)
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
        notes += _to_specialist(
            case, old, f"{case.subject}:reassigned:{pair}:from", Outbound(text), now=now
        )
    card = _card(case, now=now, reassigned=True)
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
    notes += _to_citizen(
        case,
        f"{case.subject}:reassigned:{pair}:citizen",
        Outbound(text),
        kind="notification",
        due_at=now,
        template=T_CHANGED,
        template_vars=_vars(case.service_name(lang), case.when(lang), case.how(lang)),
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


async def agenda_text(uow: UnitOfWork, specialist_id: int, day: date, *, now: datetime) -> Outbound:
    """A specialist's appointments of one local day, in order, with times, services and links."""
    specialist = await uow.session.get(Specialist, specialist_id)
    if specialist is None:
        raise LookupError(f"no specialist {specialist_id}")
    tenant = await uow.session.get(Tenant, specialist.tenant_id)
    assert tenant is not None
    lang = SPECIALIST_LANG
    tz = ZoneInfo(tenant.timezone)
    since = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    until = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    rows = list(
        await uow.session.execute(
            select(Appointment, Service, Citizen)
            .join(Service, Service.id == Appointment.service_id)
            .join(Citizen, Citizen.id == Appointment.citizen_id)
            .where(
                Appointment.specialist_id == specialist_id,
                Appointment.status != AppointmentStatus.CANCELLED,
                Appointment.start_utc >= since,
                Appointment.start_utc < until,
            )
            .order_by(Appointment.start_utc, Appointment.id)
        )
    )
    label = i18n.format_day(day, lang)
    if not rows:
        return Outbound(i18n.t("notify.agenda.empty", lang, day=label))
    lines = [i18n.t("notify.agenda.title", lang, day=label, count=len(rows))]
    for appointment, service, citizen in rows:
        name = citizen.representative_name or citizen.name or ""
        first = name.split(" ")[0] if name.strip() else "—"
        names = service.names or {}
        line = i18n.t(
            "notify.agenda.line",
            lang,
            time=i18n.format_time(appointment.start_utc, lang, tenant.timezone),
            service=str(names.get(lang) or names.get("es") or service.code),
            first_name=first,
        )
        if appointment.status != AppointmentStatus.BOOKED:
            line += " " + i18n.t(f"notify.agenda.status.{appointment.status.value}", lang)
        lines.append(line)
        if appointment.session_link:
            lines.append(appointment.session_link)
        else:
            key = meetings.instructions_key(service.modality)
            if key:
                lines.append(i18n.t(key, lang, region=tenant.name))
    return Outbound("\n".join(lines))


def agenda_note(specialist: Specialist, day: date, message: Outbound, *, now: datetime) -> Note:
    """The morning agenda as an outbox note keyed "agenda:<specialist>:<day>"."""
    return Note(
        key=f"agenda:{specialist.id}:{day.isoformat()}",
        channel=specialist.contact_channel,
        address=specialist.contact_address,
        message=message,
        kind="notification",
        subject=f"agenda:{specialist.id}",
        tenant_id=specialist.tenant_id,
        due_at=now,
        template=T_AGENDA,
        template_vars=_vars(i18n.format_day(day, SPECIALIST_LANG)),
    )


# ---- training events ------------------------------------------------------------------


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
        return _to_reach(
            self.reach,
            self.lang,
            key=key,
            message=message,
            kind=kind,
            subject=self.subject,
            tenant_id=self.tenant.id,
            due_at=due_at,
            template=template,
            template_vars=_vars(self.event.title, self.when(), self.how()),
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
        reach = await _reach(uow, citizen.id, registration.channel)
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


__all__ = [
    "Note",
    "after_closure",
    "after_day_off",
    "agenda_note",
    "agenda_text",
    "appointment_booked",
    "appointment_cancelled",
    "appointment_moved",
    "event_cancelled",
    "outcome_recorded",
    "registration_cancelled",
    "registration_confirmed",
    "specialist_changed",
    "withdraw",
    "write",
]
