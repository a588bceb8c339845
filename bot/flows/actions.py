"""The allowlisted actions a flow may run; each calls core services and returns an outcome.

Their names, and what each needs among the answers, are declared in bot/flows/allowlist.py;
`ACTIONS` files each function under its own name and is checked against that declaration.

An outcome is "ok", another success word ("waitlisted"), or a refusal reason code of
core.errors (e.g. "slot_taken"). Every action runs in a savepoint: a refusal leaves
nothing half-done in the turn's transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import func, select, update

from bot import i18n
from bot.conversation import relay
from bot.conversation.state import ALTERNATIVES
from bot.conversation.turn import Turn
from bot.flows import allowlist, catalogue
from bot.outbox import notify
from core import booking, citizens, events, identity, meetings
from core.documents import normalise_phone
from core.errors import AlreadyBooked, DomainError, InvalidPhone, NotFound, SlotTaken
from core.models import (
    Appointment,
    ChannelIdentity,
    Citizen,
    DocumentType,
    EventRegistration,
    GroupEvent,
    HandoffRequest,
    OutboxMessage,
    RegistrationStatus,
    Service,
    Specialist,
)
from core.names import tidy_name
from core.states import REPLY_KIND, OutboxStatus, TicketStatus

Action = Callable[[Turn], Awaitable[str]]


def _citizen_id(turn: Turn) -> int | None:
    raw = turn.memory.get("citizen_id")
    return int(raw) if raw else None


async def _bound(turn: Turn) -> Citizen | None:
    """The record this chat address is bound to (never one merely typed here)."""
    return await identity.bound_to(turn.uow, turn.inbound.channel, turn.inbound.user_ref)


async def record_consent(turn: Turn) -> str:
    """Note that the person accepted the privacy notice (on this address's own record)."""
    turn.memory["consent"] = turn.now.isoformat()
    citizen = await _bound(turn)
    if citizen is not None:
        await citizens.record_consent(turn.uow, citizen, turn.now)
    return "ok"


async def set_language(turn: Turn) -> str:
    """Speak to the person in the language they chose."""
    lang = str(turn.answers.get("language") or "es")
    if lang not in i18n.languages():
        return "not_found"
    turn.memory["language"] = lang
    turn.conversation.language = lang
    citizen = await _bound(turn)
    if citizen is not None:
        citizen.preferred_language = lang
    return "ok"


async def _identify(
    turn: Turn, *, may_create: bool, bound: Citizen | identity.Unread | None = identity.UNREAD
) -> Citizen | None:
    """The record this address speaks for once it typed its document (core/identity.py).

    Only that record, bound to this address, takes the name, language and consent typed
    here; the owner of a claimed document is told on their own chat, and nothing else.
    """
    doc_type = DocumentType(str(turn.value("doc_type")))
    resolved = await identity.resolve(
        turn.uow,
        turn.inbound.channel,
        turn.inbound.user_ref,
        doc_type,
        str(turn.value("document")),
        may_create=may_create,
        bound=bound,
        prepare=lambda created: _fill(turn, created, doc_type),
    )
    if resolved is None:
        return None
    citizen = resolved.citizen
    _fill(turn, citizen, doc_type)  # a record found: the same values, changed ones written
    turn.conversation.citizen_id = citizen.id
    turn.memory["citizen_id"] = citizen.id
    if resolved.new_claim and resolved.claimed_from is not None:
        await notify.document_used(turn.uow, resolved.claimed_from.id, citizen.id, now=turn.now)
    return citizen


async def identify(turn: Turn) -> str:
    """Find the person's own record to list their appointments or registrations.

    "not_linked" when the document belongs to a record bound to another address and this
    address has none: nothing is created, nothing of that record is shown.
    """
    found = await _identify(turn, may_create=False)
    return "ok" if found is not None else "not_linked"


def _fill(turn: Turn, citizen: Citizen, doc_type: DocumentType) -> None:
    """Give the record what this conversation says: the name(s), the language, the consent."""
    name = turn.value("name")
    if doc_type == DocumentType.RUC:
        if name:
            citizen.representative_name = tidy_name(str(name), citizen.representative_name)
        if turn.answers.get("company_name"):
            citizen.name = str(turn.answers["company_name"]).strip()
    elif name:
        citizen.name = tidy_name(str(name), citizen.name)
    citizen.preferred_language = turn.lang
    if turn.memory.get("consent") and citizen.consent_at is None:
        citizen.consent_at = turn.now


async def _ensure_identified(turn: Turn) -> int:
    """The id of the record this address books for (created or claimed when needed)."""
    bound = await _bound(turn)
    if bound is None or turn.answers.get("document"):
        found = await _identify(turn, may_create=True, bound=bound)
        assert found is not None
        return found.id
    turn.memory["citizen_id"] = bound.id
    turn.conversation.citizen_id = bound.id
    return bound.id


def _keep_alternatives(turn: Turn, refused: SlotTaken) -> None:
    """Remember the next free slots for the slot step to offer with its apology."""
    turn.state[ALTERNATIVES] = [offer.start.isoformat() for offer in refused.alternatives]


async def _show_existing(turn: Turn, refused: AlreadyBooked) -> None:
    """Keep what the person already has at that time for the refusal to show."""
    service = await turn.uow.session.get(Service, refused.service_id)
    names = service.names if service is not None else {}
    turn.extra_vars["booked_service"] = str(names.get(turn.lang) or names.get("es") or "")
    turn.extra_vars["booked_when"] = i18n.format_when(refused.start, turn.lang, turn.timezone)


async def _taking_slot(turn: Turn, taking: Awaitable[Appointment]) -> Appointment:
    """Await a booking or a move; when refused, keep what the next prompt offers instead."""
    try:
        return await taking
    except SlotTaken as refused:
        _keep_alternatives(turn, refused)
        raise
    except AlreadyBooked as refused:
        await _show_existing(turn, refused)
        raise


async def _confirmed(turn: Turn, appointment: Appointment) -> str:
    """Note the appointment and the values its confirmation message shows."""
    specialist = await turn.uow.session.get(Specialist, appointment.specialist_id)
    turn.answers["appointment"] = appointment.id
    turn.extra_vars["specialist"] = specialist.name.split(" ")[0] if specialist else ""
    turn.extra_vars["appointment_when"] = i18n.format_when(
        appointment.start_utc, turn.lang, turn.timezone
    )
    return "ok"


def _channel_phone(turn: Turn) -> str | None:
    """The Peruvian mobile number a WhatsApp message comes from (None elsewhere)."""
    inbound = turn.inbound
    if inbound.channel != "whatsapp":
        return None
    try:
        return normalise_phone(inbound.user_ref.removeprefix("whatsapp:"))
    except InvalidPhone:
        return None


async def phone_known(turn: Turn) -> str:
    """ "ask" when a phone of the person is known and sharing it was not answered yet.

    Known: the WhatsApp number they write from, or the one on file for the identified
    person writing from their own address. Otherwise (or once answered) "ok".
    """
    if "share_phone" in turn.answers:
        return "ok"
    if _channel_phone(turn) is not None:
        return "ask"
    citizen_id = _citizen_id(turn)
    inbound = turn.inbound
    if citizen_id is not None and await citizens.owns_address(
        turn.uow, citizen_id, inbound.channel, inbound.user_ref
    ):
        citizen = await turn.uow.session.get(Citizen, citizen_id)
        if citizen is not None and citizen.phone:
            return "ask"
    return "ok"


async def _apply_phone_consent(turn: Turn, citizen_id: int) -> None:
    """Keep the person's answer about showing their phone on the case card.

    Only for the owner of this address: someone typing another person's document here
    neither gives nor withdraws that person's consent, nor changes their phone.
    """
    if "share_phone" not in turn.answers:
        return
    inbound = turn.inbound
    if not await citizens.owns_address(turn.uow, citizen_id, inbound.channel, inbound.user_ref):
        return
    citizen = await turn.uow.session.get(Citizen, citizen_id)
    if citizen is None:
        return
    citizen.share_phone = bool(turn.answers["share_phone"])
    phone = _channel_phone(turn)
    if citizen.share_phone and phone is not None:
        citizen.phone = phone


async def book(turn: Turn) -> str:
    """Book the chosen slot; on "slot_taken" the next free slots are kept to offer."""
    citizen_id = await _ensure_identified(turn)
    await _apply_phone_consent(turn, citizen_id)
    slot = turn.slot()
    assert slot is not None
    appointment = await _taking_slot(
        turn,
        booking.book(
            turn.uow,
            tenant_code=str(turn.value("region")),
            service_code=str(turn.value("service")),
            citizen_id=citizen_id,
            start=slot,
            now=turn.now,
            channel=turn.inbound.channel,
            idempotency_key=f"{turn.inbound.channel}:{turn.inbound.message_id}",
            case_description=turn.answers.get("description"),
            meeting=meetings.JitsiProvider(turn.settings.meeting_url),
        ),
    )
    await notify.appointment_booked(turn.uow, appointment.id, now=turn.now)
    return await _confirmed(turn, appointment)


async def cancel_appointment(turn: Turn) -> str:
    """Cancel the chosen appointment of this person, keeping the reason given."""
    citizen_id = _citizen_id(turn)
    if citizen_id is None:
        return "not_found"
    await booking.cancel(
        turn.uow,
        int(turn.answers["appointment"]),
        by="citizen",
        reason=str(turn.answers.get("reason") or ""),
        now=turn.now,
        citizen_id=citizen_id,
    )
    await notify.appointment_cancelled(
        turn.uow, int(turn.answers["appointment"]), by="citizen", now=turn.now
    )
    return "ok"


async def reschedule_appointment(turn: Turn) -> str:
    """Move the chosen appointment to the chosen slot, atomically."""
    citizen_id = _citizen_id(turn)
    slot = turn.slot()
    if citizen_id is None or slot is None:
        return "not_found"
    moved = await _taking_slot(
        turn,
        booking.reschedule(
            turn.uow,
            int(turn.answers["appointment"]),
            slot,
            by="citizen",
            now=turn.now,
            channel=turn.inbound.channel,
            idempotency_key=f"{turn.inbound.channel}:{turn.inbound.message_id}",
            citizen_id=citizen_id,
            meeting=meetings.JitsiProvider(turn.settings.meeting_url),
        ),
    )
    await notify.appointment_moved(
        turn.uow, int(turn.answers["appointment"]), moved.id, by="citizen", now=turn.now
    )
    return await _confirmed(turn, moved)


async def register_event(turn: Turn) -> str:
    """Take a seat in the chosen event, or a place on its waitlist ("waitlisted")."""
    citizen_id = await _ensure_identified(turn)
    event_id = int(turn.answers["event"])
    registration = await events.register_for_event(
        turn.uow, event_id, citizen_id, now=turn.now, channel=turn.inbound.channel
    )
    event = await turn.uow.session.get(GroupEvent, event_id)
    assert event is not None
    turn.extra_vars["event_title"] = event.title
    turn.extra_vars["event_when"] = i18n.format_when(event.start_utc, turn.lang, turn.timezone)
    if registration.status == RegistrationStatus.CONFIRMED:
        await notify.registration_confirmed(turn.uow, registration.id, now=turn.now)
        return "ok"
    ahead = await turn.uow.session.scalar(
        select(func.count())
        .select_from(EventRegistration)
        .where(
            EventRegistration.event_id == event_id,
            EventRegistration.status == RegistrationStatus.WAITLISTED,
            EventRegistration.position <= registration.position,
        )
    )
    turn.extra_vars["position"] = str(ahead)
    return "waitlisted"


async def cancel_registration(turn: Turn) -> str:
    """Give up the chosen event place (the first on the waitlist moves up)."""
    citizen_id = _citizen_id(turn)
    if citizen_id is None:
        return "not_found"
    given_up = await events.cancel_registration(
        turn.uow, int(turn.answers["registration"]), citizen_id, now=turn.now
    )
    await notify.registration_cancelled(turn.uow, given_up.cancelled.id, now=turn.now)
    if given_up.promoted is not None:
        await notify.registration_confirmed(
            turn.uow, given_up.promoted.id, now=turn.now, promoted=True
        )
    return "ok"


async def handoff(turn: Turn) -> str:
    """Open a ticket to talk to a person: "ok" when one answers now, "queued" when it waits.

    Sets {answer_when}: when the waiting citizen can expect an answer.
    """
    tenant_id = service_id = None
    if turn.value("region"):
        try:
            tenant_id = (await catalogue.tenant(turn.uow, str(turn.value("region")))).id
        except NotFound:
            tenant_id = None
    if turn.value("service"):
        try:
            service_id = (await catalogue.service(turn.uow, str(turn.value("service")))).id
        except NotFound:
            service_id = None
    opened = await relay.open_ticket(
        turn.uow,
        conversation_id=turn.conversation.id,
        tenant_id=tenant_id,
        service_id=service_id,
        citizen_id=_citizen_id(turn),
        note=turn.answers.get("note"),
        now=turn.now,
    )
    if opened.specialist is not None:
        turn.extra_vars["specialist"] = opened.specialist.name.split(" ")[0]
        return "ok"
    if opened.opens_at is not None:
        when = i18n.format_when(opened.opens_at, turn.lang, turn.timezone)
        turn.extra_vars["answer_when"] = turn.t("handoff.from", when=when)
    else:
        turn.extra_vars["answer_when"] = turn.t("handoff.soon")
    return "queued"


async def _give_up_seats(turn: Turn, citizen_id: int) -> None:
    """Give up every event place of the person, so the waitlist moves up as usual."""
    active = await turn.uow.session.scalars(
        select(EventRegistration.event_id).where(
            EventRegistration.citizen_id == citizen_id,
            EventRegistration.status != RegistrationStatus.CANCELLED,
        )
    )
    for event_id in list(active):
        given_up = await events.cancel_registration(turn.uow, event_id, citizen_id, now=turn.now)
        await notify.registration_cancelled(turn.uow, given_up.cancelled.id, now=turn.now)
        if given_up.promoted is not None:
            await notify.registration_confirmed(
                turn.uow, given_up.promoted.id, now=turn.now, promoted=True
            )


async def _close_tickets(turn: Turn, citizen_id: int) -> None:
    """End the person's waiting or relayed requests to talk to someone (both sides told)."""
    open_ones = await turn.uow.session.scalars(
        select(HandoffRequest).where(
            (HandoffRequest.citizen_id == citizen_id)
            | (HandoffRequest.conversation_id == turn.conversation.id),
            HandoffRequest.status.in_((TicketStatus.OPEN, TicketStatus.ASSIGNED)),
        )
    )
    for ticket in list(open_ones):
        await relay.close(turn.uow, ticket, by="citizen", now=turn.now)


async def _withdraw_unsent(turn: Turn, citizen_id: int) -> None:
    """Stop what still waits to be sent to the person's chats (reminders, notices)."""
    chats = await turn.uow.session.execute(
        select(ChannelIdentity.channel, ChannelIdentity.address).where(
            ChannelIdentity.citizen_id == citizen_id
        )
    )
    for channel, address in list(chats):
        await turn.uow.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.address == address,
                OutboxMessage.status.in_(notify.UNSENT),
                OutboxMessage.kind != REPLY_KIND,
            )
            .values(status=OutboxStatus.WITHDRAWN)
        )


