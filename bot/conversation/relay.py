"""Talk to a person: hand-off tickets, assigned to a free specialist, relayed through the bot.

A ticket (`handoff_request`) is "open" while it waits in the region's queue, "assigned" while
the bot relays messages between the citizen and one specialist, and "closed" when either side
ends it. Neither side ever sees the other's number or chat id: every message goes through the
bot, labelled with who speaks. A specialist relays one ticket at a time; when they close it,
the oldest ticket waiting in their region (that they are competent for) comes to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select

from bot import i18n
from bot.conversation.relay_send import Relayed, to_citizen, to_specialist
from bot.messages import Inbound, Option, Outbound
from core import office_hours
from core.models import (
    Appointment,
    AppointmentStatus,
    Citizen,
    Closure,
    Conversation,
    HandoffRequest,
    Specialist,
    SpecialistService,
    Tenant,
    WorkingHours,
)
from core.states import TicketStatus
from core.uow import UnitOfWork

SPECIALIST_LANG = "es"
# What a waiting ticket keeps of the citizen's messages (the latest, if they write a lot).
MAX_WAITING_NOTE = 4000
CLOSE_PAYLOAD = "relay:close"
# Chats a relay can reach (the demo roster's "demo" addresses cannot: its tickets wait).
RELAY_CHANNELS = ("telegram", "whatsapp")


@dataclass(frozen=True)
class Opened:
    """What became of a new ticket: relayed now, or waiting (and until when, roughly)."""

    ticket: HandoffRequest
    specialist: Specialist | None
    opens_at: datetime | None  # next office opening when it waits outside office hours


async def _first_name(uow: UnitOfWork, citizen_id: int | None) -> str:
    citizen = await uow.session.get(Citizen, citizen_id) if citizen_id else None
    name = (citizen.name or "").strip() if citizen else ""
    return name.split(" ")[0] if name else ""


async def _busy(uow: UnitOfWork, specialist_ids: list[int], now: datetime) -> set[int]:
    """Specialists relaying a ticket, in a session now, or on a day off today."""
    relaying = await uow.session.scalars(
        select(HandoffRequest.specialist_id).where(
            HandoffRequest.status == TicketStatus.ASSIGNED,
            HandoffRequest.specialist_id.in_(specialist_ids),
        )
    )
    in_session = await uow.session.scalars(
        select(Appointment.specialist_id).where(
            Appointment.specialist_id.in_(specialist_ids),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_utc <= now,
            Appointment.busy_until > now,
        )
    )
    return {int(s) for s in relaying if s is not None} | set(in_session)


async def _on_duty(uow: UnitOfWork, tenant: Tenant, ids: list[int], now: datetime) -> set[int]:
    """Those whose weekly hours cover this moment and who have no day off today."""
    local = now.astimezone(ZoneInfo(tenant.timezone))
    working = set(
        await uow.session.scalars(
            select(WorkingHours.specialist_id).where(
                WorkingHours.specialist_id.in_(ids),
                WorkingHours.weekday == local.weekday(),
                WorkingHours.start_time <= local.time(),
                WorkingHours.end_time > local.time(),
            )
        )
    )
    off = set(
        await uow.session.scalars(
            select(Closure.specialist_id).where(
                Closure.kind == "day_off",
                Closure.specialist_id.in_(ids),
                Closure.starts_on <= local.date(),
                Closure.ends_on >= local.date(),
            )
        )
    )
    return {int(s) for s in working} - {int(s) for s in off if s is not None}


async def free_specialist(
    uow: UnitOfWork, tenant: Tenant, service_id: int | None, now: datetime
) -> Specialist | None:
    """A free specialist of the region for the service (else anyone free there), least busy."""
    active = select(Specialist.id).where(
        Specialist.tenant_id == tenant.id,
        Specialist.active.is_(True),
        Specialist.contact_channel.in_(RELAY_CHANNELS),
    )
    pools: list[list[int]] = []
    if service_id is not None:
        competent = active.join(
            SpecialistService, SpecialistService.specialist_id == Specialist.id
        ).where(SpecialistService.service_id == service_id)
        pools.append(list(await uow.session.scalars(competent)))
    pools.append(list(await uow.session.scalars(active)))  # the region's desk: anyone free
    since = now - timedelta(hours=12)
    for pool in pools:
        if not pool:
            continue
        candidates = await _on_duty(uow, tenant, pool, now) - await _busy(uow, pool, now)
        if not candidates:
            continue
        counted = await uow.session.execute(
            select(HandoffRequest.specialist_id, func.count())
            .where(
                HandoffRequest.specialist_id.in_(candidates),
                HandoffRequest.assigned_at >= since,
            )
            .group_by(HandoffRequest.specialist_id)
        )
        load = {sid: n for sid, n in counted}
        for chosen in sorted(candidates, key=lambda sid: (load.get(sid, 0), sid)):
            if await _claim(uow, chosen, now):
                return await uow.session.get_one(Specialist, chosen)
    return None


async def _claim(uow: UnitOfWork, specialist_id: int, now: datetime) -> bool:
    """Lock the specialist's row, then check again that they relay nothing.

    Two turns may pick the same free person at once: the second waits on the lock until
    the first commits, and then (PostgreSQL reads committed rows statement by statement)
    sees the ticket the first gave them, so it tries the next person instead. SQLite
    serialises writers from the start of the transaction, so it never gets this far.
    """
    locked = await uow.session.scalar(
        select(Specialist.id)
        .where(Specialist.id == specialist_id, Specialist.active.is_(True))
        .with_for_update()
    )
    return locked is not None and not await _busy(uow, [specialist_id], now)


async def assign(
    uow: UnitOfWork, ticket: HandoffRequest, specialist: Specialist, now: datetime
) -> None:
    """Start relaying: both sides are told who they talk to and how to end it.

    A ticket taken from another specialist (an admin reassigning it) tells them it moved on.
    """
    previous = ticket.specialist_id if ticket.status == TicketStatus.ASSIGNED else None
    if previous is not None and previous != specialist.id:
        before = await uow.session.get(Specialist, previous)
        if before is not None:
            to_specialist(
                uow,
                before,
                message=Outbound(i18n.t("relay.handed_over", SPECIALIST_LANG, ticket=ticket.id)),
                key=f"ticket:{ticket.id}:handed-over:{previous}:{specialist.id}",
                ticket=ticket,
                now=now,
            )
    ticket.status = TicketStatus.ASSIGNED
    ticket.specialist_id = specialist.id
    ticket.assigned_at = now
    conversation = await uow.session.get(Conversation, ticket.conversation_id)
    if conversation is None:
        return
    first = await _first_name(uow, ticket.citizen_id)
    sp = SPECIALIST_LANG
    card = i18n.t(
        "relay.specialist.assigned",
        sp,
        ticket=ticket.id,
        citizen=first or i18n.t("relay.a_citizen", sp),
        note=ticket.note or "—",
    )
    to_specialist(
        uow,
        specialist,
        message=Outbound(card, options=(Option(CLOSE_PAYLOAD, i18n.t("relay.option.close", sp)),)),
        key=f"ticket:{ticket.id}:assigned:{specialist.id}",
        ticket=ticket,
        now=now,
    )
    lang = conversation.language
    to_citizen(
        uow,
        conversation,
        message=Outbound(
            i18n.t("relay.citizen.connected", lang, specialist=specialist.name.split(" ")[0]),
            options=(Option(CLOSE_PAYLOAD, i18n.t("relay.option.close", lang)),),
        ),
        key=f"ticket:{ticket.id}:connected:{specialist.id}",
        ticket=ticket,
        now=now + timedelta(seconds=1),  # after the flow's own reply of this turn
    )


async def open_ticket(
    uow: UnitOfWork,
    *,
    conversation_id: int,
    tenant_id: int | None,
    service_id: int | None,
    citizen_id: int | None,
    note: str | None,
    now: datetime,
) -> Opened:
    """Open (or find) the conversation's ticket and give it to a free specialist if any."""
    ticket = await uow.session.scalar(
        select(HandoffRequest).where(
            HandoffRequest.conversation_id == conversation_id,
            HandoffRequest.status.in_((TicketStatus.OPEN, TicketStatus.ASSIGNED)),
        )
    )
    if ticket is None:
        ticket = HandoffRequest(
            conversation_id=conversation_id,
            tenant_id=tenant_id,
            service_id=service_id,
            citizen_id=citizen_id,
            note=note,
            status=TicketStatus.OPEN,
            created_at=now,
        )
        uow.session.add(ticket)
        await uow.session.flush()
    tenant = await uow.session.get(Tenant, tenant_id) if tenant_id else None
    if ticket.status == TicketStatus.ASSIGNED or tenant is None:
        specialist = (
            await uow.session.get(Specialist, ticket.specialist_id)
            if ticket.specialist_id
            else None
        )
        return Opened(ticket, specialist, None)
    if not await office_hours.is_open(uow, tenant, now):
        return Opened(ticket, None, await office_hours.next_opening(uow, tenant, now))
    specialist = await free_specialist(uow, tenant, service_id, now)
    if specialist is not None:
        await assign(uow, ticket, specialist, now)
    return Opened(ticket, specialist, None)


