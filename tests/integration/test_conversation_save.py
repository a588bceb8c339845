"""A turn's end writes what the turn changed in its conversation, and nothing it only read."""

from __future__ import annotations

from sqlalchemy import inspect, select, update

from bot.conversation import loading
from bot.messages import Inbound
from core.db import Database
from core.models import Conversation
from core.uow import UnitOfWork
from tests.conftest import reset
from tests.factories import NOW

INBOUND = Inbound(channel="test", user_ref="ana", message_id="m1", text="hola")


async def _new_conversation(db: Database) -> None:
    await reset(db)
    async with db.uow() as uow:
        await uow.session.execute(
            loading.new_conversation(uow.dialect),
            {**loading.address(INBOUND), "language": "es", "created_at": NOW},
        )
        await uow.commit()


async def _locked(uow: UnitOfWork) -> Conversation:
    """The conversation as a turn loads it."""
    row = (await uow.session.execute(loading.query(uow.dialect), loading.address(INBOUND))).first()
    assert row is not None
    return row[0]


async def _stored(db: Database) -> Conversation:
    async with db.uow() as uow:
        stored = (await uow.session.scalars(select(Conversation))).one()
        uow.session.expunge(stored)  # read before the unit of work ends, kept as read
        return stored


async def test_save_writes_the_changed_columns_and_leaves_the_others_as_stored(
    db: Database,
) -> None:
    """A column the turn did not change keeps what another statement of the turn wrote."""
    await _new_conversation(db)
    async with db.uow() as uow:
        conversation = await _locked(uow)
        loaded = loading.progress(conversation)
        conversation.step = "region"
        conversation.answers = {"service": "consultas-laborales"}
        # Another statement of the same turn (as identity binding does) changes a column the
        # object still holds the old value of: the save must not write that old value back.
        await uow.session.execute(
            update(Conversation).where(Conversation.id == conversation.id).values(language="qu"),
            execution_options={"synchronize_session": False},
        )
        await loading.save(uow, conversation, loaded, NOW)
        assert inspect(conversation).detached  # nothing left for the session to flush
        assert conversation.step == "region"  # still readable
        await uow.commit()
    stored = await _stored(db)
    assert (stored.step, stored.answers, stored.language) == (
        "region",
        {"service": "consultas-laborales"},
        "qu",
    )
    assert stored.last_inbound_at is not None


async def test_a_turn_that_changed_nothing_still_gives_the_row_a_new_time(db: Database) -> None:
    """last_inbound_at is written on every turn (the row's new version tells a waiting turn)."""
    await _new_conversation(db)
    async with db.uow() as uow:
        conversation = await _locked(uow)
        await loading.save(uow, conversation, loading.progress(conversation), NOW)
        await uow.commit()
    stored = await _stored(db)
    assert stored.last_inbound_at is not None
    assert stored.last_inbound_at.replace(tzinfo=None) == NOW.replace(tzinfo=None)
