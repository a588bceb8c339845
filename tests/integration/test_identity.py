"""Which record a chat speaks for once it types a document (core/identity.py), both databases."""

from __future__ import annotations

from sqlalchemy import func, select

from core import citizens, identity
from core.db import Database
from core.models import ChannelIdentity, Citizen, DocumentType

DNI = DocumentType.DNI


async def _count(db: Database, model: type) -> int:
    async with db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_new_document_becomes_the_chats_own(db: Database) -> None:
    async with db.uow() as uow:
        first = await identity.resolve(uow, "telegram", "1", DNI, "45.678.912")
        again = await identity.resolve(uow, "telegram", "1", DNI, "45678912")
        assert first is not None and again is not None
        assert first.citizen.id == again.citizen.id
        assert first.citizen.document_number == "45678912"
        assert first.claimed_from is None and not identity.is_unverified(first.citizen)
        await uow.commit()
    assert await _count(db, Citizen) == 1


async def test_a_document_of_another_chat_is_claimed_never_merged(db: Database) -> None:
    async with db.uow() as uow:
        owner = await identity.resolve(uow, "telegram", "1", DNI, "45678912")
        assert owner is not None
        owner.citizen.name = "Rosa Huaman"
        claim = await identity.resolve(uow, "whatsapp", "whatsapp:+51987654321", DNI, "45678912")
        assert claim is not None and claim.new_claim
        assert claim.claimed_from is not None and claim.claimed_from.id == owner.citizen.id
        assert claim.citizen.id != owner.citizen.id
        assert identity.is_unverified(claim.citizen)
        assert (claim.citizen.document_number, claim.citizen.claimed_document_number) == (
            None,
            "45678912",
        )
        repeat = await identity.resolve(uow, "whatsapp", "whatsapp:+51987654321", DNI, "45678912")
        assert repeat is not None and not repeat.new_claim  # the owner is told once
        looking = await identity.resolve(uow, "telegram", "3", DNI, "45678912", may_create=False)
        assert looking is None
        await uow.commit()
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(ChannelIdentity.address, ChannelIdentity.citizen_id)
        )
        bindings = {str(address): int(citizen) for address, citizen in rows}
        kept = await uow.session.scalar(select(Citizen).where(Citizen.name == "Rosa Huaman"))
        assert kept is not None and kept.document_number == "45678912"
        assert bindings["1"] == kept.id and bindings["whatsapp:+51987654321"] != kept.id
        assert "3" not in bindings


async def test_a_record_without_a_chat_is_taken_by_the_first(db: Database) -> None:
    async with db.uow() as uow:
        staff_made = await citizens.identify(uow, DNI, "40123456", name="Lucía Quispe")
        taken = await identity.resolve(uow, "telegram", "9", DNI, "40123456")
        assert taken is not None and taken.citizen.id == staff_made.id
        other = await identity.resolve(uow, "telegram", "10", DNI, "40123456")
        assert other is not None and other.citizen.id != staff_made.id
        await uow.commit()


async def test_a_chat_keeps_its_record_whatever_it_types(db: Database) -> None:
    async with db.uow() as uow:
        mine = await identity.resolve(uow, "telegram", "5", DNI, "40123456")
        later = await identity.resolve(uow, "telegram", "5", DNI, "40999999")
        assert mine is not None and later is not None
        assert later.citizen.id == mine.citizen.id
        assert later.citizen.document_number == "40123456"
        await uow.commit()
