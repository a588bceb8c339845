"""Recording a send's result: sent, retried with backoff, held, or failed for good.

The result is recorded in its own short transaction as soon as that one send returns
(never after a whole batch): sent (with the platform's ids), retry later (capped
exponential backoff, or the platform's own `retry_after`, for `retry_for` in all), failed
for good (the person may be marked unreachable), or held as "needs template". Delivery
status callbacks are matched to their row by the platform's message id.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Insert, Update, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.channels.base import Outcome, SendResult
from bot.outbox.claim import Job
from core.db import Database
from core.models import ChannelIdentity, OutboxMessage, ProviderMessage
from core.states import OutboxStatus
from core.uow import UnitOfWork

log = logging.getLogger("psv.worker")

BASE_BACKOFF = timedelta(seconds=2)
MAX_BACKOFF = timedelta(seconds=60)  # a platform back from an outage is used within a minute
RETRY_FOR = timedelta(hours=2)  # default of PSV_OUTBOX_RETRY_SECONDS
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


async def record(
    db: Database,
    job: Job,
    result: SendResult | None,
    *,
    now: datetime,
    max_attempts: int,
    stats: WorkerStats,
) -> None:
    """Record one send's result in its own short transaction (counted once committed)."""
    mine = {"job_id": job.id, "job_attempts": job.attempts}
    async with db.uow() as uow:
        if result is None:  # not sent: give the claim back as it was
            values: dict[str, object] = {
                "status": OutboxStatus.PENDING,
                "attempts": job.attempts - 1,
                "leased_until": None,
            }
            await uow.session.execute(_recording(frozenset(values)), {**values, **mine})
            await uow.commit()
            return
        values = {"leased_until": None}
        if result.provider_ids:
            # Kept on failures too, so a retry sends only the parts still missing.
            values["provider_ids"] = [*job.sent_ids, *result.provider_ids]
            await _link_provider_ids(uow, list(dict.fromkeys(result.provider_ids)), job.id)
        bucket = stats.failed
        if result.outcome == Outcome.SENT:
            values.update(status=OutboxStatus.SENT, sent_at=now)
            bucket = stats.sent
        elif result.outcome == Outcome.RETRY and job.attempts < max_attempts:
            wait = backoff(job.attempts)
            if result.retry_after is not None:
                wait = max(wait, timedelta(seconds=result.retry_after))
            values.update(status=OutboxStatus.PENDING, due_at=now + wait, last_error=_error(result))
            bucket = stats.retried
        elif result.outcome == Outcome.NEEDS_TEMPLATE:
            values.update(status=OutboxStatus.NEEDS_TEMPLATE, last_error=_error(result))
            bucket = stats.held
        else:
            values.update(status=OutboxStatus.FAILED, last_error=_error(result) or "")
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
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
                .values(status=OutboxStatus.FAILED, last_error="unreachable")
            )
        recorded = await uow.session.execute(_recording(frozenset(values)), {**values, **mine})
        if cast("CursorResult[Any]", recorded).rowcount == 0:
            await _not_mine(uow, job)
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
    stats.count(bucket, job.channel)


async def _not_mine(uow: UnitOfWork, job: Job) -> None:
    """Nothing matched: recorded already (a commit whose answer was lost) or claimed again."""
    current = await uow.session.execute(
        select(OutboxMessage.status, OutboxMessage.attempts).where(OutboxMessage.id == job.id)
    )
    found = current.first()
    if (
        found is not None
        and found.attempts == job.attempts
        and found.status != OutboxStatus.SENDING
    ):
        return  # this very result was recorded by an earlier try
    log.warning(
        "outbox %d was claimed again while %s sent it; not recorded here", job.id, job.channel
    )


def _error(result: SendResult) -> str | None:
    """The result's error, cut to the column (a longer one would fail the whole record)."""
    return None if result.error is None else result.error[:ERROR_LIMIT]


@functools.cache
def _recording(columns: frozenset[str]) -> Update:
    """The UPDATE that records a result setting these columns, while the claim is still ours.

    Built once per set of columns and reused with new values: building the statement for
    every message cost the worker more CPU than running it (bench/bench_outbox.py).
    """
    # Only while the row is still this worker's claim: after its lease ran out another
    # worker may have claimed it again (counting one more attempt).
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.id == bindparam("job_id"),
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.attempts == bindparam("job_attempts"),
        )
        .values({name: bindparam(name) for name in sorted(columns)})
    )


@functools.cache
def _linking(dialect: str) -> Insert:
    """The INSERT mapping a platform id to its outbox row (the newer row wins a clash)."""
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    statement = insert(ProviderMessage).values(
        provider_id=bindparam("provider_id"), outbox_id=bindparam("outbox_id")
    )
    return statement.on_conflict_do_update(
        index_elements=[ProviderMessage.provider_id],
        set_={"outbox_id": statement.excluded.outbox_id},
    )


async def _link_provider_ids(uow: UnitOfWork, provider_ids: list[str], outbox_id: int) -> None:
    """Map platform ids to their outbox row; an id seen before now names the newer message.

    Telegram's message ids are unique within a chat only, so two chats get the same ids:
    a plain insert would fail the whole batch's record (and the batch would be sent again).
    """
    await uow.session.execute(
        _linking(uow.dialect),
        [{"provider_id": provider_id, "outbox_id": outbox_id} for provider_id in provider_ids],
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
