"""The outbox worker: claims due messages, sends them through their channel, records results.

A message is claimed by leasing it (status "sending", `leased_until`) in a short
transaction with `FOR UPDATE SKIP LOCKED`, so several workers on several hosts never take
the same row. Only the oldest unsent message of each address is claimed, so a person's
messages go in order, one at a time (a message scheduled for later and not tried yet does not
hold back the ones due now). After the send, the result is recorded in another
short transaction as soon as that one send returns (never after a whole batch): sent
(with the platform's ids), retry later (capped exponential backoff, or the platform's own
`retry_after`, for `retry_for` in all), failed for good (the person may be marked
unreachable), or held as "needs template".

`run()` keeps up to `batch` sends in flight and claims again as soon as one ends, so a
chat waiting for its pacer holds back only itself, never another chat's messages.

The one window no system closes: a crash after the platform accepted a message and
before the worker recorded it. The row stays "sending" until its lease ends, and is then
sent again (at least once, never lost). The record is written right after the send, so
the window is the length of one database commit. A worker that sent a message and could
not record it (the database is down) keeps the result in memory and records it when the
database answers again, before it claims anything, instead of sending it twice. A worker
with a name tags its leases (see `lease_tag`), so when it restarts it takes back at once
the messages its previous life was sending instead of leaving those chats silent for a
whole lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.channels.base import Channel, Outcome, SendContext, SendResult
from bot.messages import Outbound
from bot.outage import DatabaseWatch
from bot.pacing import Pacer
from core.db import Database
from core.models import ChannelIdentity, Conversation, OutboxMessage, ProviderMessage
from core.types import utcnow
from core.uow import UnitOfWork

log = logging.getLogger("psv.worker")

BASE_BACKOFF = timedelta(seconds=2)
MAX_BACKOFF = timedelta(seconds=60)  # a platform back from an outage is used within a minute
RETRY_FOR = timedelta(hours=2)  # default of PSV_OUTBOX_RETRY_SECONDS
CLAIM_INTERVAL_S = 0.05  # while sends are in flight, claim at most this often
KEEP_TRIES = 3  # a kept result failing this often while the database answers is dropped
MAX_ADDRESSES_PER_CLAIM = 10_000  # well under asyncpg's 32,767 parameters per statement
ERROR_LIMIT = 300  # characters of OutboxMessage.last_error


def backoff(attempts: int) -> timedelta:
    """How long to wait before try number `attempts + 1` (2 s, 4 s, 8 s ... 60 s)."""
    wait: timedelta = BASE_BACKOFF * 2 ** min(20, max(0, attempts - 1))
    return min(MAX_BACKOFF, wait)


def attempts_for(retry_for: timedelta) -> int:
    """How many tries a transient failure gets: enough for their backoffs to cover `retry_for`.

    The table has no "first tried at" column, so the time bound is kept as a count: the
    backoffs alone add up to `retry_for`, and a platform's longer `retry_after` only
    stretches it (a message is retried at least that long, never less).
    """
    total, attempts = timedelta(0), 1
    while total < retry_for:
        total += backoff(attempts)
        attempts += 1
    return attempts


def lease_tag(name: str) -> int:
    """This worker's mark in the microseconds of its lease ends (1..999,983), from its name.

    The identity is the host name plus the configured worker name, stable across restarts.
    A lease end is precise to the second only; its microseconds carry the tag, so a restarted
    worker recognises the leases of its previous life without another column.
    """
    identity = f"{socket.gethostname()}/{name}"
    return zlib.crc32(identity.encode()) % 999_983 + 1


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
    unreachable: bool = False  # the person was marked unreachable here when claimed


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


def _claim_query(  # type: ignore[no-untyped-def]
    now: datetime, ids: list[int], batch: int, own: list[int]
):
    """Of those first messages, the due ones not taken by another worker, best priority first.

    `own` are messages this worker was sending when it last stopped (leases with its tag):
    taken back at once, lease or not. Two statements rather than one with `id IN
    (subquery)`: right after a burst, before the table has statistics, PostgreSQL planned
    the single statement as a nested loop that re-ran the aggregate per row (10 s per claim
    behind 12,000 waiting replies).
    """
    due = or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.leased_until < now),
    )
    if own:
        due = or_(due, and_(OutboxMessage.status == "sending", OutboxMessage.id.in_(own)))
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
        retry_for: timedelta = RETRY_FOR,
        name: str | None = None,
        watch: DatabaseWatch | None = None,
    ) -> None:
        self.db = db
        self.channels = dict(channels)
        self.pacers = dict(pacers)
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.idle_wait = idle_wait
        self.max_attempts = attempts_for(retry_for)
        self.tag = None if name is None else lease_tag(name)
        self.watch = watch or DatabaseWatch(db)
        self.stats = WorkerStats()
        self.wake = asyncio.Event()
        # Sent (or tried) but not recorded: the database did not answer. Recorded first thing
        # when it answers again; never sent a second time by this worker.
        self.unrecorded: list[tuple[_Job, SendResult | None]] = []
        self._record_failures: dict[int, int] = {}
        self._reclaim: set[int] | None = None  # own leases of a previous life, found once
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._stopping = False

    # ---- the loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Send until `stop()`; every send in flight is finished and recorded (or kept)."""
        try:
            while not self._stopping:
                self.wake.clear()
                try:
                    claimed = await self._fill()
                except Exception as exc:
                    await self._trouble(exc, "outbox round failed; trying again shortly")
                    claimed = 0
                if self._stopping:
                    break
                if claimed and len(self._in_flight) < self.batch:
                    await asyncio.sleep(CLAIM_INTERVAL_S)  # more may be due: claim again soon
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.idle_wait)
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            await self._flush_before_exit()

    def stop(self) -> None:
        """Finish the sends in flight, record them, then return from `run()`."""
        self._stopping = True
        self.wake.set()

    async def run_once(self) -> int:
        """Record what was kept, claim one batch, send each and record it as it returns."""
        if not self.channels:
            return 0
        await self.flush()
        jobs = await self._claim(self.batch)
        if jobs:
            await asyncio.gather(*(self._deliver(job) for job in jobs))
        return len(jobs)

    async def _fill(self) -> int:
        """Claim as many as there is room for and start sending each on its own."""
        if not self.channels:
            return 0
        await self.flush()
        room = self.batch - len(self._in_flight)
        if room <= 0:
            return 0
        jobs = await self._claim(room)
        self.watch.answered()
        for job in jobs:
            task = asyncio.create_task(self._deliver(job))
            self._in_flight[job.id] = task
            task.add_done_callback(functools.partial(self._finished, job.id))
        return len(jobs)

    def _finished(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(job_id, None)
        self.wake.set()  # that chat's next message may be due now

    async def _deliver(self, job: _Job) -> None:
        """Send one message and record its result at once (or keep it if that fails)."""
        result = await self._send(job)
        try:
            await self._record(job, result)
        except Exception as exc:
            self.unrecorded.append((job, result))
            self.wake.set()
            await self._trouble(exc, f"could not record outbox {job.id}; kept to record later")

    async def flush(self) -> int:
        """Record the results kept while the database was down; raises if it still is.

        A result that fails to record while the database answers (a bug, not an outage) is
        tried `KEEP_TRIES` times, then dropped with its traceback: its row goes out again
        after its lease, rather than this worker stopping for good.
        """
        done = 0
        while self.unrecorded:
            job, result = self.unrecorded[0]
            try:
                await self._record(job, result)
            except Exception as exc:
                if await self.watch.is_outage(exc):
                    raise
                self._record_failures[job.id] = self._record_failures.get(job.id, 0) + 1
                if self._record_failures[job.id] < KEEP_TRIES:
                    raise
                log.error("could not record outbox %d; dropped", job.id, exc_info=exc)
            self._record_failures.pop(job.id, None)
            self.unrecorded.pop(0)
            done += 1
        if done:
            self.watch.answered()
            log.info("recorded %d outbox results kept while the database was down", done)
        return done

    async def _flush_before_exit(self) -> None:
        for _ in range(3):
            try:
                await self.flush()
                return
            except Exception:
                await asyncio.sleep(1)
        if self.unrecorded:
            # Their leases will run out and they will be sent again: say which.
            log.error(
                "stopping with %d sent messages not recorded (outbox ids %s)",
                len(self.unrecorded),
                ", ".join(str(job.id) for job, _ in self.unrecorded),
            )

    async def _trouble(self, error: Exception, what: str) -> None:
        """One warning per database outage; a failure while the database answers is a bug."""
        if await self.watch.is_outage(error):
            return
        log.error(what, exc_info=error)

    # ---- claiming ---------------------------------------------------------------------

    async def _claim(self, limit: int) -> list[_Job]:
        now = self.clock()
        async with self.db.uow() as uow:
            if self._reclaim is None:
                self._reclaim = await self._own_leases(uow, now)
            firsts = list(await uow.session.scalars(_first_waiting_query(now, list(self.channels))))
            # A message this worker is still sending (past its lease or not) is not claimed again.
            firsts = [i for i in firsts if i not in self._in_flight]
            if not firsts:
                return []
            # Bound the statement's parameters; beyond that many addresses, the oldest first.
            firsts = sorted(firsts)[:MAX_ADDRESSES_PER_CLAIM]
            own = sorted(self._reclaim)[:MAX_ADDRESSES_PER_CLAIM]
            rows = list(await uow.session.scalars(_claim_query(now, firsts, limit, own)))
            if not rows:
                self._reclaim.clear()
                return []
            seen: set[tuple[str, str]] = set()
            chosen = []
            for row in rows:  # SQLite has no SKIP LOCKED: keep one per address here too
                key = (row.channel, row.address)
                if key not in seen:
                    seen.add(key)
                    chosen.append(row)
            windows = await self._last_inbound(uow, chosen)
            blocked = await self._unreachable(uow, chosen)
            lease_end = now + self.lease
            if self.tag is not None:
                lease_end = lease_end.replace(microsecond=self.tag)
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
                        unreachable=(row.channel, row.address) in blocked,
                    )
                )
            await uow.commit()
        taken = {job.id for job in jobs}
        if taken & self._reclaim:
            log.info(
                "took back %d messages this worker was sending before it restarted",
                len(taken & self._reclaim),
            )
        self._reclaim = set() if len(rows) < limit else self._reclaim - taken
        return jobs

    async def _own_leases(self, uow: UnitOfWork, now: datetime) -> set[int]:
        """Messages "sending" under a live lease with this worker's tag: its previous life's."""
        if self.tag is None:
            return set()
        found = await uow.session.execute(
            select(OutboxMessage.id, OutboxMessage.leased_until).where(
                OutboxMessage.status == "sending",
                OutboxMessage.leased_until >= now,
                OutboxMessage.channel.in_(list(self.channels)),
            )
        )
        return {
            outbox_id
            for outbox_id, until in found
            if until is not None and until.microsecond == self.tag
        }

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

    @staticmethod
    async def _unreachable(uow: UnitOfWork, rows: list[OutboxMessage]) -> set[tuple[str, str]]:
        addresses = {row.address for row in rows}
        found = await uow.session.execute(
            select(ChannelIdentity.channel, ChannelIdentity.address).where(
                ChannelIdentity.address.in_(addresses), ChannelIdentity.reachable.is_(False)
            )
        )
        return {(channel, address) for channel, address in found}

    # ---- sending and recording ----------------------------------------------------------

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

    async def _record(self, job: _Job, result: SendResult | None) -> None:
        """Record one send's result in its own short transaction (counted once committed)."""
        now = self.clock()
        # Only while the row is still this worker's claim: after its lease ran out another
        # worker may have claimed it again (counting one more attempt).
        still_mine = and_(
            OutboxMessage.id == job.id,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == job.attempts,
        )
        async with self.db.uow() as uow:
            if result is None:  # not sent: give the claim back as it was
                await uow.session.execute(
                    update(OutboxMessage)
                    .where(still_mine)
                    .values(status="pending", attempts=job.attempts - 1, leased_until=None)
                )
                await uow.commit()
                return
            values: dict[str, object] = {"leased_until": None}
            if result.provider_ids:
                # Kept on failures too, so a retry sends only the parts still missing.
                values["provider_ids"] = [*job.sent_ids, *result.provider_ids]
                for provider_id in dict.fromkeys(result.provider_ids):
                    await _link_provider_id(uow, provider_id, job.id)
            bucket = self.stats.failed
            if result.outcome == Outcome.SENT:
                values.update(status="sent", sent_at=now)
                bucket = self.stats.sent
            elif result.outcome == Outcome.RETRY and job.attempts < self.max_attempts:
                wait = backoff(job.attempts)
                if result.retry_after is not None:
                    wait = max(wait, timedelta(seconds=result.retry_after))
                values.update(status="pending", due_at=now + wait, last_error=_error(result))
                bucket = self.stats.retried
            elif result.outcome == Outcome.NEEDS_TEMPLATE:
                values.update(status="needs_template", last_error=_error(result))
                bucket = self.stats.held
            else:
                values.update(status="failed", last_error=_error(result) or "")
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
                await self._not_mine(uow, job)
                return
            if result.outcome == Outcome.SENT and job.unreachable:
                # A message got through (e.g. an admin's retry after the person unblocked the
                # bot): the person is reachable there again. (Asked at the claim, so the usual
                # record is one statement shorter: the window before it commits is shorter.)
                await uow.session.execute(
                    update(ChannelIdentity)
                    .where(
                        ChannelIdentity.reachable.is_(False),
                        ChannelIdentity.channel == job.channel,
                        ChannelIdentity.address == job.address,
                    )
                    .values(reachable=True)
                )
            await uow.commit()
        self.stats.count(bucket, job.channel)

    async def _not_mine(self, uow: UnitOfWork, job: _Job) -> None:
        """Nothing matched: recorded already (a commit whose answer was lost) or claimed again."""
        current = await uow.session.execute(
            select(OutboxMessage.status, OutboxMessage.attempts).where(OutboxMessage.id == job.id)
        )
        found = current.first()
        if found is not None and found.attempts == job.attempts and found.status != "sending":
            return  # this very result was recorded by an earlier try
        log.warning(
            "outbox %d was claimed again while %s sent it; not recorded here", job.id, job.channel
        )


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
