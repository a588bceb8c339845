"""An appointment as its notices see it (`Case`), and the notes every appointment gets.

The specialist's case card, the citizen's link and calendar file, the reminders and the
survey; `bot/outbox/notify/appointments.py` decides when each is written or withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot import i18n
from bot.messages import Attachment, Option, Outbound
from bot.outbox.notify.reach import (
    FOLLOW_UP_DELAY,
    SPECIALIST_LANG,
    T_CASE,
    T_CASE_UPDATE,
    T_CONFIRMED,
    T_REMINDER,
    T_SURVEY,
    find_reach,
    masked,
    numbered,
    to_citizen,
)
from bot.outbox.rows import Note
from core import ics, identity, meetings
from core.availability import first_free_slots
from core.errors import DomainError
from core.models import Appointment, Citizen, Service, Specialist, Tenant, TenantService
from core.uow import UnitOfWork

DEFAULT_REMINDERS = (1440, 60)
SURVEY_AFTER = timedelta(minutes=15)
NEW_TIMES = 3


@dataclass
class Case:
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
        """The region's time zone."""
        return self.tenant.timezone

    @property
    def lang(self) -> str:
        """The citizen's language (Spanish when the record is gone)."""
        return self.citizen.preferred_language if self.citizen else SPECIALIST_LANG

    @property
    def subject(self) -> str:
        """What its outbox rows are about: "appointment:<id>"."""
        return f"appointment:{self.appointment.id}"

    def service_name(self, lang: str) -> str:
        """The service's name in `lang`, else in Spanish, else its code."""
        names = self.service.names or {}
        return str(names.get(lang) or names.get("es") or self.service.code)

    def when(self, lang: str, moment: datetime | None = None) -> str:
        """The appointment's (or `moment`'s) local date and time, written out in `lang`."""
        return i18n.format_when(moment or self.appointment.start_utc, lang, self.tz)

    def first_name(self) -> str:
        """The citizen's (or representative's) first name, "—" when unknown."""
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

    def summary_vars(self) -> dict[str, str]:
        """Template variables in the citizen's language: {{1}} service, {{2}} when, {{3}} how."""
        lang = self.lang
        return numbered(self.service_name(lang), self.when(lang), self.how(lang))


async def _reminder_minutes(uow: UnitOfWork, tenant_id: int, service_id: int) -> tuple[int, ...]:
    """The service's reminder lead times in the region, longest first."""
    found = await uow.session.scalar(
        select(TenantService.reminder_minutes).where(
            TenantService.tenant_id == tenant_id, TenantService.service_id == service_id
        )
    )
    values = DEFAULT_REMINDERS if found is None else found
    return tuple(sorted({int(m) for m in values if int(m) > 0}, reverse=True))


async def load_case(uow: UnitOfWork, appointment_id: int) -> Case:
    """An appointment with its region, service, specialist, citizen and where to reach them."""
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
    reach = await find_reach(uow, appointment.citizen_id, appointment.channel) if citizen else None
    reminders = await _reminder_minutes(uow, appointment.tenant_id, appointment.service_id)
    return Case(appointment, tenant, service, specialist, citizen, reach, reminders)


# The case card shows this much of a citizen's story; the whole text stays on the appointment.
CARD_STORY_CHARS = 600


def _shortened(story: str) -> str:
    """A story cut at a word for the case card, marked «…» when cut."""
    if len(story) <= CARD_STORY_CHARS:
        return story
    return story[:CARD_STORY_CHARS].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def to_specialist(
    case: Case,
    specialist: Specialist,
    key: str,
    message: Outbound,
    *,
    now: datetime,
    kind: str = "notification",
    template: str = T_CASE_UPDATE,
) -> list[Note]:
    """A note about the appointment to a specialist, if active and reachable."""
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
            template_vars=numbered(case.service_name(lang), case.when(lang), case.first_name()),
        )
    ]


def case_card(case: Case, *, now: datetime, reassigned: bool = False) -> list[Note]:
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
            document=masked(shown or (citizen.document_number if citizen else None)),
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
    return to_specialist(
        case,
        specialist,
        f"{case.subject}:card:{specialist.id}",
        message,
        now=now,
        kind="card",
        template=T_CASE,
    )


def case_calendar(case: Case, lang: str, *, now: datetime) -> Attachment:
    """The appointment as a calendar file, with its link and an alarm."""
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


def citizen_extras(case: Case, *, now: datetime, delay: timedelta = FOLLOW_UP_DELAY) -> list[Note]:
    """The link (or how the session happens) and the calendar file, after the confirmation."""
    lang = case.lang
    message = Outbound(
        i18n.t("notify.booked", lang, how=case.how(lang)),
        attachment=case_calendar(case, lang, now=now),
    )
    return to_citizen(
        case,
        f"{case.subject}:confirmation",
        message,
        kind="notification",
        due_at=now + delay,
        template=T_CONFIRMED,
        template_vars=case.summary_vars(),
    )


def _reminders(case: Case, *, now: datetime) -> list[Note]:
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
        notes += to_citizen(
            case,
            f"{case.subject}:reminder:{minutes}",
            Outbound(text),
            kind="reminder",
            due_at=due,
            template=T_REMINDER,
            template_vars=case.summary_vars(),
        )
    return notes


def _survey(case: Case) -> list[Note]:
    """The survey after the appointment's end, with five star buttons."""
    lang = case.lang
    aid = case.appointment.id
    options = tuple(Option(f"survey:{aid}:{n}", f"{n} ⭐") for n in range(1, 6))
    text = i18n.t("notify.survey", lang, service=case.service_name(lang))
    return to_citizen(
        case,
        f"{case.subject}:survey",
        Outbound(text, options=options),
        kind="survey",
        due_at=case.appointment.end_utc + SURVEY_AFTER,
        template=T_SURVEY,
        template_vars=numbered(case.service_name(lang)),
    )


async def new_times(uow: UnitOfWork, case: Case, *, now: datetime) -> tuple[Option, ...]:
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


def scheduled(case: Case, *, now: datetime) -> list[Note]:
    """What every booked appointment gets: the card, the reminders still ahead, the survey."""
    return [*case_card(case, now=now), *_reminders(case, now=now), *_survey(case)]
