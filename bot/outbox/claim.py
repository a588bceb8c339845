"""Claiming outbox rows: which row of each address is next, and leasing it to one worker.

A message is claimed by leasing it (status "sending", `leased_until`) in a short
transaction with `FOR UPDATE SKIP LOCKED`, so several workers on several hosts never take
the same row. Only the oldest unsent message of each address is claimed, so a person's
messages go in order, one at a time (a message scheduled for later and not tried yet does not
hold back the ones due now). A worker with a name tags its leases (see `lease_tag`), so when
it restarts it takes back at once the messages its previous life was sending.
"""

from __future__ import annotations

import socket
import zlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from core.models import ChannelIdentity, Conversation, OutboxMessage
from core.states import OutboxStatus
from core.uow import UnitOfWork


def lease_tag(name: str) -> int:
    """This worker's mark in the microseconds of its lease ends (1..999,983), from its name.

    The identity is the host name plus the configured worker name, stable across restarts.
    A lease end is precise to the second only; its microseconds carry the tag, so a restarted
    worker recognises the leases of its previous life without another column.
    """
    identity = f"{socket.gethostname()}/{name}"
    return zlib.crc32(identity.encode()) % 999_983 + 1


@dataclass(frozen=True)
class Job:
    """One claimed message, with what its send needs to know."""

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


def first_waiting_query(now: datetime, channels: list[str]):  # type: ignore[no-untyped-def]
    """The first waiting message of each address (its id), in one pass over the queue.

    An earlier message holds the address back while it is being sent, is due, or waits for
    a retry; one scheduled for later and never tried (a reminder) does not.
    """
    waiting = or_(
        OutboxMessage.status == OutboxStatus.SENDING,
        and_(
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(OutboxMessage.due_at <= now, OutboxMessage.attempts > 0),
        ),
    )
    return (
        select(func.min(OutboxMessage.id))
        .where(waiting, OutboxMessage.channel.in_(channels))
        .group_by(OutboxMessage.channel, OutboxMessage.address)
    )


def claim_query(  # type: ignore[no-untyped-def]
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
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.leased_until < now),
    )
    if own:
        due = or_(
            due, and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.id.in_(own))
        )
    return (
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), due)
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.due_at, OutboxMessage.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )


async def own_leases(uow: UnitOfWork, now: datetime, tag: int, channels: list[str]) -> set[int]:
    """Messages "sending" under a live lease with this tag: a worker's previous life's."""
    found = await uow.session.execute(
        select(OutboxMessage.id, OutboxMessage.leased_until).where(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.leased_until >= now,
            OutboxMessage.channel.in_(channels),
        )
    )
    return {
        outbox_id for outbox_id, until in found if until is not None and until.microsecond == tag
    }


async def lease(uow: UnitOfWork, rows: list[OutboxMessage], lease_end: datetime) -> list[Job]:
    """Lease the claimed rows (one per address) until `lease_end`, counting the attempt."""
    seen: set[tuple[str, str]] = set()
    chosen = []
    for row in rows:  # SQLite has no SKIP LOCKED: keep one per address here too
        key = (row.channel, row.address)
        if key not in seen:
            seen.add(key)
            chosen.append(row)
    windows = await _last_inbound(uow, chosen)
    blocked = await _unreachable(uow, chosen)
    jobs = []
    for row in chosen:
        row.status = OutboxStatus.SENDING
        row.leased_until = lease_end
        row.attempts += 1
        jobs.append(
            Job(
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
    return jobs


async def _last_inbound(
    uow: UnitOfWork, rows: list[OutboxMessage]
) -> dict[tuple[str, str], datetime | None]:
    """When each row's person last wrote (the 24-hour window of WhatsApp)."""
    addresses = {row.address for row in rows}
    found = await uow.session.execute(
        select(Conversation.channel, Conversation.user_ref, Conversation.last_inbound_at).where(
            Conversation.user_ref.in_(addresses)
        )
    )
    return {(channel, ref): last for channel, ref, last in found}


async def _unreachable(uow: UnitOfWork, rows: list[OutboxMessage]) -> set[tuple[str, str]]:
    """The rows' addresses marked unreachable on their channel."""
    addresses = {row.address for row in rows}
    found = await uow.session.execute(
        select(ChannelIdentity.channel, ChannelIdentity.address).where(
            ChannelIdentity.address.in_(addresses), ChannelIdentity.reachable.is_(False)
        )
    )
    return {(channel, address) for channel, address in found}
