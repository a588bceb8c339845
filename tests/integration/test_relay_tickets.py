"""Relayed hand-off tickets under concurrency: one specialist, one conversation at a time."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from bot.conversation import relay
from core import catalog
from core.db import Database
from core.models import (
    Conversation,
    HandoffRequest,
)
from core.uow import UnitOfWork
from tests.conftest import reset
from tests.factories import NOW, add_specialist

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.mark.postgres
async def test_two_tickets_at_once_never_take_the_same_specialist(
    postgresql_db: Database,
) -> None:
    """The second turn picks the one free specialist too, then waits on their row lock.

    When the first commits, the second must see that they now relay a ticket and leave
    its own ticket in the queue: one person, one conversation.
    """
    db = postgresql_db
    await reset(db)
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        tenant = await catalog.get_tenant(uow, "PE-ARE")
        talks = []
        for n in range(2):
            talk = Conversation(
                channel="telegram", user_ref=f"71{n}", answers={}, memory={}, state={}
            )
            uow.session.add(talk)
            talks.append(talk)
        await uow.session.flush()
        talk_ids = [t.id for t in talks]
        await uow.commit()

    async def open_for(uow: UnitOfWork, conversation_id: int) -> relay.Opened:
        return await relay.open_ticket(
            uow,
            conversation_id=conversation_id,
            tenant_id=tenant.id,
            service_id=None,
            citizen_id=None,
            note=None,
            now=NOW,
        )

    async def second() -> relay.Opened:
        async with db.uow() as uow:
            opened = await open_for(uow, talk_ids[1])
            await uow.commit()
            return opened

    async def lock_waiters() -> int:
        async with db.uow() as uow:
            found = await uow.session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        return int(found or 0)

    async with db.uow() as first_uow:
        first = await open_for(first_uow, talk_ids[0])
        assert first.specialist is not None and first.specialist.id == spec.id
        waiting = asyncio.create_task(second())
        for _ in range(500):  # until the second turn waits on the specialist's row
            if await lock_waiters() or waiting.done():
                break
            await asyncio.sleep(0.01)
        assert not waiting.done(), "the second turn should wait for the first one's lock"
        await first_uow.commit()
    later = await waiting
    assert later.specialist is None
    async with db.uow() as uow:
        tickets = list(
            await uow.session.execute(
                select(HandoffRequest.status, HandoffRequest.specialist_id).order_by(
                    HandoffRequest.id
                )
            )
        )
    assert [tuple(t) for t in tickets] == [("assigned", spec.id), ("open", None)]
