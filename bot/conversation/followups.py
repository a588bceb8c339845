"""Answers to what the bot sent on its own: survey scores and comments, new times offered.

Notifications carry options (`survey:<appointment>:<score>`, `rebook:<appointment>:<iso>`);
a tap, or on WhatsApp the option's number typed back while no question is pending, lands
here before the citizen flows. Everything is checked against the conversation's own
citizen: a payload naming someone else's appointment is ignored like any unknown text.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select

from bot import i18n
from bot.messages import Inbound, Option, Outbound
from bot.outbox import notify
from bot.understanding import global_command
from core import booking, citizens, meetings
from core.errors import AlreadyBooked, DomainError, SlotTaken
from core.models import (
    Appointment,
    Conversation,
    OutboxMessage,
    Service,
    SurveyResponse,
    Tenant,
)
from core.states import OutboxStatus
from core.uow import UnitOfWork

# How far back a typed option number looks for the list it answers (WhatsApp shows options
# as a numbered list: a card's buttons or the new times offered are answered "2" there).
RECENT_SENT = 10
SURVEY_WINDOW = timedelta(days=7)  # a typed "4" counts as a score this long after the prompt
MAX_COMMENT = 1000
COMMENT_FLAG = "survey_comment_for"


async def _owned(uow: UnitOfWork, appointment_id: int, inbound: Inbound) -> Appointment | None:
    """The appointment, if it belongs to the citizen writing from this address."""
    appointment = await uow.session.get(Appointment, appointment_id)
    if appointment is None:
        return None
    mine = await citizens.owns_address(
        uow, appointment.citizen_id, inbound.channel, inbound.user_ref
    )
    return appointment if mine else None


def _sent_to(inbound: Inbound) -> tuple[ColumnElement[bool], ...]:
    """The conditions for a message already sent to the address this inbound came from."""
    return (
        OutboxMessage.channel == inbound.channel,
        OutboxMessage.address == inbound.user_ref,
        OutboxMessage.status == OutboxStatus.SENT,
    )


async def typed_option(uow: UnitOfWork, inbound: Inbound) -> str | None:
    """The payload of option "n" of the last message with options sent to this address.

    Only a bare number counts (a note or an agenda request is never taken for an option).
    """
    text = inbound.text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 2:  # «³» and «٣» are not numbers
        return None
    rows = await uow.session.scalars(
        select(OutboxMessage.payload)
        .where(
            *_sent_to(inbound),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(RECENT_SENT)
    )
    for payload in rows:
        options = (payload or {}).get("options") or []
        if options:
            index = int(text) - 1
            return str(options[index][0]) if 0 <= index < len(options) else None
    return None


def _parts(payload: str, prefix: str) -> tuple[int, str] | None:
    head, _, rest = payload.removeprefix(prefix).partition(":")
    ok = payload.startswith(prefix) and head.isascii() and head.isdigit() and len(head) <= 10
    return (int(head), rest) if ok else None


async def handle(
    uow: UnitOfWork,
    conversation: Conversation,
    inbound: Inbound,
    now: datetime,
    meeting_url: str,
) -> list[Outbound] | None:
    """Replies when the message answers a notification; None otherwise."""
    lang = conversation.language
    payload = inbound.payload or ""
    memory = dict(conversation.memory or {})
    pending_comment = memory.pop(COMMENT_FLAG, None)
    if pending_comment is not None:
        conversation.memory = memory  # one message only: the comment, or anything else
    if not payload and conversation.step is None:
        # New times offered as a numbered list (WhatsApp): "2" books the second one.
        typed = await typed_option(uow, inbound)
        if typed is not None and typed.startswith("rebook:"):
            payload = typed
    survey = _parts(payload, "survey:")
    if survey is None and not payload and conversation.step is None:
        survey = await _typed_score(uow, inbound, now)
    if survey is not None:
        return await _score(uow, conversation, inbound, survey, now)
    rebook = _parts(payload, "rebook:")
    if rebook is not None:
        return await _rebook(uow, inbound, rebook, lang, now, meeting_url)
    text = inbound.text.strip()
    if pending_comment is not None and text and not payload and global_command(text) is None:
        response = await uow.session.get(SurveyResponse, int(pending_comment))
        if response is not None:
            response.comment = text[:MAX_COMMENT]
            return [Outbound(i18n.t("survey.comment_saved", lang))]
    return None


async def _typed_score(uow: UnitOfWork, inbound: Inbound, now: datetime) -> tuple[int, str] | None:
    """A bare "1".."5" right after a survey prompt went to this address."""
    text = inbound.text.strip()
    if len(text) != 1 or text not in "12345":
        return None
    subject = await uow.session.scalar(
        select(OutboxMessage.subject)
        .where(
            *_sent_to(inbound),
            OutboxMessage.kind == "survey",
            OutboxMessage.sent_at >= now - SURVEY_WINDOW,
        )
        .order_by(OutboxMessage.sent_at.desc())
        .limit(1)
    )
    if not subject or not subject.startswith("appointment:"):
        return None
    appointment_id = int(subject.removeprefix("appointment:"))
    answered = await uow.session.scalar(
        select(SurveyResponse.id).where(SurveyResponse.appointment_id == appointment_id)
    )
    return None if answered else (appointment_id, text)


async def _score(
    uow: UnitOfWork,
    conversation: Conversation,
    inbound: Inbound,
    survey: tuple[int, str],
    now: datetime,
) -> list[Outbound]:
    lang = conversation.language
    appointment = await _owned(uow, survey[0], inbound)
    score = survey[1]
    if appointment is None or score not in ("1", "2", "3", "4", "5"):
        return [Outbound(i18n.t("survey.unknown", lang))]
    existing = await uow.session.scalar(
        select(SurveyResponse).where(SurveyResponse.appointment_id == appointment.id)
    )
    if existing is not None:
        return [Outbound(i18n.t("survey.already", lang))]
    response = SurveyResponse(
        tenant_id=appointment.tenant_id,
        appointment_id=appointment.id,
        score=int(score),
        created_at=now,
    )
    uow.session.add(response)
    await uow.session.flush()
    conversation.memory = {**(conversation.memory or {}), COMMENT_FLAG: response.id}
    return [Outbound(i18n.t("survey.thanks", lang))]


async def _rebook(
    uow: UnitOfWork,
    inbound: Inbound,
    rebook: tuple[int, str],
    lang: str,
    now: datetime,
    meeting_url: str,
) -> list[Outbound]:
    """Book the time offered after a cancellation or a no-show, for the same service."""
    old = await _owned(uow, rebook[0], inbound)
    try:
        start = datetime.fromisoformat(rebook[1])
    except ValueError:
        old = None
    if old is None or start.tzinfo is None:
        return [Outbound(i18n.t("survey.unknown", lang))]
    tenant = await uow.session.get_one(Tenant, old.tenant_id)
    timezone = tenant.timezone  # the citizen's times are said in the appointment's region
    service = await uow.session.get_one(Service, old.service_id)
    try:
        new = await booking.book(
            uow,
            tenant_code=tenant.code,
            service_code=service.code,
            citizen_id=old.citizen_id,
            start=start,
            now=now,
            channel=inbound.channel,
            idempotency_key=f"{inbound.channel}:{inbound.message_id}",
            case_description=old.case_description,
            meeting=meetings.JitsiProvider(meeting_url),
        )
    except SlotTaken as taken:
        options = tuple(
            Option(
                f"rebook:{old.id}:{offer.start.isoformat()}",
                i18n.format_when(offer.start, lang, timezone),
            )
            for offer in taken.alternatives[:3]
        )
        return [Outbound(i18n.t("rebook.taken", lang), options=options)]
    except AlreadyBooked as held:
        # The person already holds an appointment then: show it, the offer stays open.
        names = (await uow.session.get_one(Service, held.service_id)).names or {}
        text = i18n.t(
            "refusal.already_booked",
            lang,
            booked_service=str(names.get(lang) or names.get("es") or ""),
            booked_when=i18n.format_when(held.start, lang, timezone),
        )
        return [Outbound(text)]
    except DomainError:
        return [Outbound(i18n.t("rebook.unavailable", lang))]
    await notify.appointment_booked(uow, new.id, now=now)
    when = i18n.format_when(new.start_utc, lang, timezone)
    return [Outbound(i18n.t("rebook.done", lang, when=when))]
