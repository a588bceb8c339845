"""Citizens: records by document, language, consent and erasure (chats: core.identity)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from core import audit
from core.documents import normalise_document, normalise_phone
from core.models import (
    Appointment,
    AppointmentStatus,
    ChannelIdentity,
    Citizen,
    DocumentType,
    EventRegistration,
    HandoffRequest,
    RegistrationStatus,
    SurveyResponse,
)
from core.uow import UnitOfWork


async def identify(
    uow: UnitOfWork,
    document_type: DocumentType,
    document_number: str,
    *,
    name: str | None = None,
    representative_name: str | None = None,
    phone: str | None = None,
    language: str | None = None,
) -> Citizen:
    """The citizen with this document (validated and cleaned), created or updated."""
    number = normalise_document(document_type, document_number)
    citizen = await uow.session.scalar(
        select(Citizen).where(
            Citizen.document_type == document_type, Citizen.document_number == number
        )
    )
    if citizen is None:
        citizen = Citizen(document_type=document_type, document_number=number)
        uow.session.add(citizen)
    if name:
        citizen.name = name.strip()
    if representative_name:
        citizen.representative_name = representative_name.strip()
    if phone:
        citizen.phone = normalise_phone(phone)
    if language:
        citizen.preferred_language = language
    await uow.session.flush()
    return citizen


async def by_channel(uow: UnitOfWork, channel: str, address: str) -> Citizen | None:
    """The citizen known on this channel address, if any."""
    return await uow.session.scalar(
        select(Citizen)
        .join(ChannelIdentity, ChannelIdentity.citizen_id == Citizen.id)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
    )


async def link_channel(uow: UnitOfWork, citizen: Citizen, channel: str, address: str) -> None:
    """Bind a channel address to this citizen (set-up and tests; chats go through core.identity)."""
    identity = await uow.session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.address == address
        )
    )
    if identity is None:
        uow.session.add(ChannelIdentity(citizen_id=citizen.id, channel=channel, address=address))
    else:
        identity.citizen_id = citizen.id
        identity.reachable = True
    await uow.session.flush()


async def owns_address(uow: UnitOfWork, citizen_id: int, channel: str, address: str) -> bool:
    """Whether this channel address belongs to the citizen."""
    found = await uow.session.scalar(
        select(ChannelIdentity.id).where(
            ChannelIdentity.citizen_id == citizen_id,
            ChannelIdentity.channel == channel,
            ChannelIdentity.address == address,
        )
    )
    return found is not None


async def record_consent(uow: UnitOfWork, citizen: Citizen, at: datetime) -> None:
    """Note when the citizen accepted the privacy notice (Ley 29733)."""
    citizen.consent_at = at
    await uow.session.flush()


async def erase(uow: UnitOfWork, citizen_id: int, *, now: datetime) -> int:
    """Erase a citizen's personal data (Ley 29733), keeping anonymous rows for the counts.

    Upcoming appointments are cancelled, event places given up, channel identities
    removed; returns how many appointments were cancelled.
    """
    citizen = await uow.session.get(Citizen, citizen_id)
    if citizen is None or citizen.erased_at is not None:
        return 0
    cancelled = 0
    upcoming = await uow.session.scalars(
        select(Appointment).where(
            Appointment.citizen_id == citizen_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_utc > now,
        )
    )
    for appointment in upcoming:
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancel_reason = "data_erased"
        appointment.cancelled_by = "citizen"
        appointment.cancelled_at = now
        appointment.case_description = None
        cancelled += 1
    # Free text written by or about the person goes; the anonymous rows stay for the figures.
    await uow.session.execute(
        update(Appointment)
        .where(Appointment.citizen_id == citizen_id)
        .values(case_description=None, outcome_note=None)
    )
    await uow.session.execute(
        update(HandoffRequest).where(HandoffRequest.citizen_id == citizen_id).values(note=None)
    )
    sessions = select(Appointment.id).where(Appointment.citizen_id == citizen_id)
    seats = select(EventRegistration.id).where(EventRegistration.citizen_id == citizen_id)
    await uow.session.execute(
        update(SurveyResponse)
        .where(
            SurveyResponse.appointment_id.in_(sessions) | SurveyResponse.registration_id.in_(seats)
        )
        .values(comment=None)
    )
    await uow.session.execute(
        update(EventRegistration)
        .where(
            EventRegistration.citizen_id == citizen_id,
            EventRegistration.status != RegistrationStatus.CANCELLED,
        )
        .values(status=RegistrationStatus.CANCELLED, updated_at=now)
    )
    await uow.session.execute(
        delete(ChannelIdentity).where(ChannelIdentity.citizen_id == citizen_id)
    )
    citizen.document_type = None
    citizen.document_number = None
    citizen.name = None
    citizen.representative_name = None
    citizen.phone = None
    citizen.consent_at = None
    citizen.share_phone = False
    citizen.claimed_document_type = None
    citizen.claimed_document_number = None
    citizen.erased_at = now
    await uow.session.flush()
    await audit.record(
        uow,
        actor="citizen",
        action="citizen.erase",
        entity="citizen",
        entity_id=citizen_id,
        after={"appointments_cancelled": cancelled},
    )
    return cancelled
