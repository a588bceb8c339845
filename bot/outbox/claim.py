"""Claiming outbox rows: which row of each address is next, and leasing it to one worker.

A message is claimed by leasing it (status "sending", `leased_until`) in a short
transaction with `FOR UPDATE SKIP LOCKED`, so several workers on several hosts never take
the same row. Only the oldest unsent message of each address is claimed, so a person's
messages go in order, one at a time (a message scheduled for later and not tried yet does not
hold back the ones due now). A worker with a name tags its leases (see `lease_tag`), so when
it restarts it takes back at once the messages its previous life was sending.
"""

from __future__ import annotations

import json
import socket
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, Row, String, bindparam, select, text
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

from core.models import ChannelIdentity, Conversation, OutboxMessage
from core.states import OutboxStatus
from core.types import UTCDateTime
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


# The claim, one statement per database: the due messages, best priority first, each the
# oldest unsent message of its address, leased (status "sending", `leased_until`, one more
# attempt) and returned. An older message holds its address back while it is being sent, is
# due, or waits for a retry; one scheduled for later and never tried (a reminder) does not.
# A message is due when pending and its time has come, or "sending" under a lease that ran
# out, or this worker's own lease from before it restarted (`:own`). Messages this worker is
# sending now (`:busy`) are not taken again, even past their lease.
#
# The statuses are literals so that both databases may walk the partial indexes of unsent
# rows (migration 0013): ix_outbox_claim_order in the order of the ORDER BY (no sort) and,
# per candidate, ix_outbox_waiting_address for an older unsent row of its address. OFFSET 0
# keeps PostgreSQL from turning that NOT EXISTS into a hash anti-join over every unsent row:
# statistics from a quiet hour would otherwise plan it so behind a burst. `due_at <= :now`
# holds for every claimable row (a lease is taken only once a message is due, and ends
# later), so it is repeated for the walk to test on the index before reading the row. SKIP
# LOCKED lets several workers claim at once without taking the same row; SQLite has one
# writer at a time and no row locks. PostgreSQL updates the picked rows through their
# primary key (`= ANY(ARRAY(...))`): as a join with the picked rows, stale statistics made
# it a hash join over a scan of the whole table, sent rows included. SQLite is told its
# indexes: with statistics it probed an address's older rows through ix_outbox_address,
# which holds every message ever sent to it.
_PICK = """
    SELECT o.id FROM outbox_message AS o{indexed}
    WHERE o.status IN ('{pending}', '{sending}')
      AND o.due_at <= :now
      AND {channels}
      AND (o.status = '{pending}' OR o.leased_until < :now OR {own})
      AND {busy}
      AND NOT EXISTS (
          SELECT 1 FROM outbox_message AS e{indexed_e}
          WHERE e.status IN ('{pending}', '{sending}')
            AND e.channel = o.channel AND e.address = o.address AND e.id < o.id
            AND (e.status = '{sending}' OR e.due_at <= :now OR e.attempts > 0){fence})
    ORDER BY o.priority DESC, o.due_at, o.id
    LIMIT :limit{lock}"""
_LEASE = """
SET status = '{sending}', leased_until = :lease_end, attempts = attempts + 1
{where}
RETURNING {m}id, {m}channel, {m}address, {m}payload, {m}kind, {m}template, {m}attempts,
          {m}provider_ids, {m}priority, {m}due_at
"""
_CLAIM_SQL = {
    # SQLite's RETURNING names the table's columns unqualified only
    "postgresql": "WITH picked AS ({pick})\nUPDATE outbox_message AS m" + _LEASE,
    "sqlite": "UPDATE outbox_message" + _LEASE,
}
_PARTS = {
    "postgresql": {
        "indexed": "",
        "indexed_e": "",
        "channels": "o.channel = ANY(CAST(:channels AS varchar[]))",
        "own": "o.id = ANY(CAST(:own AS integer[]))",
        "busy": "o.id <> ALL(CAST(:busy AS integer[]))",
        "fence": " OFFSET 0",
        "lock": " FOR UPDATE OF o SKIP LOCKED",
        "where": "WHERE m.id = ANY(ARRAY(SELECT id FROM picked))",
        "m": "m.",
    },
    "sqlite": {
        "indexed": " INDEXED BY ix_outbox_claim_order",
        "indexed_e": " INDEXED BY ix_outbox_waiting_address",
        "channels": "o.channel IN (SELECT value FROM json_each(:channels))",
        "own": "o.id IN (SELECT value FROM json_each(:own))",
        "busy": "o.id NOT IN (SELECT value FROM json_each(:busy))",
        "fence": "",
        "lock": "",
        "where": "WHERE id IN ({pick})",
        "m": "",
    },
}


