"""The outbox worker: claims due messages, sends them through their channel, records results.

A message is claimed by leasing it (status "sending", `leased_until`) in a short
transaction with `FOR UPDATE SKIP LOCKED`, so several workers on several hosts never take
the same row. Only the oldest unsent message of each address is claimed, so a person's
messages go in order, one at a time (a message scheduled for later and not tried yet does not
hold back the ones due now). After the send, the result is recorded in another
short transaction: sent (with the platform's ids), retry later (exponential backoff,
or the platform's own `retry_after`), failed for good (the person may be marked
unreachable), or held as "needs template".

The one window no system closes: a crash after the platform accepted a message and
before the worker recorded it. The row stays "sending" until its lease ends, and is then
sent again (at least once, never lost). The lease is short and the record is written
right after the send, so the window is the length of one database commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.channels.base import Channel, Outcome, SendContext, SendResult
from bot.messages import Outbound
from bot.pacing import Pacer
from core.db import Database
from core.models import ChannelIdentity, Conversation, OutboxMessage, ProviderMessage
from core.types import utcnow
from core.uow import UnitOfWork

log = logging.getLogger("psv.worker")

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=2)
MAX_BACKOFF = timedelta(minutes=30)
MAX_ADDRESSES_PER_CLAIM = 10_000  # well under asyncpg's 32,767 parameters per statement
ERROR_LIMIT = 300  # characters of OutboxMessage.last_error


def backoff(attempts: int) -> timedelta:
    """How long to wait before try number `attempts + 1` (2 s, 4 s, 8 s ... 30 min)."""
    wait: timedelta = BASE_BACKOFF * 2 ** max(0, attempts - 1)
    return min(MAX_BACKOFF, wait)


@dataclass
class WorkerStats:
    """Counts since start, for /metrics."""

    sent: dict[str, int] = field(default_factory=dict)
    retried: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict[str, int], channel: str) -> None:
        """Add one to a per-channel counter."""
        bucket[channel] = bucket.get(channel, 0) + 1


@dataclass(frozen=True)
class _Job:
    id: int
    channel: str
    address: str
    payload: dict[str, object]
    kind: str
    template: str | None
    attempts: int
    last_inbound_at: datetime | None
    leased_until: datetime
    sent_ids: tuple[str, ...] = ()  # platform ids of parts delivered by earlier attempts


def _first_waiting_query(now: datetime, channels: list[str]):  # type: ignore[no-untyped-def]
    """The first waiting message of each address (its id), in one pass over the queue.

    An earlier message holds the address back while it is being sent, is due, or waits for
    a retry; one scheduled for later and never tried (a reminder) does not.
    """
    waiting = or_(
        OutboxMessage.status == "sending",
        and_(
            OutboxMessage.status == "pending",
            or_(OutboxMessage.due_at <= now, OutboxMessage.attempts > 0),
        ),
    )
    return (
        select(func.min(OutboxMessage.id))
        .where(waiting, OutboxMessage.channel.in_(channels))
        .group_by(OutboxMessage.channel, OutboxMessage.address)
    )


def _claim_query(now: datetime, ids: list[int], batch: int):  # type: ignore[no-untyped-def]
    """Of those first messages, the due ones not taken by another worker, best priority first.

    Two statements rather than one with `id IN (subquery)`: right after a burst, before the
    table has statistics, PostgreSQL planned the single statement as a nested loop that
    re-ran the aggregate per row (10 s per claim behind 12,000 waiting replies).
    """
    due = or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.leased_until < now),
    )
    return (
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), due)
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.due_at, OutboxMessage.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )


class OutboxWorker:
    """Sends what is due through the configured channels, paced and retried."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        pacers: Mapping[str, Pacer],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 50,
        lease: timedelta = timedelta(seconds=60),
        idle_wait: float = 0.5,
    ) -> None:
        self.db = db
        self.channels = dict(channels)
        self.pacers = dict(pacers)
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.idle_wait = idle_wait
        self.stats = WorkerStats()
        self.wake = asyncio.Event()
        self._stopping = False

    async def run(self) -> None:
        """Send until `stop()`; a batch in flight is always finished and recorded."""
        while not self._stopping:
            try:
                done = await self.run_once()
            except Exception:
                log.exception("outbox round failed; trying again shortly")
                done = 0
            if done == 0 and not self._stopping:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.idle_wait)

    def stop(self) -> None:
        """Finish the current batch, then return from `run()`."""
        self._stopping = True
        self.wake.set()

    async def run_once(self) -> int:
        """Claim one batch of due messages, send them, record the results; returns how many."""
        if not self.channels:
            return 0
        jobs = await self._claim()
        if jobs:
            results = await asyncio.gather(*(self._send(job) for job in jobs))
            await self._record(list(zip(jobs, results, strict=True)))
        return len(jobs)

    async def _claim(self) -> list[_Job]:
        now = self.clock()
        async with self.db.uow() as uow:
            firsts = list(await uow.session.scalars(_first_waiting_query(now, list(self.channels))))
            if not firsts:
                return []
            # Bound the statement's parameters; beyond that many addresses, the oldest first.
            firsts = sorted(firsts)[:MAX_ADDRESSES_PER_CLAIM]
            rows = list(await uow.session.scalars(_claim_query(now, firsts, self.batch)))
            if not rows:
                return []
            seen: set[tuple[str, str]] = set()
            chosen = []
            for row in rows:  # SQLite has no SKIP LOCKED: keep one per address here too
                key = (row.channel, row.address)
                if key not in seen:
                    seen.add(key)
                    chosen.append(row)
            windows = await self._last_inbound(uow, chosen)
            lease_end = now + self.lease
            jobs = []
            for row in chosen:
                row.status = "sending"
                row.leased_until = lease_end
                row.attempts += 1
                jobs.append(
                    _Job(
                        id=row.id,
                        channel=row.channel,
                        address=row.address,
                        payload=dict(row.payload),
                        kind=row.kind,
                        template=row.template,
                        attempts=row.attempts,
                        last_inbound_at=windows.get((row.channel, row.address)),
                        leased_until=lease_end,
                        sent_ids=tuple(str(i) for i in row.provider_ids or ()),
                    )
                )
            await uow.commit()
        return jobs

    @staticmethod
    async def _last_inbound(
        uow: UnitOfWork, rows: list[OutboxMessage]
    ) -> dict[tuple[str, str], datetime | None]:
        addresses = {row.address for row in rows}
        found = await uow.session.execute(
            select(Conversation.channel, Conversation.user_ref, Conversation.last_inbound_at).where(
                Conversation.user_ref.in_(addresses)
            )
        )
        return {(channel, ref): last for channel, ref, last in found}

    async def _send(self, job: _Job) -> SendResult | None:
        """The send's result; None when not sent because the lease ran out in the pacer."""
        channel = self.channels[job.channel]
        pacer = self.pacers.get(job.channel)
        if pacer is not None:
            await pacer.acquire(job.address)
            if self.clock() >= job.leased_until:
                # Another worker may have taken the message by now: sending would repeat it.
                log.warning("outbox %d waited past its lease for %s; not sent", job.id, job.channel)
                return None
        meta = job.payload.get("meta")
        context = SendContext(
            kind=job.kind,
            template=job.template,
            template_vars=dict(meta.get("template_vars", {})) if isinstance(meta, dict) else {},
            last_inbound_at=job.last_inbound_at,
            parts_sent=len(job.sent_ids),
        )
        try:
            return await channel.send(job.address, Outbound.from_json(job.payload), context)
        except Exception as exc:  # a channel bug must not lose the message
            log.exception("send through %s failed unexpectedly", job.channel)
            return SendResult(Outcome.RETRY, error=f"{type(exc).__name__}")

    async def _record(self, results: list[tuple[_Job, SendResult | None]]) -> None:
        now = self.clock()
        delivered: set[tuple[str, str]] = set()
        async with self.db.uow() as uow:
            for job, result in results:
                # Only while the row is still this worker's claim: after its lease ran out
                # another worker may have claimed it again (counting one more attempt).
                still_mine = and_(
                    OutboxMessage.id == job.id,
                    OutboxMessage.status == "sending",
                    OutboxMessage.attempts == job.attempts,
                )
                if result is None:  # not sent: give the claim back as it was
                    await uow.session.execute(
                        update(OutboxMessage)
                        .where(still_mine)
                        .values(status="pending", attempts=job.attempts - 1, leased_until=None)
                    )
                    continue
                values: dict[str, object] = {"leased_until": None}
                if result.provider_ids:
                    # Kept on failures too, so a retry sends only the parts still missing.
                    values["provider_ids"] = [*job.sent_ids, *result.provider_ids]
                    for provider_id in dict.fromkeys(result.provider_ids):
                        await _link_provider_id(uow, provider_id, job.id)
                if result.outcome == Outcome.SENT:
                    values.update(status="sent", sent_at=now)
                    delivered.add((job.channel, job.address))
                    self.stats.count(self.stats.sent, job.channel)
                elif result.outcome == Outcome.RETRY and job.attempts < MAX_ATTEMPTS:
                    wait = backoff(job.attempts)
                    if result.retry_after is not None:
                        wait = max(wait, timedelta(seconds=result.retry_after))
                    values.update(status="pending", due_at=now + wait, last_error=_error(result))
                    self.stats.count(self.stats.retried, job.channel)
                elif result.outcome == Outcome.NEEDS_TEMPLATE:
                    values.update(status="needs_template", last_error=_error(result))
                    self.stats.count(self.stats.held, job.channel)
                else:
                    values.update(status="failed", last_error=_error(result) or "")
                    self.stats.count(self.stats.failed, job.channel)
                if result.unreachable:
                    await uow.session.execute(
                        update(ChannelIdentity)
                        .where(
                            ChannelIdentity.channel == job.channel,
                            ChannelIdentity.address == job.address,
                        )
                        .values(reachable=False)
                    )
                    # Nothing more can reach this person here: stop the queue behind it.
                    await uow.session.execute(
                        update(OutboxMessage)
                        .where(
                            OutboxMessage.channel == job.channel,
                            OutboxMessage.address == job.address,
                            OutboxMessage.status == "pending",
                        )
                        .values(status="failed", last_error="unreachable")
                    )
                recorded = await uow.session.execute(
                    update(OutboxMessage).where(still_mine).values(**values)
                )
                if cast("CursorResult[Any]", recorded).rowcount == 0:
                    log.warning(
                        "outbox %d was claimed again while %s sent it; not recorded here",
                        job.id,
                        job.channel,
                    )
            if delivered:
                # A message got through (e.g. an admin's retry after the person unblocked the
                # bot): the person is reachable there again.
                await uow.session.execute(
                    update(ChannelIdentity)
                    .where(
                        ChannelIdentity.reachable.is_(False),
                        tuple_(ChannelIdentity.channel, ChannelIdentity.address).in_(
                            sorted(delivered)
                        ),
                    )
                    .values(reachable=True)
                )
            await uow.commit()


def _error(result: SendResult) -> str | None:
    """The result's error, cut to the column (a longer one would fail the whole record)."""
    return None if result.error is None else result.error[:ERROR_LIMIT]


async def _link_provider_id(uow: UnitOfWork, provider_id: str, outbox_id: int) -> None:
    """Map a platform id to its outbox row; an id seen before now names the newer message.

    Telegram's message ids are unique within a chat only, so two chats get the same ids:
    a plain insert would fail the whole batch's record (and the batch would be sent again).
    """
    insert = sqlite_insert if uow.dialect == "sqlite" else postgresql_insert
    statement = insert(ProviderMessage).values(provider_id=provider_id, outbox_id=outbox_id)
    await uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=[ProviderMessage.provider_id],
            set_={"outbox_id": statement.excluded.outbox_id},
        )
    )


async def record_delivery(db: Database, provider_id: str, status: str) -> bool:
    """Note a delivery status callback (sent, delivered, read, failed...) for a message."""
    async with db.uow() as uow:
        outbox_id = await uow.session.scalar(
            select(ProviderMessage.outbox_id).where(ProviderMessage.provider_id == provider_id)
        )
        if outbox_id is None:
            return False
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(delivery_status=status[:20])
        )
        await uow.commit()
    return True
