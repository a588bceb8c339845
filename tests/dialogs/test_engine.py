"""Engine guarantees: one person at a time, state that survives a restart, safe failures."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm.attributes import flag_modified

from bot.conversation.engine import Engine
from bot.conversation.handlers import Message
from bot.flows import steps
from bot.inbox import Inbox
from bot.messages import Inbound, Outbound
from core.db import Database
from core.models import Conversation, HandoffRequest, InboundMessage, OutboxMessage
from tests.conftest import reset
from tests.dialogs.support import Clock, Person, dialog, make_engine
from tests.factories import NOW

CONSENT = [("hola", "¿Acepta?"), ("sí", "¿En qué le puedo ayudar?")]


@pytest.fixture
async def engine(db: Database) -> Engine:
    engine = make_engine(db, Clock(NOW))
    await engine.start()
    return engine


async def test_state_survives_a_restart(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(person, [*CONSENT, ("1", "¿Con qué tema")])
    restarted = make_engine(db, Clock(NOW))
    await restarted.start()  # templates unchanged: nothing republished
    person.engine = restarted
    await dialog(person, [("consultas", "¿En qué región")])


@pytest.mark.postgres
async def test_two_messages_of_one_person_never_run_at_once(
    postgresql_db: Database, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await reset(postgresql_db)
    slow_accept = steps.accept

    async def slow(*args: object, **kwargs: object) -> object:
        await asyncio.sleep(0.2)  # widen the window in which two turns could overlap
        return await slow_accept(*args, **kwargs)  # type: ignore[arg-type]

    wide = Database(pg_url, pool_size=10)
    try:
        engine = make_engine(wide, Clock(NOW))
        await engine.start()
        person = Person(engine)
        await dialog(person, CONSENT)
        monkeypatch.setattr(steps, "accept", slow)

        async def nonsense(n: int) -> None:
            await engine.handle(
                Inbound(
                    channel=person.channel, user_ref=person.user, message_id=f"x{n}", text="qwzx"
                )
            )

        await asyncio.gather(nonsense(1), nonsense(2))
        async with wide.uow() as uow:
            conversation = await uow.session.scalar(
                select(Conversation).where(Conversation.user_ref == person.user)
            )
            assert conversation is not None
            # Both turns counted: neither overwrote the other's update.
            assert conversation.misunderstood == 2
    finally:
        await wide.dispose()


async def test_unexpected_failure_apologises_and_records(
    engine: Engine, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = Person(engine)
    await dialog(person, CONSENT)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine.flow_runner, "_process", broken)
    reply = await person.says("1", message_id="boom-1")
    assert "Algo salió mal" in reply.text
    again = await person.says("1", message_id="boom-1")
    assert again.messages == []  # the redelivery is not tried again
    async with db.uow() as uow:
        inbound = await uow.session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.message_id == "boom-1")
        )
        apologies = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.idempotency_key == "reply:test:boom-1:0")
        )
    assert (inbound, apologies) == (1, 1)


async def test_webhook_queue_drops_redeliveries_and_keeps_order(
    engine: Engine, db: Database
) -> None:
    """accept() queues (asyncpg on PostgreSQL, the unit of work on SQLite); turns run in order."""
    person = Person(engine)
    inbox = Inbox(engine, concurrency=1)
    first = Inbound(person.channel, person.user, "q-1", text="hola")
    second = Inbound(person.channel, person.user, "q-2", text="sí")
    assert await inbox.accept(first) is True
    assert await inbox.accept(second) is True
    assert await inbox.accept(first) is False  # a redelivery
    assert await inbox.process_next() is True
    assert await inbox.process_next() is True
    assert await inbox.process_next() is False
    async with db.uow() as uow:
        rows = (
            await uow.session.execute(
                select(InboundMessage.message_id, InboundMessage.status).order_by(InboundMessage.id)
            )
        ).all()
        replies = list(
            await uow.session.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.id))
        )
    assert [tuple(r) for r in rows] == [("q-1", "done"), ("q-2", "done")]
    # "hola" got the privacy notice, then "sí" the menu: in the order they were sent.
    assert "¿Acepta?" in replies[1]["text"] and "¿En qué le puedo ayudar?" in replies[2]["text"]
    await inbox.close()


async def test_a_message_queued_while_the_processor_looks_runs_without_waiting_for_a_poll(
    engine: Engine, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wake-up that comes while a processor finds the queue empty is kept, not cleared."""
    person = Person(engine)
    inbox = Inbox(engine, concurrency=1, idle_wait=120)  # a lost wake-up sleeps two minutes
    look_for_work = inbox.process_next
    looks = 0

    async def look_and_meanwhile_a_message_comes() -> bool:
        nonlocal looks
        looks += 1
        found = await look_for_work()
        if looks == 1:
            assert found is False  # the queue was empty when the processor looked
            await inbox.accept(Inbound(person.channel, person.user, "late-1", text="hola"))
            inbox.wake.set()  # as the webhook's NOTIFY (or serve's own queue) does
        return found

    monkeypatch.setattr(inbox, "process_next", look_and_meanwhile_a_message_comes)
    inbox.start()
    try:
        status = None
        for _ in range(200):  # up to 10 s; the poll would come after 120 s
            async with db.uow() as uow:
                status = await uow.session.scalar(
                    select(InboundMessage.status).where(InboundMessage.message_id == "late-1")
                )
            if status == "done":
                break
            await asyncio.sleep(0.05)
        assert status == "done"
    finally:
        await inbox.stop()
        await inbox.close()


