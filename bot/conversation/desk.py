"""Specialists by chat: case-card buttons, "agenda", outcomes with notes, reassignment, relay.

A message from an address registered for an active specialist never reaches the citizen
flows; it is read here. Everything a specialist can do is scoped to their own appointments
and their own ticket, and only their registered address reaches this module, so a citizen
sending the same payloads (`sp:attended:12`) only gets the citizen flows' polite confusion.
Specialists are answered in Spanish (the ministry's working language).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import i18n
from bot.conversation import followups, relay
from bot.conversation.refusals import refusal_text
from bot.conversation.state import NOTE_FOR
from bot.messages import Inbound, Option, Outbound
from bot.outbox import notify
from bot.understanding import global_command, normalise
from bot.understanding.dates import read_date
from core import booking
from core.errors import DomainError
from core.models import Appointment, AppointmentStatus, Conversation, Specialist, Tenant
from core.reassign import reassign
from core.uow import UnitOfWork

LANG = "es"
PREFIX = "sp:"
OUTCOMES = {"attended": AppointmentStatus.ATTENDED, "no_show": AppointmentStatus.NO_SHOW}
NO_NOTE = "sp:no_note"
AGENDA_WORDS = ("agenda", "mi agenda", "citas", "mis citas")
MAX_NOTE = 1000
MAX_ID_DIGITS = 12


async def specialist_at(uow: UnitOfWork, channel: str, address: str) -> Specialist | None:
    """The active specialist registered at this chat address, if any."""
    return await uow.session.scalar(
        select(Specialist)
        .where(
            Specialist.contact_channel == channel,
            Specialist.contact_address == address,
            Specialist.active.is_(True),
        )
        .order_by(Specialist.id)
        .limit(1)
    )


def _t(key: str, **params: object) -> str:
    return i18n.t(key, LANG, **params)


def _help() -> Outbound:
    return Outbound(
        _t("desk.help"),
        options=(
            Option("sp:agenda:today", _t("desk.option.today")),
            Option("sp:agenda:tomorrow", _t("desk.option.tomorrow")),
        ),
    )


async def _zone(uow: UnitOfWork, specialist: Specialist, fallback: str) -> ZoneInfo:
    """The time zone of the specialist's region (its days are that region's days)."""
    tenant = await uow.session.get(Tenant, specialist.tenant_id)
    return ZoneInfo(tenant.timezone if tenant is not None else fallback)


class Desk:
    """Reads one message of a specialist in a unit of work."""

    def __init__(self, timezone: str, meeting_url: str) -> None:
        self.timezone = timezone
        self.meeting_url = meeting_url

    async def handle(
        self, uow: UnitOfWork, conversation: Conversation, inbound: Inbound, now: datetime
    ) -> list[Outbound] | None:
        """Replies when this message comes from a specialist's address; None otherwise."""
        specialist = await specialist_at(uow, inbound.channel, inbound.user_ref)
        if specialist is None:
            return None
        conversation.language = LANG
        return await self._specialist(uow, conversation, specialist, inbound, now)

    async def _specialist(
        self,
        uow: UnitOfWork,
        conversation: Conversation,
        specialist: Specialist,
        inbound: Inbound,
        now: datetime,
    ) -> list[Outbound]:
        state = dict(conversation.state or {})
        payload = inbound.payload or ""
        text = inbound.text.strip()
        command = global_command(text) if text else None
        ticket = await relay.ticket_of_specialist(uow, specialist.id)
        if ticket is not None and relay.wants_to_close(inbound, command):
            conversation.state = {}
            return await relay.close(uow, ticket, by="specialist", now=now)
        if not payload and ticket is None:
            # While relaying, a bare "2" is a message for the citizen, never an option.
            typed = await followups.typed_option(uow, inbound)
            if typed is not None:
                payload = typed
                inbound = dataclasses.replace(inbound, payload=typed, text="")
                text = ""
        if payload.startswith(PREFIX) and payload != NO_NOTE:
            conversation.state = {}
            return await self._button(uow, specialist, payload, now, conversation)
        if NOTE_FOR in state:
            conversation.state = {}
            return await self._note(uow, specialist, int(state[NOTE_FOR]), inbound, now)
        zone = await _zone(uow, specialist, self.timezone)
        day = self._agenda_day(text, now, zone)
        if day is not None:
            return [await notify.agenda_text(uow, specialist.id, day, now=now)]
        if ticket is not None and not payload:
            return await relay.from_specialist(uow, ticket, specialist, inbound, now)
        return [_help()]

    def _agenda_day(self, text: str, now: datetime, zone: ZoneInfo) -> date | None:
        """The day of an "agenda ..." request ("agenda", "agenda mañana", "citas del lunes")."""
        words = normalise(text)
        for word in sorted(AGENDA_WORDS, key=len, reverse=True):
            if words == word or words.startswith(word + " "):
                rest = text.strip()[len(word) :].strip(" ,:.")
                today = now.astimezone(zone).date()
                if not rest:
                    return today
                return read_date(rest, now, tz=zone).date or None
        return None

    async def _own(
        self, uow: UnitOfWork, specialist: Specialist, appointment_id: int
    ) -> Appointment | None:
        appointment = await uow.session.get(Appointment, appointment_id)
        if appointment is None or appointment.specialist_id != specialist.id:
            return None
        return appointment

    async def _button(
        self,
        uow: UnitOfWork,
        specialist: Specialist,
        payload: str,
        now: datetime,
        conversation: Conversation,
    ) -> list[Outbound]:
        action, _, raw = payload.removeprefix(PREFIX).partition(":")
        if action == "agenda":
            today = now.astimezone(await _zone(uow, specialist, self.timezone)).date()
            day = today + timedelta(days=1) if raw == "tomorrow" else today
            return [await notify.agenda_text(uow, specialist.id, day, now=now)]
        if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS):
            # A forged or stale button ("sp:ack:³"): the help, as for any unknown payload.
            return [_help()]
        appointment = await self._own(uow, specialist, int(raw))
        if appointment is None:
            return [Outbound(_t("desk.not_yours"))]
        by = f"specialist:{specialist.id}"
        try:
            if action == "ack":
                appointment.acknowledged_at = appointment.acknowledged_at or now
                return [Outbound(_t("desk.acknowledged", id=appointment.id))]
            if action in OUTCOMES:
                await booking.set_outcome(uow, appointment.id, OUTCOMES[action], by=by, now=now)
                return await self._outcome(uow, appointment, action, now, conversation)
            if action == "reschedule":
                await booking.cancel(
                    uow, appointment.id, by=by, reason="reschedule needed", now=now
                )
                return await self._outcome(uow, appointment, "reschedule", now, conversation)
            if action == "reassign":
                return await self._reassign(uow, specialist, appointment, by, now)
        except DomainError as refused:
            return [
                Outbound(
                    _t("desk.refused", id=appointment.id, reason=refusal_text(LANG, refused.reason))
                )
            ]
        return [_help()]

    async def _outcome(
        self,
        uow: UnitOfWork,
        appointment: Appointment,
        outcome: str,
        now: datetime,
        conversation: Conversation,
    ) -> list[Outbound]:
        appointment.outcome_at = now
        await notify.outcome_recorded(uow, appointment.id, outcome, now=now)
        conversation.state = {NOTE_FOR: appointment.id}
        return [
            Outbound(
                _t(f"desk.outcome.{outcome}", id=appointment.id),
                options=(Option(NO_NOTE, _t("desk.option.no_note")),),
            )
        ]

    async def _note(
        self,
        uow: UnitOfWork,
        specialist: Specialist,
        appointment_id: int,
        inbound: Inbound,
        now: datetime,
    ) -> list[Outbound]:
        text = inbound.text.strip()
        if inbound.payload == NO_NOTE or not text or normalise(text) in ("no", "sin nota"):
            return [Outbound(_t("desk.note.none"))]
        appointment = await self._own(uow, specialist, appointment_id)
        if appointment is None:
            return [Outbound(_t("desk.not_yours"))]
        appointment.outcome_note = text[:MAX_NOTE]
        return [Outbound(_t("desk.note.saved", id=appointment.id))]

    async def _reassign(
        self,
        uow: UnitOfWork,
        specialist: Specialist,
        appointment: Appointment,
        by: str,
        now: datetime,
    ) -> list[Outbound]:
        old = appointment.specialist_id
        moved = await reassign(uow, appointment.id, now=now, by=by)
        if moved is not None:
            await notify.specialist_changed(uow, appointment.id, old, now=now)
            colleague = await uow.session.get(Specialist, moved.specialist_id)
            name = colleague.name if colleague else ""
            return [Outbound(_t("desk.reassigned", id=appointment.id, colleague=name))]
        await booking.cancel(uow, appointment.id, by=by, reason="no colleague free", now=now)
        await notify.appointment_cancelled(uow, appointment.id, by="specialist", now=now)
        return [Outbound(_t("desk.reassign_none", id=appointment.id))]
