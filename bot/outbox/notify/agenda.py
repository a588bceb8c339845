"""The specialists' agenda: one local day's appointments, as text and as an outbox note."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import i18n
from bot.messages import Outbound
from bot.outbox.notify.reach import SPECIALIST_LANG, T_AGENDA, numbered
from bot.outbox.rows import Note
from core import meetings
from core.models import Appointment, AppointmentStatus, Citizen, Service, Specialist, Tenant
from core.uow import UnitOfWork


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
        template_vars=numbered(i18n.format_day(day, SPECIALIST_LANG)),
    )
