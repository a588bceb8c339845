"""The inbox: webhooks queue messages here, processors claim them and run their turns.

Queueing is the one statement on the webhooks' hot path. On PostgreSQL it runs on a small
asyncpg pool of its own: one prepared, autocommitted `INSERT ... ON CONFLICT DO NOTHING` per
message, with no ORM, no pre-ping and no explicit transaction (about a fifth of the CPU of the
same insert through a unit of work). On SQLite it goes through the unit of work, which keeps
SQLite's one-writer-at-a-time rule.

A processor claims the oldest queued message of a person not being served right now, runs its
turn and marks it done in one transaction, so a person's messages run in order, one at a time,
however many processors (and `psv inbox` processes) share the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import JSON, Executable, Integer, Select, bindparam, select, text, update
from sqlalchemy.sql.selectable import TextualSelect

from bot import metrics, pg_events
from bot.conversation import loading
from bot.conversation.engine import Engine
from bot.dashboard import live
from bot.doorbell import Doorbell
from bot.logs import pseudonym
from bot.messages import Inbound, inbound_from_json, inbound_to_json
from bot.outage import DatabaseWatch
from core.db import Database
from core.models import Conversation, InboundMessage, insert_or_skip, table_of
from core.states import InboundStatus

log = logging.getLogger("psv.inbox")

_INSERT = (
    "INSERT INTO inbound_message "
    "(channel, message_id, user_ref, payload, status, received_at) "
    "VALUES ($1, $2, $3, $4::json, $6, $5) "
    "ON CONFLICT (channel, message_id) DO NOTHING RETURNING id"
)
# The same on SQLite (the embedded default), built once on the table: an INSERT of the
# mapped class would take the ORM's bulk path for every webhook.
_SQLITE_INSERT = (
    insert_or_skip("sqlite", table_of(InboundMessage), "channel", "message_id")
    .values(
        channel=bindparam("channel"),
        message_id=bindparam("message_id"),
        user_ref=bindparam("user_ref"),
        payload=bindparam("payload"),
        status=bindparam("queue_status"),
        received_at=bindparam("received_at"),
    )
    .returning(table_of(InboundMessage).c.id)
)

CONNECT_TIMEOUT_S = 5.0

# The oldest queued message of each person not being served right now (SKIP LOCKED on
# PostgreSQL lets several processors claim different people's messages at once), marked done
# in the same statement: the turn runs in that transaction, so a turn that fails rolls the
# mark back with everything else and the message is queued again (one round trip a turn less
# than a SELECT and a later UPDATE). The status is a literal, which lets both databases walk
# the partial indexes of queued rows (migration 0012). On PostgreSQL the choice lives in the
# function psv_claim_inbound (migration 0014), whose planner settings forbid scans and sorts:
# statistics from an empty queue otherwise made it read and sort every queued row per claim
# (1.9 s behind 6,500 queued messages).
_QUEUED = InboundStatus.QUEUED.value
_DONE_VALUE = InboundStatus.DONE.value
_CHOOSE_SQLITE = f"""
SELECT m.id FROM inbound_message AS m
WHERE m.status = '{_QUEUED}' AND NOT EXISTS (
    SELECT 1 FROM inbound_message AS e
    WHERE e.status = '{_QUEUED}' AND e.channel = m.channel AND e.user_ref = m.user_ref
      AND e.id < m.id)
ORDER BY m.id LIMIT 1
"""
_CHOOSE = {
    "postgresql": "SELECT id FROM psv_claim_inbound()",
    "sqlite": _CHOOSE_SQLITE,  # one writer at a time: no row locks to skip
}
_CLAIM = {
    dialect: text(
        f"UPDATE inbound_message SET status = '{_DONE_VALUE}', processed_at = :done_at "
        f"WHERE id = ({choose}) RETURNING id, payload"
    )
    .bindparams(bindparam("done_at", type_=table_of(InboundMessage).c.processed_at.type))
    .columns(id=Integer, payload=JSON)
    for dialect, choose in _CHOOSE.items()
}

# The apology's mark, after a failed turn was rolled back. Built once, on the table: an
# UPDATE of the mapped class takes the ORM's bulk path.
_DONE = (
    update(table_of(InboundMessage))
    .where(table_of(InboundMessage).c.id == bindparam("row_id"))
    .values(status=InboundStatus.DONE, processed_at=bindparam("done_at"))
)


def claim_statement(db: Database) -> TextualSelect:
    """The statement that claims the next message and marks it done (id, payload; `done_at`)."""
    return _CLAIM["postgresql" if db.is_postgres else "sqlite"]


def claim_and_load_statement() -> Select[int, Any, Conversation, bool, bool, bool]:
    """PostgreSQL: the claim, and the claimed person's conversation locked, in one statement."""
    return loading.claimed_query(_CHOOSE["postgresql"])


# The queue's connections run single autocommitted statements and change no session state,
# so they skip asyncpg's reset on release (RESET ALL, UNLISTEN *, CLOSE ALL and
# pg_advisory_unlock_all: a round trip per webhook). asyncpg still rolls back an open
# transaction itself before calling this.
async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """Leave a released queue connection as it is."""