async def _locked_ticket(uow: UnitOfWork, *where: ColumnElement[bool]) -> HandoffRequest | None:
    """The one ticket matching `where`, locked for this transaction."""
    return await uow.session.scalar(select(HandoffRequest).where(*where).with_for_update())


async def ticket_of_conversation(uow: UnitOfWork, conversation_id: int) -> HandoffRequest | None:
    """The ticket being relayed for a citizen's conversation, if any."""
    return await _locked_ticket(
        uow,
        HandoffRequest.conversation_id == conversation_id,
        HandoffRequest.status == TicketStatus.ASSIGNED,
    )


async def ticket_of_specialist(uow: UnitOfWork, specialist_id: int) -> HandoffRequest | None:
    """The ticket a specialist is relaying, if any."""
    return await _locked_ticket(
        uow,
        HandoffRequest.specialist_id == specialist_id,
        HandoffRequest.status == TicketStatus.ASSIGNED,
    )


async def waiting_ticket(uow: UnitOfWork, conversation_id: int) -> HandoffRequest | None:
    """The conversation's ticket still waiting for a specialist, if any."""
    return await _locked_ticket(
        uow,
        HandoffRequest.conversation_id == conversation_id,
        HandoffRequest.status == TicketStatus.OPEN,
    )


def keep_for_specialist(ticket: HandoffRequest, inbound: Inbound, lang: str) -> list[Outbound]:
    """Add a waiting citizen's message to what the specialist will read first; acknowledge it.

    The ticket's note is what the case card shows when a specialist takes it, so the messages
    written while waiting reach them in order, without a relay yet.
    """
    text = _relayed_text(inbound)
    if not text:
        return [Outbound(i18n.t("relay.text_only", lang))]
    kept = f"{ticket.note}\n{text}" if ticket.note else text
    ticket.note = kept[-MAX_WAITING_NOTE:]
    return [Outbound(i18n.t("relay.waiting.kept", lang))]


