"""Citizens: identity by document, channel identities, language and consent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.documents import normalise_document, normalise_phone
from core.models import ChannelIdentity, Citizen, DocumentType
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
    """Remember that this citizen writes from this channel address (moving it if needed)."""
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


async def record_consent(uow: UnitOfWork, citizen: Citizen, at: datetime) -> None:
    """Note when the citizen accepted the privacy notice (Ley 29733)."""
    citizen.consent_at = at
    await uow.session.flush()