class InboxWriter:
    """Queues inbound messages; a redelivered message id is dropped."""

    def __init__(self, db: Database, *, pool_size: int = 8) -> None:
        self.db = db
        self.pool_size = pool_size
        # Called after a message was queued for a turn: wakes turn processes elsewhere.
        self.on_queued: Callable[[], None] | None = None
        self._pool: asyncpg.Pool | None = None

    async def _postgres(self) -> asyncpg.Pool:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                pg_events.asyncpg_dsn(self.db.url),
                min_size=0,  # no floor to restore: asyncpg would warn with a traceback per try
                max_size=self.pool_size,
                timeout=CONNECT_TIMEOUT_S,  # an unreachable database fails the webhook soon: 503
                reset=_nothing_to_reset,
            )
        return self._pool

    async def queue(
        self, inbound: Inbound, now: datetime, *, status: InboundStatus = InboundStatus.QUEUED
    ) -> bool:
        """Queue one message; False when it was already queued (a redelivery).

        `status` FLOODED keeps a message of a chat over its flood limit without running it.
        """
        payload = inbound_to_json(inbound)
        if self.db.is_postgres:
            pool = await self._postgres()
            queued = await pool.fetchval(
                _INSERT,
                inbound.channel,
                inbound.message_id,
                inbound.user_ref,
                json.dumps(payload, ensure_ascii=False),
                now,
                status,
            )
        else:
            async with self.db.uow() as uow:
                values = {
                    "channel": inbound.channel,
                    "message_id": inbound.message_id,
                    "user_ref": inbound.user_ref,
                    "payload": payload,
                    "queue_status": status,
                    "received_at": now,
                }
                queued = (await uow.session.execute(_SQLITE_INSERT, values)).scalar_one_or_none()
                await uow.commit()
        if queued is None:
            return False
        if status == InboundStatus.QUEUED and self.on_queued is not None:
            self.on_queued()
        return True

    async def close(self) -> None:
        """Close the PostgreSQL pool, if one was opened."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


class Inbox:
    """The queue of inbound messages and the processor tasks that run their turns."""

    def __init__(
        self,
        engine: Engine,
        *,
        concurrency: int,
        idle_wait: float = 1.0,
        watch: DatabaseWatch | None = None,
    ) -> None:
        self.engine = engine
        self.writer = InboxWriter(engine.db)
        # On PostgreSQL the claim also loads the conversation (one round trip less a turn).
        self._claim: Executable = (
            claim_and_load_statement() if engine.db.is_postgres else claim_statement(engine.db)
        )
        self.concurrency = concurrency
        self.idle_wait = idle_wait
        self.watch = watch or DatabaseWatch(engine.db)
        self.wake = Doorbell()  # rung when messages are queued: wakes one processor
        # Called after a transaction that queued replies commits (wakes the outbox worker).
        self.on_replies: Callable[[], object] | None = None
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        live.install()  # committed bookings reach open dashboards (bot/dashboard/live.py)

    async def accept(
        self, inbound: Inbound, *, status: InboundStatus = InboundStatus.QUEUED
    ) -> bool:
        """Queue a message from a webhook; False when it is a redelivery (already queued)."""
        return await self.writer.queue(inbound, self.engine.clock(), status=status)

    async def process_next(self) -> bool:
        """Run the turn of the oldest queued message (one person at a time); False if none.

        A turn that fails is rolled back whole (no savepoint on the way of every turn); the
        apology is then written in a second transaction, unless another processor has meanwhile
        claimed the message again and answered it.
        """
        now = self.engine.clock()
        row_id, inbound = 0, None
        try:
            async with self.engine.db.uow() as uow:
                claimed = (await uow.session.execute(self._claim, {"done_at": now})).first()
                if claimed is None:
                    return False
                row_id, payload, *with_conversation = claimed
                inbound = inbound_from_json(payload)
                loaded = None
                if with_conversation and with_conversation[0] is not None:
                    loaded = loading.trusted(*with_conversation)
                await self.engine.run_turn(uow, inbound, now, loaded)
                await uow.commit()
        except Exception:
            if inbound is None:  # nothing claimed: the database itself failed
                raise
            log.exception(
                "engine failed on a %s message of %s", inbound.channel, pseudonym(inbound.user_ref)
            )
            await self._apologise(row_id, inbound, now)
        if self.on_replies is not None:
            self.on_replies()
        return True

    async def _apologise(self, row_id: int, inbound: Inbound, now: datetime) -> None:
        async with self.engine.db.uow() as uow:
            still_queued = await uow.session.scalar(
                select(InboundMessage.id)
                .where(InboundMessage.id == row_id, InboundMessage.status == InboundStatus.QUEUED)
                .with_for_update()
            )
            if still_queued is None:
                return
            await self.engine.queue_apology(uow, inbound, now)
            await uow.session.execute(_DONE, {"row_id": row_id, "done_at": now})
            await uow.commit()

    def start(self) -> None:
        """Start the processor tasks."""
        self._tasks = [asyncio.create_task(self._run()) for _ in range(self.concurrency)]

    async def _run(self) -> None:
        while not self._stopping:
            try:
                started = time.perf_counter()
                worked = await self.process_next()
                if worked:
                    metrics.observe_turn(time.perf_counter() - started)
            except Exception as exc:
                if not await self.watch.is_outage(exc):  # an outage is logged once, by the watch
                    log.exception("inbox processing failed; trying again shortly")
                worked = False
            if not worked and not self._stopping:
                await self.wake.wait(self.idle_wait)

    async def stop(self) -> None:
        """Let each processor finish its current turn, then stop."""
        self._stopping = True
        self.wake.set_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run(self) -> None:
        """Process until `request_stop()` (for `psv inbox`)."""
        self.start()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def request_stop(self) -> None:
        """Ask the processors to stop after their current turn."""
        self._stopping = True
        self.wake.set_all()

    async def close(self) -> None:
        """Release the queue's connections."""
        await self.writer.close()
