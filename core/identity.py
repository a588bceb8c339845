"""One person, one record: which citizen record a chat address speaks for.

A chat address (a Telegram chat, a WhatsApp number) is bound to at most one citizen
record (`channel_identity` is unique per channel and address), and a typed document
never moves that binding nor lets one address act for another address's record:

- an address already bound keeps speaking for its own record, whatever it types;
- a document nobody holds becomes the writing address's record's own;
- a document whose record has no chat yet (registered by staff, or recovered) is taken
  by the first address that types it;
- a document whose record is bound to another address is *claimed*: the writing address
  gets (or keeps) its own record, with the typed document stored apart as unverified
  (`claimed_document_*`); the owner's record, name, phone, consent, appointments and
  notices are untouched. The caller tells the owner on their own chat.

Moving an address to another record (a person who lost their old number) is only done by
`rebind`, an audited staff step (bot/admin_api/citizens.py).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, select, update

from core import audit
from core.documents import normalise_document
from core.errors import NotFound
from core.models import (
    Appointment,
    Base,
    ChannelIdentity,
    Citizen,
    Conversation,
    DocumentType,
    EventRegistration,
)
from core.uow import UnitOfWork


@dataclass(frozen=True)
class Resolved:
    """The record an address speaks for, and the owner of the document it claimed, if any."""

    citizen: Citizen
    claimed_from: Citizen | None = None  # the document's owner, bound to another address
    new_claim: bool = False  # this call made the claim (the owner is told once)


async def bound_to(uow: UnitOfWork, channel: str, address: str) -> Citizen | None:
    """The record this chat address is bound to, if any."""
    return await uow.session.scalar(
        select(Citizen)
        .join(ChannelIdentity, ChannelIdentity.citizen_id == Citizen.id)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
    )


async def owner_of(uow: UnitOfWork, document_type: DocumentType, number: str) -> Citizen | None:
    """The record whose own document this is (numbers already normalised)."""
    return await uow.session.scalar(
        select(Citizen).where(
            Citizen.document_type == document_type, Citizen.document_number == number
        )
    )


async def _has_address(uow: UnitOfWork, citizen_id: int) -> bool:
    found = await uow.session.scalar(
        select(ChannelIdentity.id).where(ChannelIdentity.citizen_id == citizen_id).limit(1)
    )
    return found is not None


async def _bind(uow: UnitOfWork, citizen: Citizen, channel: str, address: str) -> None:
    uow.session.add(ChannelIdentity(citizen_id=citizen.id, channel=channel, address=address))
    await uow.session.flush()


def _claim(citizen: Citizen, document_type: DocumentType, number: str) -> bool:
    """Note the typed document as claimed on this record; True when it is a new claim."""
    if (citizen.claimed_document_type, citizen.claimed_document_number) == (
        document_type,
        number,
    ):
        return False
    citizen.claimed_document_type = document_type
    citizen.claimed_document_number = number
    return True


class Unread(enum.Enum):
    """The type of `UNREAD`."""

    UNREAD = "unread"


UNREAD = Unread.UNREAD  # `resolve` reads the address's record itself


async def resolve(
    uow: UnitOfWork,
    channel: str,
    address: str,
    document_type: DocumentType,
    document_number: str,
    *,
    may_create: bool = True,
    bound: Citizen | Unread | None = UNREAD,
    prepare: Callable[[Citizen], object] | None = None,
) -> Resolved | None:
    """The record this address speaks for once it typed this document (validated).

    With `may_create` False (looking up appointments), an unbound address typing a
    document bound elsewhere gets None and nothing is written. `bound` is the record the
    address is bound to when the caller has just read it (`bound_to`, in the same unit).
    `prepare` fills a record created here (its name, say) before its INSERT, which then
    carries those columns instead of an UPDATE after it.
    """
    number = normalise_document(document_type, document_number)
    if bound is UNREAD:
        bound = await bound_to(uow, channel, address)
    owner = await owner_of(uow, document_type, number)
    if bound is not None:
        if owner is not None and owner.id == bound.id:
            return Resolved(bound)
        if owner is None and bound.document_number is None:
            bound.document_type, bound.document_number = document_type, number
            bound.claimed_document_type = bound.claimed_document_number = None
            await uow.session.flush()
            return Resolved(bound)
        if owner is None or bound.document_number is not None:
            # The record keeps the document it was registered with (see docs/booking-core.md).
            return Resolved(bound)
        new = _claim(bound, document_type, number)
        await uow.session.flush()
        return Resolved(bound, claimed_from=owner, new_claim=new)
    if owner is not None and not await _has_address(uow, owner.id):
        await _bind(uow, owner, channel, address)
        return Resolved(owner)
    if owner is not None and not may_create:
        return None
    citizen = Citizen()
    if owner is None:
        citizen.document_type, citizen.document_number = document_type, number
    else:
        _claim(citizen, document_type, number)
    if prepare is not None:
        prepare(citizen)
    uow.session.add(citizen)
    await uow.session.flush()
    await _bind(uow, citizen, channel, address)
    return Resolved(citizen, claimed_from=owner, new_claim=owner is not None)


def is_unverified(citizen: Citizen) -> bool:
    """Whether the record's document was claimed from a chat other than its owner's."""
    return citizen.document_number is None and citizen.claimed_document_number is not None


async def _count(uow: UnitOfWork, condition: ColumnElement[bool], model: type[Base]) -> int:
    found = await uow.session.scalar(select(func.count()).select_from(model).where(condition))
    return int(found or 0)


@dataclass(frozen=True)
class Rebound:
    """What a staff rebind did."""

    citizen_id: int
    moved_from: int | None  # the record the address was bound to before, if another
    appointments_moved: int
    addresses_ended: int


async def rebind(
    uow: UnitOfWork,
    document_type: DocumentType,
    document_number: str,
    channel: str,
    address: str,
    *,
    actor: str,
    reason: str,
    end_other_addresses: bool,
    tenant_id: int | None,
) -> Rebound:
    """Bind an address to the record that owns a document (a person who changed numbers).

    Staff only, audited. When the address spoke for a record that merely claimed this
    document, that record's appointments and registrations move to the owner's record and
    it keeps no claim; the address's conversation forgets what it remembered.
    """
    number = normalise_document(document_type, document_number)
    owner = await owner_of(uow, document_type, number)
    if owner is None or owner.erased_at is not None:
        raise NotFound("no citizen holds this document")
    previous = await bound_to(uow, channel, address)
    moved = 0
    if previous is not None and previous.id != owner.id:
        if previous.claimed_document_number == number and (
            previous.claimed_document_type == document_type
        ):
            moved = await _count(uow, Appointment.citizen_id == previous.id, Appointment)
            await uow.session.execute(
                update(Appointment)
                .where(Appointment.citizen_id == previous.id)
                .values(citizen_id=owner.id)
            )
            await uow.session.execute(
                update(EventRegistration)
                .where(EventRegistration.citizen_id == previous.id)
                .values(citizen_id=owner.id)
            )
            previous.claimed_document_type = previous.claimed_document_number = None
        await uow.session.execute(
            delete(ChannelIdentity).where(
                ChannelIdentity.channel == channel, ChannelIdentity.address == address
            )
        )
    ended = 0
    if end_other_addresses:
        others = (ChannelIdentity.citizen_id == owner.id) & (
            (ChannelIdentity.channel != channel) | (ChannelIdentity.address != address)
        )
        ended = await _count(uow, others, ChannelIdentity)
        await uow.session.execute(delete(ChannelIdentity).where(others))
    if previous is None or previous.id != owner.id:
        await uow.session.flush()
        await _bind(uow, owner, channel, address)
    await forget_conversations(uow, owner.id, address=(channel, address))
    await audit.record(
        uow,
        actor=actor,
        action="citizen.rebind",
        entity="citizen",
        entity_id=owner.id,
        tenant_id=tenant_id,
        before={"address_citizen_id": previous.id if previous else None},
        after={
            "channel": channel,
            "appointments_moved": moved,
            "addresses_ended": ended,
            "reason": reason,
        },
    )
    return Rebound(owner.id, previous.id if previous else None, moved, ended)


async def forget_conversations(
    uow: UnitOfWork,
    citizen_id: int,
    *,
    address: tuple[str, str] | None = None,
    keep: int | None = None,
) -> int:
    """Clear what conversations remember of a person (the record's, and one address's).

    Only the chosen language stays, and the next message starts afresh; the conversation
    `keep` (the one being answered now, which cleans itself) is left alone.
    """
    condition = Conversation.citizen_id == citizen_id
    if address is not None:
        condition = condition | (
            (Conversation.channel == address[0]) & (Conversation.user_ref == address[1])
        )
    forgotten = 0
    for conversation in await uow.session.scalars(select(Conversation).where(condition)):
        if conversation.id == keep:
            continue
        language = (conversation.memory or {}).get("language")
        conversation.memory = {"language": language} if language else {}
        conversation.answers = {}
        conversation.state = {}
        conversation.citizen_id = None
        conversation.flow_version_id = None
        conversation.step = None
        forgotten += 1
    await uow.session.flush()
    return forgotten
