"""A turn's end writes what the turn changed in its conversation, and nothing it only read."""

from __future__ import annotations

from sqlalchemy import event, inspect, select, update

from bot import outbox
from bot.conversation import loading
from bot.messages import Inbound, Option, Outbound
from core.db import Database
from core.models import Conversation, OutboxMessage
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
        await uow.session.execute(*loading.saving(uow, conversation, loaded, NOW))
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
        saving = loading.saving(uow, conversation, loading.progress(conversation), NOW)
        await outbox.insert_new(uow, [], now=NOW, along=saving)  # no replies: the UPDATE alone
        await uow.commit()
    stored = await _stored(db)
    assert stored.last_inbound_at is not None
    assert stored.last_inbound_at.replace(tzinfo=None) == NOW.replace(tzinfo=None)


async def test_the_update_rides_in_the_replies_insert_on_postgresql(db: Database) -> None:
    """One round trip for the conversation's UPDATE and the replies on PostgreSQL; two on SQLite."""
    await _new_conversation(db)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    async with db.uow() as uow:
        conversation = await _locked(uow)
        loaded = loading.progress(conversation)
        conversation.step = "menu"
        replies = [Outbound("uno", options=(Option("1", "Sí"),)), Outbound("dos «ñandú»")]
        notes = outbox.reply_notes(INBOUND, conversation.id, replies, NOW, tenant_id=None)
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            saving = loading.saving(uow, conversation, loaded, NOW)
            await outbox.insert_new(uow, notes, now=NOW, along=saving)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        await uow.commit()
    assert len(statements) == (1 if db.is_postgres else 2)
    stored = await _stored(db)
    assert stored.step == "menu" and stored.last_inbound_at is not None
    async with db.uow() as uow:
        rows = list(await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        uow.session.expunge_all()
    assert [row.idempotency_key for row in rows] == ["reply:test:m1:0", "reply:test:m1:1"]
    assert [row.payload["text"] for row in rows] == ["uno", "dos «ñandú»"]
    assert rows[0].payload["options"] == [["1", "Sí"]]
    assert {(row.status, row.kind, row.conversation_id, row.attempts) for row in rows} == {
        ("pending", "reply", stored.id, 0)
    }
    assert rows[0].due_at.replace(tzinfo=None) == NOW.replace(tzinfo=None)
    assert rows[0].created_at.replace(tzinfo=None) == NOW.replace(tzinfo=None)
    assert rows[0].provider_ids == []