def _relayed_text(inbound: Inbound) -> str:
    return inbound.text.strip() or (inbound.payload or "").strip()


def _passed_on(inbound: Inbound, text: str, ticket: HandoffRequest, now: datetime) -> Relayed:
    """A relayed message keyed by the inbound it passes on, so a redelivery adds nothing."""
    return Relayed(
        message=Outbound(text),
        key=f"relay:{inbound.channel}:{inbound.message_id}",
        ticket=ticket,
        now=now,
    )


async def from_citizen(
    uow: UnitOfWork, ticket: HandoffRequest, inbound: Inbound, now: datetime
) -> list[Outbound]:
    """Pass a citizen's message to the specialist, labelled; the citizen gets no echo."""
    conversation = await uow.session.get(Conversation, ticket.conversation_id)
    lang = conversation.language if conversation else i18n.DEFAULT_LANGUAGE
    specialist = await uow.session.get(Specialist, ticket.specialist_id)
    if specialist is None or not specialist.active:
        return await requeue(uow, ticket, lang, now)
    text = _relayed_text(inbound)
    if not text:
        return [Outbound(i18n.t("relay.text_only", lang))]
    first = await _first_name(uow, ticket.citizen_id) or i18n.t("relay.a_citizen", "es")
    label = i18n.t("relay.from_citizen", SPECIALIST_LANG, citizen=first, ticket=ticket.id)
    to_specialist(uow, specialist, **_passed_on(inbound, f"{label}\n{text}", ticket, now))
    return []


async def from_specialist(
    uow: UnitOfWork, ticket: HandoffRequest, specialist: Specialist, inbound: Inbound, now: datetime
) -> list[Outbound]:
    """Pass a specialist's message to the citizen, labelled with the specialist's first name."""
    conversation = await uow.session.get(Conversation, ticket.conversation_id)
    text = _relayed_text(inbound)
    if not text or conversation is None:
        return [Outbound(i18n.t("relay.text_only", SPECIALIST_LANG))]
    label = i18n.t(
        "relay.from_specialist", conversation.language, specialist=specialist.name.split(" ")[0]
    )
    to_citizen(uow, conversation, **_passed_on(inbound, f"{label}\n{text}", ticket, now))
    return []


