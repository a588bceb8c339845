"""The outbox's claim: an address's messages one at a time and in order, replies first, leases
that run out, several workers at once, and a plan that holds with stale statistics."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, text, update

from bot.outbox.claim import Job, claim, claim_statement, plan_settings
from core.db import Database
from core.models import OutboxMessage
from core.types import UTCDateTime
from core.uow import UnitOfWork
from tests.conftest import reset
from tests.factories import NOW

LEASE = timedelta(seconds=60)
REPLY, NOTICE = 10, 0


def _row(
    name: str,
    address: str,
    *,
    due: datetime = NOW,
    priority: int = NOTICE,
    status: str = "pending",
    attempts: int = 0,
    channel: str = "telegram",
    leased_until: datetime | None = None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "address": address,
        "payload": {"text": name},
        "status": status,
        "priority": priority,
        "due_at": due,
        "attempts": attempts,
        "kind": "reply" if priority == REPLY else "notice",
        "provider_ids": [],
        "leased_until": leased_until,
        "created_at": NOW,
    }


async def _queue(db: Database, *rows: dict[str, Any]) -> None:
    """Insert the rows one by one, so that their ids follow the order given."""
    async with db.engine.begin() as conn:
        for row in rows:
            await conn.execute(insert(OutboxMessage), [row])


async def _take(
    uow: UnitOfWork,
    *,
    now: datetime = NOW,
    limit: int = 10,
    channels: tuple[str, ...] = ("telegram",),
    own: tuple[int, ...] = (),
    busy: tuple[int, ...] = (),
) -> list[Job]:
    return await claim(
        uow,
        now=now,
        lease_end=now + LEASE,
        channels=list(channels),
        limit=limit,
        own=list(own),
        busy=list(busy),
    )


async def _claimed(db: Database, **options: Any) -> list[str]:
    """The texts of the messages one claim leases (committed), in the order it gives them."""
    async with db.uow() as uow:
        jobs = await _take(uow, **options)
        await uow.commit()
    return [str(job.payload["text"]) for job in jobs]


async def _mark(db: Database, name: str, status: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.payload["text"].as_string() == name)
            .values(status=status)
        )


async def test_an_address_gets_its_messages_in_order_one_at_a_time(db: Database) -> None:
    # ana's second message is a reply: still not before her first, a notice, is sent
    await _queue(
        db,
        _row("a1", "ana"),
        _row("b1", "beto"),
        _row("a2", "ana", priority=REPLY),
        _row("b2", "beto"),
    )
    assert await _claimed(db) == ["a1", "b1"]
    assert await _claimed(db, now=NOW + timedelta(seconds=1)) == []  # both still being sent
    await _mark(db, "a1", "sent")
    assert await _claimed(db, now=NOW + timedelta(seconds=2)) == ["a2"]
    await _mark(db, "b1", "failed")
    assert await _claimed(db, now=NOW + timedelta(seconds=3)) == ["b2"]


async def test_replies_go_before_notices_then_by_due_time(db: Database) -> None:
    await _queue(
        db,
        _row("notice-early", "n1", due=NOW - timedelta(minutes=9)),
        _row("notice-late", "n2", due=NOW - timedelta(minutes=1)),
        _row("reply-late", "r1", due=NOW - timedelta(seconds=5), priority=REPLY),
        _row("reply-early", "r2", due=NOW - timedelta(seconds=30), priority=REPLY),
        _row("reminder", "n3", due=NOW + timedelta(hours=1)),
    )
    assert await _claimed(db, limit=3) == ["reply-early", "reply-late", "notice-early"]
    assert await _claimed(db) == ["notice-late"]


async def test_a_message_waiting_for_a_retry_holds_its_address_back_a_reminder_does_not(
    db: Database,
) -> None:
    later = NOW + timedelta(hours=2)
    await _queue(
        db,
        _row("retry", "ana", due=later, attempts=1),
        _row("a-due", "ana"),
        _row("reminder", "beto", due=later),
        _row("b-due", "beto"),
    )
    assert await _claimed(db) == ["b-due"]
    assert await _claimed(db, now=later) == ["retry", "reminder"]


async def test_an_expired_lease_is_claimed_again_unless_this_worker_still_sends_it(
    db: Database,
) -> None:
    await _queue(db, _row("a1", "ana"), _row("a2", "ana"))
    async with db.uow() as uow:
        (first,) = await _take(uow)
        await uow.commit()
    assert first.attempts == 1 and first.leased_until == NOW + LEASE
    assert await _claimed(db, now=NOW + LEASE - timedelta(seconds=1)) == []
    after = NOW + LEASE + timedelta(seconds=1)
    assert await _claimed(db, now=after, busy=(first.id,)) == []
    async with db.uow() as uow:
        (again,) = await _take(uow, now=after)
        await uow.commit()
    assert (again.id, again.attempts, again.leased_until) == (first.id, 2, after + LEASE)


async def test_own_leases_are_taken_back_at_once_and_only_listed_channels_are_claimed(
    db: Database,
) -> None:
    await _queue(
        db,
        _row("mine", "ana", status="sending", leased_until=NOW + LEASE, attempts=1),
        _row("theirs", "beto", status="sending", leased_until=NOW + LEASE, attempts=1),
        _row("whatsapp", "carla", channel="whatsapp"),
    )
    async with db.engine.connect() as conn:
        mine = await conn.scalar(text("SELECT min(id) FROM outbox_message"))
    assert await _claimed(db, own=(mine,)) == ["mine"]
    assert await _claimed(db, channels=("whatsapp", "telegram")) == ["whatsapp"]


@pytest.mark.postgres
async def test_two_workers_claiming_at_once_never_take_the_same_row(
    postgresql_db: Database,
) -> None:
    db = postgresql_db
    await reset(db)
    await _queue(db, _row("a1", "ana"), _row("a2", "ana"), _row("b1", "beto"), _row("c1", "carla"))
    async with db.uow() as first, db.uow() as second, db.uow() as third:
        taken = await _take(first, limit=2)  # not committed: its rows stay locked
        assert [job.payload["text"] for job in taken] == ["a1", "b1"]
        # a row locked by the first is skipped, not waited for (nor its address's next one)
        await second.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        other = await _take(second)
        assert [job.payload["text"] for job in other] == ["c1"]
        await third.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        assert await _take(third) == []
        await first.commit()
        await second.commit()
    await reset(db)


async def _stale_burst(db: Database) -> None:
    """Statistics from a quiet hour (15 rows, all sent), then 8,000 rows, 5,000 unsent."""
    await _queue(db, *(_row(f"q{n}", f"p{n % 7}", status="sent") for n in range(15)))
    async with db.engine.begin() as conn:
        await conn.execute(text("ANALYZE outbox_message" if db.is_postgres else "ANALYZE"))
        await conn.execute(
            text(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 8000) "
                "INSERT INTO outbox_message (channel, address, payload, status, priority, "
                "due_at, attempts, kind, provider_ids, created_at) "
                "SELECT 'telegram', 'p' || (n % 400), '{}', "
                "CASE WHEN n < 3000 THEN 'sent' ELSE 'pending' END, "
                "CASE WHEN n % 3 = 0 THEN 10 ELSE 0 END, :now, 0, 'notice', '[]', :now FROM g"
            ).bindparams(bindparam("now", type_=UTCDateTime())),
            {"now": NOW - timedelta(minutes=5)},
        )


def _explainable(db: Database, prefix: str) -> Any:
    sql = str(claim_statement(db.engine.dialect.name).element)
    return text(prefix + sql).bindparams(
        bindparam("now", type_=UTCDateTime()), bindparam("lease_end", type_=UTCDateTime())
    )


def _params(db: Database) -> dict[str, Any]:
    lists: dict[str, Any] = {"channels": ["telegram"], "own": [], "busy": [1, 2]}
    if not db.is_postgres:
        lists = {name: json.dumps(value) for name, value in lists.items()}
    return {"now": NOW, "lease_end": NOW + LEASE, "limit": 50, **lists}


@pytest.mark.postgres
async def test_the_claim_walks_the_unsent_rows_in_order_even_with_stale_statistics(
    postgresql_db: Database,
) -> None:
    """Statistics taken when the outbox held 15 rows must not turn the claim into a sort.

    Behind such a burst they made PostgreSQL probe every unsent row's address through the
    address index and sort what was left, instead of stopping at the batch's last row.
    """
    db = postgresql_db
    await reset(db)
    await _stale_burst(db)
    async with db.engine.connect() as conn:
        for setting in plan_settings("postgresql"):
            await conn.execute(setting)
        explain = _explainable(db, "EXPLAIN (FORMAT JSON) ")
        plan = json.dumps((await conn.execute(explain, _params(db))).scalar())
        await conn.rollback()
    await reset(db)
    assert '"Index Name": "ix_outbox_claim_order"' in plan
    assert '"Index Name": "ix_outbox_waiting_address"' in plan
    assert '"Subplan Name": "SubPlan 1"' in plan
    assert "Sort" not in plan
    assert "Hash" not in plan
    # The lease's UPDATE may fetch its (at most `limit`) ids by a bitmap of the primary key,
    # depending on the statistics; the walk itself never goes by bitmap.
    bitmaps = re.findall(r'"Node Type": "Bitmap Index Scan".*?"Index Name": "(\w+)"', plan)
    assert set(bitmaps) <= {"pk_outbox_message"}, bitmaps


async def test_the_claim_uses_the_partial_indexes_on_sqlite(sqlite_db: Database) -> None:
    db = sqlite_db
    await reset(db)
    await _stale_burst(db)
    async with db.engine.connect() as conn:
        explain = _explainable(db, "EXPLAIN QUERY PLAN ")
        plan = "\n".join(str(row[3]) for row in await conn.execute(explain, _params(db)))
        await conn.rollback()
    await reset(db)
    assert "SCAN o USING INDEX ix_outbox_claim_order" in plan
    assert "SEARCH e USING INDEX ix_outbox_waiting_address (channel=? AND address=? AND id<?)" in (
        plan
    )
    assert "TEMP B-TREE" not in plan
