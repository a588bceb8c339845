"""The outbox worker: claims due messages, sends them through their channel, records results.

Claiming (leases, one message per address at a time) is `bot/outbox/claim.py`; recording a
result (sent, retried, held, failed) is `bot/outbox/record.py`. This module is the loop.

`run()` keeps up to `batch` sends in flight and claims again as soon as one ends, so a
chat waiting for its pacer holds back only itself, never another chat's messages.

The one window no system closes: a crash after the platform accepted a message and
before the worker recorded it. The row stays "sending" until its lease ends, and is then
sent again (at least once, never lost). The record is written right after the send, so
the window is the length of one database commit. A worker that sent a message and could
not record it (the database is down) keeps the result in memory and records it when the
database answers again, before it claims anything, instead of sending it twice. A worker
with a name tags its leases (see `bot.outbox.claim.lease_tag`), so when it restarts it takes
back at once the messages its previous life was sending instead of leaving those chats
silent for a whole lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.channels.base import Channel, Outcome, SendContext, SendResult
from bot.messages import Outbound
from bot.outage import DatabaseWatch
from bot.outbox.claim import Job, claim, lease_tag, own_leases
from bot.outbox.pacing import Pacer
from bot.outbox.record import (
    RETRY_FOR,
    WorkerStats,
    attempts_for,
    backoff,
    record,
    record_delivery,
)
from core.db import Database
from core.types import utcnow

log = logging.getLogger("psv.worker")

CLAIM_INTERVAL_S = 0.05  # while sends are in flight, claim at most this often
KEEP_TRIES = 3  # a kept result failing this often while the database answers is dropped


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
        self.unrecorded: list[tuple[Job, SendResult | None]] = []
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

    async def _deliver(self, job: Job) -> None:
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

    async def _claim(self, limit: int) -> list[Job]:
        now = self.clock()
        async with self.db.uow() as uow:
            if self._reclaim is None:
                self._reclaim = (
                    set()
                    if self.tag is None
                    else await own_leases(uow, now, self.tag, list(self.channels))
                )
            lease_end = now + self.lease
            if self.tag is not None:
                lease_end = lease_end.replace(microsecond=self.tag)
            jobs = await claim(
                uow,
                now=now,
                lease_end=lease_end,
                channels=list(self.channels),
                limit=limit,
                own=sorted(self._reclaim),
                busy=sorted(self._in_flight),  # still being sent here, past its lease or not
            )
            await uow.commit()
        taken = {job.id for job in jobs}
        if taken & self._reclaim:
            log.info(
                "took back %d messages this worker was sending before it restarted",
                len(taken & self._reclaim),
            )
        self._reclaim = set() if len(jobs) < limit else self._reclaim - taken
        return jobs

    # ---- sending and recording ----------------------------------------------------------

    async def _send(self, job: Job) -> SendResult | None:
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

    async def _record(self, job: Job, result: SendResult | None) -> None:
        """Record one send's result in its own short transaction (counted once committed)."""
        await record(
            self.db,
            job,
            result,
            now=self.clock(),
            max_attempts=self.max_attempts,
            stats=self.stats,
        )


__all__ = ["OutboxWorker", "WorkerStats", "attempts_for", "backoff", "record_delivery"]