async def close(
    uow: UnitOfWork, ticket: HandoffRequest, *, by: str, now: datetime
) -> list[Outbound]:
    """End a relay; both sides are told, and the specialist takes the next waiting ticket."""
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    ticket.closed_by = by
    conversation = await uow.session.get(Conversation, ticket.conversation_id)
    specialist = await uow.session.get(Specialist, ticket.specialist_id)
    if conversation is not None:
        to_citizen(
            uow,
            conversation,
            message=Outbound(i18n.t("relay.closed.citizen", conversation.language)),
            key=f"ticket:{ticket.id}:closed:citizen",
            ticket=ticket,
            now=now,
        )
    if specialist is not None:
        to_specialist(
            uow,
            specialist,
            message=Outbound(i18n.t("relay.closed.specialist", SPECIALIST_LANG, ticket=ticket.id)),
            key=f"ticket:{ticket.id}:closed:specialist",
            ticket=ticket,
            now=now,
        )
        await uow.session.flush()
        await take_next(uow, specialist, now)
    return []


async def requeue(
    uow: UnitOfWork, ticket: HandoffRequest, lang: str, now: datetime
) -> list[Outbound]:
    """The relaying specialist is gone (deactivated): find another, else wait in the queue.

    Without this a citizen would write into a relay nobody reads, for ever.
    """
    ticket.status = TicketStatus.OPEN
    ticket.specialist_id = None
    ticket.assigned_at = None
    tenant = await uow.session.get(Tenant, ticket.tenant_id) if ticket.tenant_id else None
    when = i18n.t("handoff.soon", lang)
    if tenant is not None and await office_hours.is_open(uow, tenant, now):
        specialist = await free_specialist(uow, tenant, ticket.service_id, now)
        if specialist is not None:
            await assign(uow, ticket, specialist, now)  # tells both sides
            return [Outbound(i18n.t("relay.specialist_gone", lang))]
    elif tenant is not None:
        opens_at = await office_hours.next_opening(uow, tenant, now)
        if opens_at is not None:
            local = i18n.format_when(opens_at, lang, tenant.timezone)
            when = i18n.t("handoff.from", lang, when=local)
    return [
        Outbound(i18n.t("relay.specialist_gone", lang)),
        Outbound(i18n.t("relay.requeued", lang, answer_when=when)),
    ]


async def release(uow: UnitOfWork, specialist_id: int, now: datetime) -> bool:
    """A specialist leaves (deactivated): their relay goes on at once, and the citizen is told."""
    ticket = await ticket_of_specialist(uow, specialist_id)
    if ticket is None:
        return False
    conversation = await uow.session.get(Conversation, ticket.conversation_id)
    lang = conversation.language if conversation else i18n.DEFAULT_LANGUAGE
    told = await requeue(uow, ticket, lang, now)
    if conversation is not None:
        for n, message in enumerate(told):
            to_citizen(
                uow,
                conversation,
                message=message,
                key=f"ticket:{ticket.id}:released:{specialist_id}:{n}",
                ticket=ticket,
                now=now,
            )
    return True


async def take_next(uow: UnitOfWork, specialist: Specialist, now: datetime) -> bool:
    """Give a now-free specialist the oldest ticket waiting in their region, if any."""
    tenant = await uow.session.get(Tenant, specialist.tenant_id)
    if not specialist.active or tenant is None or not await office_hours.is_open(uow, tenant, now):
        return False
    competent = select(SpecialistService.service_id).where(
        SpecialistService.specialist_id == specialist.id
    )
    waiting = await uow.session.scalar(
        select(HandoffRequest)
        .where(
            HandoffRequest.tenant_id == tenant.id,
            HandoffRequest.status == TicketStatus.OPEN,
            HandoffRequest.service_id.is_(None) | HandoffRequest.service_id.in_(competent),
        )
        .order_by(HandoffRequest.created_at, HandoffRequest.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if waiting is None:
        return False
    await assign(uow, waiting, specialist, now)
    return True


def wants_to_close(inbound: Inbound, command: str | None) -> bool:
    """Whether a message ends the relay: the close button, or "salir", "menú", "terminar"."""
    return inbound.payload == CLOSE_PAYLOAD or command in ("cancel", "menu", "restart")