async def erase_data(turn: Turn) -> str:
    """Erase this address's own record; the conversation keeps only the chosen language.

    Future appointments are cancelled with a notice to their specialists (the citizen is
    named "—"), the record's chats are unbound and every conversation forgets the person.
    """
    citizen = await _bound(turn)
    if citizen is not None:
        upcoming = await booking.appointments_of(turn.uow, citizen.id, now=turn.now)
        await _give_up_seats(turn, citizen.id)
        await _close_tickets(turn, citizen.id)
        await _withdraw_unsent(turn, citizen.id)
        await identity.forget_conversations(turn.uow, citizen.id, keep=turn.conversation.id)
        await citizens.erase(turn.uow, citizen.id, now=turn.now)
        for appointment in upcoming:  # withdraw their reminders, tell the specialists
            if appointment.start_utc > turn.now:
                await notify.appointment_cancelled(
                    turn.uow, appointment.id, by="citizen", now=turn.now
                )
    language = turn.memory.get("language")
    turn.memory.clear()
    if language:
        turn.memory["language"] = language
    turn.answers.clear()
    turn.conversation.citizen_id = None
    return "ok"


ACTIONS: dict[str, Action] = allowlist.bind(
    "action",
    allowlist.ACTIONS,
    [
        record_consent,
        set_language,
        identify,
        book,
        cancel_appointment,
        reschedule_appointment,
        register_event,
        cancel_registration,
        handoff,
        erase_data,
        phone_known,
    ],
)


# Actions that never refuse (no DomainError) once they have written: they run without the
# savepoint, two statements fewer (the consent's turn, the phone question). Should one raise
# after all, the whole turn fails and is rolled back, and the person gets the apology.
UNREFUSED = frozenset({"record_consent", "set_language", "phone_known"})


async def run(turn: Turn, name: str) -> str:
    """Run an allowlisted action in a savepoint; refusals become their reason code."""
    action = ACTIONS[name]
    if name in UNREFUSED:
        return await action(turn)
    memory, answers = dict(turn.memory), dict(turn.answers)
    try:
        async with turn.uow.session.begin_nested():
            return await action(turn)
    except DomainError as refused:
        # The savepoint undid the action's rows; undo what it noted in the turn too, and
        # reload the conversation, which the rollback expired.
        turn.memory.clear()
        turn.memory.update(memory)
        turn.answers.clear()
        turn.answers.update(answers)
        await turn.uow.session.refresh(turn.conversation)
        return refused.reason