async def test_a_queued_turn_that_fails_is_rolled_back_then_apologised(
    engine: Engine, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox runs a turn without a savepoint: what the failed turn wrote is not kept."""
    person = Person(engine)
    await dialog(person, CONSENT)

    async def broken(message: object) -> None:
        conversation = message.conversation  # type: ignore[attr-defined]
        conversation.step = "half-done"  # written by the failed turn: must be rolled back
        await message.uow.session.flush()  # type: ignore[attr-defined]
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "handlers", (*engine.handlers[:-1], broken))
    inbox = Inbox(engine, concurrency=1)
    assert await inbox.accept(Inbound(person.channel, person.user, "q-boom", text="1")) is True
    assert await inbox.process_next() is True
    assert await inbox.process_next() is False
    async with db.uow() as uow:
        status = await uow.session.scalar(
            select(InboundMessage.status).where(InboundMessage.message_id == "q-boom")
        )
        apology = await uow.session.scalar(
            select(OutboxMessage.payload).where(
                OutboxMessage.idempotency_key == "reply:test:q-boom:0"
            )
        )
        step = await uow.session.scalar(
            select(Conversation.step).where(Conversation.user_ref == person.user)
        )
    assert status == "done"
    assert apology is not None and "Algo salió mal" in apology["text"]
    assert step != "half-done"
    await inbox.close()


async def test_a_turn_that_waited_for_the_lock_sees_the_ticket_the_turn_before_opened(
    engine: Engine, db: Database
) -> None:
    """The flags read with the locked row are never older than the row (PostgreSQL's xmin)."""
    person = Person(engine)
    await dialog(person, CONSENT)
    inbound = Inbound(person.channel, person.user, "late", text="¿sigue ahí?")
    holding = db.uow()
    await holding.__aenter__()
    try:
        conversation = await holding.session.scalar(
            select(Conversation).where(Conversation.user_ref == person.user).with_for_update()
        )
        assert conversation is not None
        holding.session.add(HandoffRequest(conversation_id=conversation.id))
        conversation.last_inbound_at = NOW
        flag_modified(conversation, "last_inbound_at")  # the row written, as every turn does

        async def load() -> bool:
            async with db.uow() as uow:
                return (await engine._conversation(uow, inbound, NOW))[2]

        waiting = asyncio.create_task(load())
        await asyncio.sleep(0.3)  # lets the load reach the lock (on SQLite: the write lock)
        await holding.commit()
    finally:
        await holding.__aexit__(None, None, None)
    assert await waiting is True


async def test_a_queued_turn_that_waited_for_the_lock_sees_the_ticket_the_turn_before_opened(
    engine: Engine, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox's claim loads the conversation too (PostgreSQL): its flags are never older
    than the locked row either."""
    person = Person(engine)
    await dialog(person, CONSENT)
    inbox = Inbox(engine, concurrency=1)
    seen: list[bool] = []
    offer = engine._offer

    async def noting(message: Message) -> list[Outbound]:
        seen.append(message.has_ticket)
        return await offer(message)

    monkeypatch.setattr(engine, "_offer", noting)
    holding = db.uow()
    await holding.__aenter__()
    try:
        conversation = await holding.session.scalar(
            select(Conversation).where(Conversation.user_ref == person.user).with_for_update()
        )
        assert conversation is not None
        holding.session.add(HandoffRequest(conversation_id=conversation.id))
        conversation.last_inbound_at = NOW
        flag_modified(conversation, "last_inbound_at")
        queued = inbox.accept(Inbound(person.channel, person.user, "late", text="¿sigue ahí?"))
        if db.is_postgres:  # on SQLite the queue waits for the write lock held here
            assert await queued is True
        waiting = asyncio.create_task(inbox.process_next())
        await asyncio.sleep(0.3)  # lets the claim reach the lock (on SQLite: the write lock)
        await holding.commit()
    finally:
        await holding.__aexit__(None, None, None)
    if not db.is_postgres:
        assert await queued is True
        assert await inbox.process_next() is True
    else:
        assert await waiting is True
    assert seen == [True]
    await inbox.close()


async def test_an_ordinary_queued_turn_is_two_statements_on_postgresql(
    engine: Engine, db: Database
) -> None:
    """The claim and the locked conversation in one statement, the conversation's UPDATE and
    the replies in another (SQLite: the claim, the load, the UPDATE and the INSERT)."""
    person = Person(engine)
    await dialog(person, CONSENT)
    inbox = Inbox(engine, concurrency=1)
    assert await inbox.accept(Inbound(person.channel, person.user, "x-1", text="ayuda")) is True
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(" ".join(str(args[2]).split())[:60])

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        assert await inbox.process_next() is True
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert len(statements) == (2 if db.is_postgres else 5), statements
    async with db.uow() as uow:
        status = await uow.session.scalar(
            select(InboundMessage.status).where(InboundMessage.message_id == "x-1")
        )
        texts = list(
            await uow.session.scalars(
                select(OutboxMessage.payload["text"].as_string())
                .where(OutboxMessage.address == person.user)
                .order_by(OutboxMessage.id)
            )
        )
    assert status == "done"
    assert any("«menú»" in text for text in texts[2:]), texts  # the help, after the menu
    await inbox.close()
