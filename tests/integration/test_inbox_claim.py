"""The inbox's claim: a person's messages one at a time and in order, and a plan that holds."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from bot.inbox import claim_statement
from core.db import Database
from tests.conftest import reset
from tests.factories import NOW

QUEUE = text(
    "INSERT INTO inbound_message (channel, message_id, user_ref, payload, status, received_at) "
    "VALUES ('telegram', :message_id, :user_ref, :payload, :status, CURRENT_TIMESTAMP)"
)


async def _queue(db: Database, *messages: tuple[str, str, str]) -> None:
    async with db.engine.begin() as conn:
        for message_id, user_ref, status in messages:
            values = {"message_id": message_id, "user_ref": user_ref, "status": status}
            await conn.execute(QUEUE, {**values, "payload": json.dumps({"text": message_id})})


DONE_AT = {"done_at": NOW}


async def _claimed(db: Database) -> str | None:
    async with db.uow() as uow:
        row = (await uow.session.execute(claim_statement(db), DONE_AT)).first()
    return None if row is None else str(row.payload["text"])


async def test_the_oldest_queued_message_goes_first_and_done_ones_are_passed(db: Database) -> None:
    await reset(db)
    await _queue(db, ("old", "ana", "done"), ("a1", "ana", "queued"), ("b1", "beto", "queued"))
    assert await _claimed(db) == "a1"
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE inbound_message SET status = 'done'"))
    assert await _claimed(db) is None


async def _statuses(db: Database) -> dict[str, tuple[str, bool]]:
    async with db.engine.begin() as conn:
        rows = await conn.execute(
            text("SELECT message_id, status, processed_at FROM inbound_message ORDER BY id")
        )
        return {row[0]: (row[1], row[2] is not None) for row in rows}


async def test_the_claim_marks_the_message_done_in_the_turns_transaction(db: Database) -> None:
    """Claimed and marked done in one statement; a turn rolled back leaves it queued again."""
    await reset(db)
    await _queue(db, ("a1", "ana", "queued"), ("b1", "beto", "queued"))
    async with db.uow() as uow:  # the turn fails: its transaction is rolled back
        claimed = (await uow.session.execute(claim_statement(db), DONE_AT)).one()
        assert claimed.payload["text"] == "a1"  # left without commit: rolled back
    assert await _statuses(db) == {"a1": ("queued", False), "b1": ("queued", False)}
    async with db.uow() as uow:  # the turn succeeds
        claimed = (await uow.session.execute(claim_statement(db), DONE_AT)).one()
        assert claimed.payload["text"] == "a1"
        await uow.commit()
    assert await _statuses(db) == {"a1": ("done", True), "b1": ("queued", False)}
    assert await _claimed(db) == "b1"


@pytest.mark.postgres
async def test_a_persons_next_message_waits_while_the_earlier_one_runs(
    postgresql_db: Database,
) -> None:
    db = postgresql_db
    await reset(db)
    await _queue(db, ("a1", "ana", "queued"), ("a2", "ana", "queued"), ("b1", "beto", "queued"))
    async with db.uow() as first, db.uow() as second, db.uow() as third:
        running = (await first.session.execute(claim_statement(db), DONE_AT)).one()
        assert running.payload["text"] == "a1"
        # a1 is being served: a2 must wait for it, so another processor takes b1...
        other = (await second.session.execute(claim_statement(db), DONE_AT)).one()
        assert other.payload["text"] == "b1"
        # ...and a third finds nothing it may run.
        assert (await third.session.execute(claim_statement(db), DONE_AT)).first() is None
        await first.session.execute(
            text("UPDATE inbound_message SET status = 'done' WHERE id = :id"), {"id": running.id}
        )
        await first.commit()
    assert await _claimed(db) == "a2"


async def _claim_plan(db: Database) -> str:
    """The plan PostgreSQL makes for the claim function's statement, with its settings."""
    async with db.engine.begin() as conn:
        body, config = (
            await conn.execute(
                text("SELECT prosrc, proconfig FROM pg_proc WHERE proname = 'psv_claim_inbound'")
            )
        ).one()
        for setting in config or []:
            name, value = setting.split("=", 1)
            await conn.execute(
                text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
            )
        explained = await conn.execute(text(f"EXPLAIN (FORMAT JSON) {body}"))
        return json.dumps(explained.scalar())


BURST = text(
    "INSERT INTO inbound_message (channel, message_id, user_ref, payload, status, received_at) "
    "SELECT 'telegram', 'burst' || g, 'p' || (g % 400), '{}', "
    "CASE WHEN g < :done THEN 'done' ELSE 'queued' END, CURRENT_TIMESTAMP "
    "FROM generate_series(1, 8000) AS g"
)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("analysed", "done"),
    [(15, 3000), (0, 0)],
    ids=["statistics-of-15-queued", "statistics-of-an-empty-table"],
)
async def test_the_claim_walks_the_queue_index_whatever_the_statistics(
    postgresql_db: Database, analysed: int, done: int
) -> None:
    """Statistics from a quiet hour must not turn the claim into a scan or a sort.

    Behind a burst of 8,000 messages, statistics of 15 queued rows made PostgreSQL plan the
    person check as a join that reread every queued row per candidate; statistics of an
    empty table made it read every queued row and sort them, for every claim (1.9 s a claim
    in bench_webhooks). The claim must walk ix_inbound_queued in order, probing per row.
    """
    db = postgresql_db
    await reset(db)
    await _queue(db, *((f"q{n}", f"p{n % 7}", "queued") for n in range(analysed)))
    async with db.engine.begin() as conn:
        await conn.execute(text("ANALYZE inbound_message"))
        await conn.execute(BURST, {"done": done})
    plan = await _claim_plan(db)
    await reset(db)
    assert '"Node Type": "Index Scan"' in plan
    assert '"Index Name": "ix_inbound_queued"' in plan
    assert '"Subplan Name": "SubPlan 1"' in plan
    for unwanted in ("Materialize", "Hash", "Sort", "Bitmap", "Seq Scan"):
        assert unwanted not in plan, unwanted