# On PostgreSQL the claim's transaction first turns sorts off (for itself only). With
# statistics from a quiet hour (15 rows analysed, then 30,000 sent and 10,000 unsent rows of
# 2,000 addresses), the planner expected one candidate, walked ix_outbox_waiting_address
# (whose leading column the channel condition matches), probed all 9,950 unsent rows'
# addresses and sorted the 1,950 left: 41 ms. Without sorts it walks ix_outbox_claim_order
# in order and stops at the 50th: 50 probes, 0.4 ms for the pick, 1.8 ms with the lease.
# With fresh statistics it plans the same either way (2.0 ms). A bitmap scan would need a
# sort too, so this one setting covers it.
_SETTINGS = {
    "postgresql": (text("SELECT set_config('enable_sort', 'off', true)"),),
    "sqlite": (),
}


def _statement(dialect: str) -> TextualSelect:
    """The claim for one dialect, with its parameters' and result columns' types."""
    statuses = {"pending": OutboxStatus.PENDING.value, "sending": OutboxStatus.SENDING.value}
    parts = _PARTS[dialect]
    pick = _PICK.format(**parts, **statuses)
    where = parts["where"].format(pick=pick)
    sql = _CLAIM_SQL[dialect].format(pick=pick, where=where, m=parts["m"], **statuses)
    return (
        text(sql)
        .bindparams(
            bindparam("now", type_=UTCDateTime()),
            bindparam("lease_end", type_=UTCDateTime()),
        )
        .columns(
            id=Integer,
            channel=String,
            address=String,
            payload=JSON,
            kind=String,
            template=String,
            attempts=Integer,
            provider_ids=JSON,
            priority=Integer,
            due_at=UTCDateTime(),
        )
    )


_CLAIM = {dialect: _statement(dialect) for dialect in _PARTS}


def claim_statement(dialect: str) -> TextualSelect:
    """The statement that claims and leases due messages on this dialect (see `claim`)."""
    return _CLAIM[dialect]


def plan_settings(dialect: str) -> tuple[TextClause, ...]:
    """The statements that set up the claim's plan, run first in its transaction."""
    return _SETTINGS[dialect]


async def claim(
    uow: UnitOfWork,
    *,
    now: datetime,
    lease_end: datetime,
    channels: list[str],
    limit: int,
    own: list[int],
    busy: list[int],
) -> list[Job]:
    """Lease up to `limit` due messages (one per address) until `lease_end`, best first.

    `own` are messages this worker was sending when it last stopped (taken back at once,
    lease or not); `busy` are the ones it is sending now (never taken again).
    """
    lists: dict[str, object] = {"channels": channels, "own": own, "busy": busy}
    dialect = uow.dialect
    if dialect == "sqlite":
        lists = {name: json.dumps(value) for name, value in lists.items()}
    params = {"now": now, "lease_end": lease_end, "limit": limit, **lists}
    statement = claim_statement(dialect)
    for setting in plan_settings(dialect):
        await uow.session.execute(setting)
    rows = list(await uow.session.execute(statement, params))
    rows.sort(key=lambda row: (-row.priority, row.due_at, row.id))  # RETURNING has no order
    windows = await _last_inbound(uow, rows)
    blocked = await _unreachable(uow, rows)
    return [
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
        for row in rows
    ]


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


async def _last_inbound(
    uow: UnitOfWork, rows: list[Row[Any]]
) -> dict[tuple[str, str], datetime | None]:
    """When each row's person last wrote (the 24-hour window of WhatsApp)."""
    addresses = {row.address for row in rows}
    found = await uow.session.execute(
        select(Conversation.channel, Conversation.user_ref, Conversation.last_inbound_at).where(
            Conversation.user_ref.in_(addresses)
        )
    )
    return {(channel, ref): last for channel, ref, last in found}


async def _unreachable(uow: UnitOfWork, rows: list[Row[Any]]) -> set[tuple[str, str]]:
    """The rows' addresses marked unreachable on their channel."""
    addresses = {row.address for row in rows}
    found = await uow.session.execute(
        select(ChannelIdentity.channel, ChannelIdentity.address).where(
            ChannelIdentity.address.in_(addresses), ChannelIdentity.reachable.is_(False)
        )
    )
    return {(channel, address) for channel, address in found}
