"""The outbox worker against the real databases and the real TelegramChannel over HTTP.

Rows are written straight into `outbox_message`; the worker sends them through a
TelegramChannel talking to FakeTelegram. Where timing matters the worker runs on a
`Clock` the test moves by hand: nothing sleeps and nothing depends on wall time.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.channels.base import Channel, Outcome, SendContext, SendResult
from bot.channels.telegram import TelegramChannel
from bot.messages import Outbound
from bot.outbox.pacing import Pacer
from bot.outbox.worker import OutboxWorker, attempts_for, backoff, record_delivery
from core.db import Database
from core.models import ChannelIdentity, Citizen, OutboxMessage, ProviderMessage
from core.types import utcnow
from tests.conftest import reset
from tests.fakes.telegram_api import FakeTelegram, recorded

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
TOKEN = "123:abc"
REPLY, NOTIFICATION = 10, 0

# PTB itself reads RetryAfter.retry_after (deprecated int form) when it builds the error.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class Clock:
    """The worker's clock: stands still until the test moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --------------------------------------------------------------------------- fixtures


async def clean(database: Database) -> None:
    """conftest's reset, after the provider ids (not among its tables) that refer to rows."""
    async with database.engine.begin() as conn:
        await conn.execute(delete(ProviderMessage))
    await reset(database)


@pytest.fixture
async def db(database: Database) -> AsyncIterator[Database]:
    """Each backend, cleaned before and after (so later suites' reset finds no provider ids)."""
    await clean(database)
    yield database
    await clean(database)


@pytest.fixture
async def telegram(fake: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    channel = TelegramChannel(TOKEN, fake.url, timeout=10)
    yield channel
    await channel.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_worker(
    db: Database, channel: Channel, clock: Clock | None = None, **options: Any
) -> OutboxWorker:
    """A worker for the telegram channel (unpaced unless pacers are given)."""
    pacers: dict[str, Pacer] = options.pop("pacers", {})
    return OutboxWorker(db, {"telegram": channel}, pacers, clock=clock or Clock(), **options)


# --------------------------------------------------------------------------- helpers


async def add(
    db: Database,
    address: str,
    text: str,
    *,
    priority: int = REPLY,
    due_at: datetime = NOW,
    **fields: Any,
) -> int:
    """One outbox row for a Telegram chat; returns its id."""
    async with db.uow() as uow:
        row = OutboxMessage(
            channel="telegram",
            address=address,
            payload=Outbound(text).to_json(),
            priority=priority,
            due_at=due_at,
            **fields,
        )
        uow.session.add(row)
        await uow.session.flush()
        outbox_id = row.id
        await uow.commit()
    return outbox_id


async def add_many(db: Database, rows: Iterable[tuple[str, str]], due_at: datetime) -> list[int]:
    """Many rows (address, text) in one transaction, in the given order."""
    async with db.uow() as uow:
        made = [
            OutboxMessage(
                channel="telegram",
                address=address,
                payload=Outbound(text).to_json(),
                due_at=due_at,
            )
            for address, text in rows
        ]
        uow.session.add_all(made)
        await uow.session.flush()
        ids = [row.id for row in made]
        await uow.commit()
    return ids


async def outbox(db: Database) -> dict[int, OutboxMessage]:
    async with db.uow() as uow:
        rows = {row.id: row for row in await uow.session.scalars(select(OutboxMessage))}
        uow.session.expunge_all()  # keep them loaded past the unit of work's rollback
    return rows


async def row(db: Database, outbox_id: int) -> OutboxMessage:
    return (await outbox(db))[outbox_id]


async def provider_map(db: Database) -> dict[str, int]:
    async with db.uow() as uow:
        found = await uow.session.execute(
            select(ProviderMessage.provider_id, ProviderMessage.outbox_id)
        )
        return {pid: oid for pid, oid in found}


def sent(fake: FakeTelegram) -> list[tuple[str, str]]:
    """(chat id, text) of every sendMessage the platform received, in order."""
    return [(str(call["chat_id"]), str(call["text"])) for call in fake.calls_to("sendMessage")]


async def drain(worker: OutboxWorker, rounds: int = 50) -> int:
    """Run rounds until one finds nothing due; returns how many messages were handled."""
    total = 0
    for _ in range(rounds):
        done = await worker.run_once()
        if done == 0:
            return total
        total += done
    raise AssertionError(f"still finding due messages after {rounds} rounds")


async def add_identity(db: Database, address: str) -> None:
    async with db.uow() as uow:
        citizen = Citizen(name=f"Persona {address}")
        uow.session.add(citizen)
        await uow.session.flush()
        uow.session.add(ChannelIdentity(citizen_id=citizen.id, channel="telegram", address=address))
        await uow.commit()


async def reachable(db: Database) -> dict[str, bool]:
    async with db.uow() as uow:
        found = await uow.session.execute(
            select(ChannelIdentity.address, ChannelIdentity.reachable)
        )
        return {address: flag for address, flag in found}


def server_error(description: str = "Internal Server Error") -> dict[str, Any]:
    return {"ok": False, "error_code": 500, "description": description}


def flood(retry_after: int) -> dict[str, Any]:
    return {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


# --------------------------------------------------------------------------- 1. sending


async def test_due_messages_are_sent_once_in_order_and_recorded(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    a = [await add(db, "1001", f"a{n}") for n in range(3)]
    b = [await add(db, "1002", f"b{n}") for n in range(2)]
    later = await add(db, "1003", "later", due_at=NOW + timedelta(hours=1))
    worker = make_worker(db, telegram, clock)

    # One message per chat at a time: the first round takes the head of each queue.
    assert await worker.run_once() == 2
    assert sorted(sent(fake)) == [("1001", "a0"), ("1002", "b0")]
    assert await drain(worker) == 3

    calls = sent(fake)
    assert Counter(calls) == dict.fromkeys(
        [("1001", "a0"), ("1001", "a1"), ("1001", "a2"), ("1002", "b0"), ("1002", "b1")], 1
    )
    assert [text for chat, text in calls if chat == "1001"] == ["a0", "a1", "a2"]
    assert [text for chat, text in calls if chat == "1002"] == ["b0", "b1"]

    rows = await outbox(db)
    ids = await provider_map(db)
    for outbox_id in a + b:
        done = rows[outbox_id]
        assert done.status == "sent"
        assert done.sent_at == NOW
        assert done.attempts == 1
        assert done.leased_until is None
        assert len(done.provider_ids) == 1
        assert ids[done.provider_ids[0]] == outbox_id
    assert len(ids) == 5
    assert worker.stats.sent == {"telegram": 5}

    # Not due yet: left alone, untouched.
    assert rows[later].status == "pending"
    assert rows[later].attempts == 0
    assert ("1003", "later") not in calls

    clock.advance(hours=1)
    assert await drain(worker) == 1
    assert (await row(db, later)).status == "sent"
    assert sent(fake)[-1] == ("1003", "later")


async def test_a_long_message_is_one_row_with_all_its_parts(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    text = "\n\n".join(f"Párrafo {n}: " + "derechos laborales " * 60 for n in range(8))
    assert len(text) > 4096
    outbox_id = await add(db, "1001", text)
    await drain(make_worker(db, telegram, clock))
    done = await row(db, outbox_id)
    parts = fake.calls_to("sendMessage")
    assert len(parts) >= 2
    assert done.status == "sent"
    assert done.provider_ids == [str(n) for n in range(100, 100 + len(parts))]
    assert set((await provider_map(db)).values()) == {outbox_id}


async def test_a_scheduled_message_does_not_hold_back_the_chat(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    """A reminder queued for tomorrow must not block today's replies to the same chat."""
    reminder = await add(db, "1001", "recordatorio", due_at=NOW + timedelta(days=1))
    reply = await add(db, "1001", "respuesta")
    worker = make_worker(db, telegram, clock)
    assert await drain(worker) == 1
    assert sent(fake) == [("1001", "respuesta")]
    assert (await row(db, reply)).status == "sent"
    assert (await row(db, reminder)).status == "pending"
    clock.advance(days=1)
    assert await drain(worker) == 1
    assert sent(fake)[-1] == ("1001", "recordatorio")


async def test_paced_worker_sends_everything(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    """The production pacer (30/s, 1/s per chat with bursts of 3) in the loop."""
    await add_many(db, [(str(2000 + n % 5), f"m{n}") for n in range(15)], NOW)
    pacers = {"telegram": Pacer(30, 30, per_address=(1.0, 3.0))}
    assert await drain(make_worker(db, telegram, clock, pacers=pacers)) == 15
    assert len(sent(fake)) == 15


# --------------------------------------------------------------------------- 2. concurrency


@pytest.fixture
async def pg_workers_db(postgresql_db: Database, pg_url: str) -> AsyncIterator[list[Database]]:
    """Three separate Database objects (as three hosts) on the cleaned PostgreSQL database."""
    await clean(postgresql_db)
    dbs = [Database(pg_url, pool_size=5) for _ in range(3)]
    yield dbs
    for each in dbs:
        await each.dispose()
    await clean(postgresql_db)


@pytest.fixture
async def sqlite_workers_db(sqlite_db: Database) -> AsyncIterator[list[Database]]:
    """Two Database objects on the cleaned SQLite file (two processes, one file)."""
    await clean(sqlite_db)
    other = Database(sqlite_db.url)
    yield [sqlite_db, other]
    await other.dispose()
    await clean(sqlite_db)


async def _race(dbs: list[Database], fake: FakeTelegram, messages: int, chats: int) -> None:
    db = dbs[0]
    plan = [(str(5000 + n % chats), f"msg-{n:04d}") for n in range(messages)]
    await add_many(db, plan, utcnow() - timedelta(seconds=1))
    channels = [TelegramChannel(TOKEN, fake.url, timeout=10) for _ in dbs]
    workers = [
        OutboxWorker(each, {"telegram": channel}, {}, batch=7, idle_wait=0.01)
        for each, channel in zip(dbs, channels, strict=True)
    ]

    async def watch() -> None:
        while True:
            rows = (await outbox(db)).values()
            if all(r.status not in ("pending", "sending") for r in rows):
                break
            await asyncio.sleep(0.02)
        for worker in workers:
            worker.stop()

    try:
        await asyncio.wait_for(
            asyncio.gather(watch(), *(worker.run() for worker in workers)), timeout=60
        )
    finally:
        for channel in channels:
            await channel.close()

    texts = Counter(text for _, text in sent(fake))
    assert texts == {text: 1 for _, text in plan}, "each message reaches Telegram exactly once"
    rows = (await outbox(db)).values()
    assert Counter(r.status for r in rows) == {"sent": messages}
    assert all(r.attempts == 1 for r in rows)
    assert len(await provider_map(db)) == messages
    assert sum(sum(w.stats.sent.values()) for w in workers) == messages
    # Per chat, the platform received the messages in the order they were queued.
    per_chat: dict[str, list[str]] = defaultdict(list)
    for chat, text in sent(fake):
        per_chat[chat].append(text)
    for chat, texts_of_chat in per_chat.items():
        assert texts_of_chat == [text for address, text in plan if address == chat]


@pytest.mark.postgres
async def test_pg_three_workers_send_each_message_exactly_once(
    pg_workers_db: list[Database], fake: FakeTelegram
) -> None:
    await _race(pg_workers_db, fake, messages=150, chats=40)


async def test_sqlite_two_workers_send_each_message_exactly_once(
    sqlite_workers_db: list[Database], fake: FakeTelegram
) -> None:
    await _race(sqlite_workers_db, fake, messages=40, chats=12)


# --------------------------------------------------------------------------- 3. retries


async def test_server_errors_back_off_then_fail_after_max_attempts(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    outbox_id = await add(db, "1001", "hola")
    behind = await add(db, "1001", "detrás")
    other = await add(db, "1002", "otra persona")
    # Retried for 30 s of backoff in all (2 + 4 + 8 + 16): five tries.
    worker = make_worker(db, telegram, clock, retry_for=timedelta(seconds=30))
    max_attempts = worker.max_attempts
    assert max_attempts == 5
    fake.fail_next(500, server_error(), method="sendMessage")
    # Order the failure for chat 1001 only: 1002's head goes in the same round, so send alone.
    assert await make_worker(db, telegram, clock, batch=1).run_once() == 1

    retried = await row(db, outbox_id)
    assert retried.status == "pending"
    assert retried.attempts == 1
    assert retried.due_at == NOW + backoff(1)
    assert retried.leased_until is None
    assert retried.last_error
    # While it waits, the message behind it in the same chat waits too; other chats go on.
    assert await drain(worker) == 1
    assert (await row(db, other)).status == "sent"

    assert (await row(db, behind)).status == "pending"
    assert ("1001", "detrás") not in sent(fake)

    for attempt in range(2, max_attempts + 1):
        clock.now = (await row(db, outbox_id)).due_at
        fake.fail_next(500, server_error(), method="sendMessage")
        assert await worker.run_once() == 1
        current = await row(db, outbox_id)
        assert current.attempts == attempt
        if attempt < max_attempts:
            assert current.status == "pending"
            assert current.due_at == clock.now + backoff(attempt)
    assert current.status == "failed"
    assert current.due_at == clock.now  # a failure moves nothing
    assert worker.stats.failed == {"telegram": 1}
    assert [text for _, text in sent(fake)].count("hola") == max_attempts

    # A message given up on no longer holds back its chat.
    assert await drain(worker) == 1
    assert (await row(db, behind)).status == "sent"


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 6)] == [2, 4, 8, 16, 32]
    assert backoff(0) == backoff(1)
    assert backoff(40) == backoff(7) == timedelta(seconds=60)
    # The default keeps a message through two hours of outage: 2+4+...+32, then a minute each.
    assert attempts_for(timedelta(hours=2)) == 6 + 119


async def test_flood_control_waits_at_least_retry_after(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    outbox_id = await add(db, "1001", "hola")
    fake.fail_next(429, flood(7), method="sendMessage")
    worker = make_worker(db, telegram, clock)
    assert await worker.run_once() == 1
    waiting = await row(db, outbox_id)
    assert waiting.status == "pending"
    assert waiting.attempts == 1
    assert waiting.due_at >= NOW + timedelta(seconds=7)
    # Not before that, whatever the backoff alone would allow.
    clock.advance(seconds=6)
    assert await worker.run_once() == 0
    clock.advance(seconds=1)
    assert await worker.run_once() == 1
    assert (await row(db, outbox_id)).status == "sent"


async def test_recorded_flood_control_response(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    outbox_id = await add(db, "1001", "hola")
    fake.fail_next_recorded("error_429_retry_after", method="sendMessage")
    await make_worker(db, telegram, clock).run_once()
    retry_after = recorded("error_429_retry_after")["parameters"]["retry_after"]
    assert (await row(db, outbox_id)).due_at == NOW + timedelta(seconds=retry_after)


async def test_a_long_error_after_a_partial_send_is_recorded(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    """The error text is cut to the column: a long one must not break the batch's record."""
    text = "\n\n".join("Beneficios sociales " * 100 for _ in range(3))
    outbox_id = await add(db, "1001", text)
    other = await add(db, "1002", "otra persona")
    fake.fail_next(500, server_error("x" * 500), method="sendMessage", skip=1)
    worker = make_worker(db, telegram, clock)
    # Skip the other chat's send so the failure hits the second part of the long message.
    assert await make_worker(db, telegram, clock, batch=1).run_once() == 1
    partial = await row(db, outbox_id)
    assert partial.status == "pending"
    assert partial.leased_until is None
    assert partial.last_error is not None
    assert partial.last_error.startswith("sent 1 of")
    assert len(partial.last_error) <= 300
    assert await drain(worker) == 1
    assert (await row(db, other)).status == "sent"


async def test_a_retry_after_a_partial_send_sends_only_the_missing_parts(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    """Parts that went out stay sent: the citizen never reads the same part twice."""
    text = "\n\n".join(f"Parte {n}: " + "beneficios sociales " * 180 for n in range(1, 4))
    outbox_id = await add(db, "1001", text)
    fake.fail_next(500, method="sendMessage", skip=1)
    worker = make_worker(db, telegram, clock)
    assert await worker.run_once() == 1
    partial = await row(db, outbox_id)
    assert (partial.status, len(partial.provider_ids)) == ("pending", 1)
    clock.advance(minutes=10)
    assert await drain(worker) == 1
    done = await row(db, outbox_id)
    texts = [call["text"] for call in fake.calls_to("sendMessage")]
    assert done.status == "sent"
    assert len(done.provider_ids) == len(set(done.provider_ids)) == 3
    # Part 2 was tried twice (refused, then sent); part 1 went out once only.
    assert [t.split(":")[0] for t in texts] == ["Parte 1", "Parte 2", "Parte 2", "Parte 3"]


# --------------------------------------------------------------------------- 4. blocked


async def test_blocked_chat_fails_and_stops_its_queue_only(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    await add_identity(db, "3001")
    await add_identity(db, "3002")
    first = await add(db, "3001", "uno")
    queued = [
        await add(db, "3001", "dos"),
        await add(db, "3001", "más tarde", due_at=NOW + timedelta(hours=2), priority=0),
    ]
    # The other chat's messages are due a bit later, so the 403 surely hits 3001.
    others = [
        await add(db, "3002", f"otro {n}", due_at=NOW + timedelta(minutes=1)) for n in range(2)
    ]
    fake.fail_next_recorded("error_403_blocked", method="sendMessage")
    worker = make_worker(db, telegram, clock)
    assert await drain(worker) == 1

    blocked = await row(db, first)
    assert blocked.status == "failed"
    assert blocked.last_error is not None and "blocked" in blocked.last_error
    for outbox_id in queued:
        stopped = await row(db, outbox_id)
        assert stopped.status == "failed"
        assert stopped.last_error == "unreachable"
        assert stopped.attempts == 0
    assert await reachable(db) == {"3001": False, "3002": True}

    clock.advance(hours=3)
    assert await drain(worker) == 2
    rows = await outbox(db)
    assert [rows[outbox_id].status for outbox_id in others] == ["sent", "sent"]
    assert [chat for chat, _ in sent(fake)] == ["3001", "3002", "3002"]


async def test_a_message_that_gets_through_makes_the_person_reachable_again(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    """An admin's retry after the person unblocked the bot: reachable again on that chat."""
    await add_identity(db, "3001")
    first = await add(db, "3001", "uno")
    fake.fail_next_recorded("error_403_blocked", method="sendMessage")
    worker = make_worker(db, telegram, clock)
    await drain(worker)
    assert await reachable(db) == {"3001": False}
    async with db.uow() as uow:  # what `psv-admin outbox retry` does
        retried = await uow.session.get_one(OutboxMessage, first)
        retried.status, retried.attempts, retried.due_at = "pending", 0, clock.now
        await uow.commit()
    assert await drain(worker) == 1
    assert (await row(db, first)).status == "sent"
    assert await reachable(db) == {"3001": True}


# --------------------------------------------------------------------------- 5. priority


async def test_replies_go_before_bulk_notifications(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    bulk = [
        await add(
            db, str(4000 + n), f"aviso {n}", priority=NOTIFICATION, due_at=NOW - timedelta(hours=1)
        )
        for n in range(6)
    ]
    replies = [await add(db, str(4100 + n), f"respuesta {n}") for n in range(3)]
    worker = make_worker(db, telegram, clock, batch=3)
    assert await worker.run_once() == 3
    assert sorted(text for _, text in sent(fake)) == ["respuesta 0", "respuesta 1", "respuesta 2"]
    rows = await outbox(db)
    assert {rows[i].status for i in replies} == {"sent"}
    assert {rows[i].status for i in bulk} == {"pending"}
    # Then the notifications, oldest due first.
    assert await worker.run_once() == 3
    assert sorted(text for _, text in sent(fake)[3:]) == ["aviso 0", "aviso 1", "aviso 2"]
    assert await drain(worker) == 3


# --------------------------------------------------------------------------- 6. leases


async def test_expired_lease_is_sent_again_and_a_live_one_is_left_alone(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    crashed = await add(
        db, "6001", "de un trabajador caído", status="sending", attempts=1,
        leased_until=NOW - timedelta(seconds=1),
    )  # fmt: skip
    busy = await add(
        db, "6002", "en curso en otro trabajador", status="sending", attempts=1,
        leased_until=NOW + timedelta(seconds=30),
    )  # fmt: skip
    behind_busy = await add(db, "6002", "detrás del que está en curso")
    worker = make_worker(db, telegram, clock)

    assert await drain(worker) == 1
    assert sent(fake) == [("6001", "de un trabajador caído")]
    again = await row(db, crashed)
    assert again.status == "sent"
    assert again.attempts == 2
    untouched = await row(db, busy)
    assert untouched.status == "sending"
    assert untouched.attempts == 1
    assert untouched.leased_until == NOW + timedelta(seconds=30)
    assert (await row(db, behind_busy)).status == "pending"

    # The other worker died too: once its lease ends, the message and its follower go out.
    clock.advance(seconds=31)
    assert await drain(worker) == 2
    assert [text for chat, text in sent(fake) if chat == "6002"] == [
        "en curso en otro trabajador",
        "detrás del que está en curso",
    ]


async def test_claim_takes_a_lease_and_counts_the_attempt(db: Database, clock: Clock) -> None:
    """While the send is in flight the row is "sending" with a lease; no one else takes it."""
    outbox_id = await add(db, "6003", "lento")
    gate, started = asyncio.Event(), asyncio.Event()
    seen: list[OutboxMessage] = []

    class Slow:
        name = "telegram"

        async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
            seen.append(await row(db, outbox_id))
            started.set()
            await gate.wait()
            return SendResult(Outcome.SENT, ("slow-1",))

        async def close(self) -> None:
            return None

    worker = make_worker(db, Slow(), clock, lease=timedelta(seconds=45))
    task = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(started.wait(), timeout=10)
    assert seen[0].status == "sending"
    assert seen[0].leased_until == NOW + timedelta(seconds=45)
    assert seen[0].attempts == 1
    assert await make_worker(db, Slow(), clock).run_once() == 0
    gate.set()
    assert await task == 1
    assert (await row(db, outbox_id)).status == "sent"


class LongWait(Pacer):
    """A pacer that keeps the message waiting 90 s (of the worker's clock)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(1000, 1000)
        self.clock = clock

    async def acquire(self, address: str) -> None:
        self.clock.advance(seconds=90)


async def test_a_lease_that_runs_out_in_the_pacer_is_not_sent(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    """Sending after the lease ended could repeat a message another worker took meanwhile."""
    outbox_id = await add(db, "6004", "tarde")
    slow = make_worker(db, telegram, clock, lease=timedelta(seconds=60))
    slow.pacers = {"telegram": LongWait(clock)}
    assert await slow.run_once() == 1
    assert sent(fake) == []
    back = await row(db, outbox_id)
    assert back.status == "pending"
    assert back.attempts == 0  # it was never tried
    assert back.leased_until is None
    assert await make_worker(db, telegram, clock).run_once() == 1
    assert sent(fake) == [("6004", "tarde")]


async def test_a_worker_past_its_lease_does_not_overwrite_the_next_claim(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    """Worker A stalls past its lease, B sends the message, then A's late failure arrives."""
    outbox_id = await add(db, "6005", "una sola vez")
    gate, started = asyncio.Event(), asyncio.Event()

    class Stalled:
        name = "telegram"

        async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
            started.set()
            await gate.wait()
            return SendResult(Outcome.RETRY, error="TimedOut: timed out")

        async def close(self) -> None:
            return None

    stalled = make_worker(db, Stalled(), clock, lease=timedelta(seconds=30))
    first = asyncio.create_task(stalled.run_once())
    await asyncio.wait_for(started.wait(), timeout=10)
    clock.advance(seconds=31)
    assert await make_worker(db, telegram, clock).run_once() == 1
    gate.set()
    assert await first == 1

    done = await row(db, outbox_id)
    assert done.status == "sent"
    assert done.attempts == 2
    assert await drain(make_worker(db, telegram, clock)) == 0
    assert sent(fake) == [("6005", "una sola vez")]


# --------------------------------------------------------------------------- 7. delivery


async def test_record_delivery_by_provider_id(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    first = await add(db, "7001", "uno")
    second = await add(db, "7002", "dos")
    await drain(make_worker(db, telegram, clock))
    pid = (await row(db, first)).provider_ids[0]

    assert await record_delivery(db, pid, "delivered") is True
    assert (await row(db, first)).delivery_status == "delivered"
    assert (await row(db, second)).delivery_status is None
    assert await record_delivery(db, pid, "read") is True
    assert (await row(db, first)).delivery_status == "read"
    assert await record_delivery(db, pid, "x" * 40) is True  # cut to the column
    assert (await row(db, first)).delivery_status == "x" * 20

    assert await record_delivery(db, "SM-unknown", "delivered") is False
    assert (await row(db, second)).delivery_status is None


# --------------------------------------------------------------------------- 8. channel bugs


class Exploding:
    """A channel with a bug: every send raises."""

    name = "telegram"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
        self.calls += 1
        raise RuntimeError("boom")

    async def close(self) -> None:
        return None


async def test_a_channel_that_raises_does_not_lose_the_message(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    outbox_id = await add(db, "8001", "no se pierde")
    broken = Exploding()
    assert await make_worker(db, broken, clock).run_once() == 1
    assert broken.calls == 1
    kept = await row(db, outbox_id)
    assert kept.status == "pending"
    assert kept.attempts == 1
    assert kept.leased_until is None
    assert kept.last_error == "RuntimeError"
    assert kept.due_at == NOW + backoff(1)

    clock.advance(seconds=2)
    assert await make_worker(db, telegram, clock).run_once() == 1
    assert (await row(db, outbox_id)).status == "sent"
    assert sent(fake) == [("8001", "no se pierde")]


class PerChatIds:
    """Like Telegram: message ids count up per chat, so two chats get the same ids."""

    name = "telegram"

    def __init__(self) -> None:
        self.counters: dict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))

    async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
        return SendResult(Outcome.SENT, (str(next(self.counters[address])),))

    async def close(self) -> None:
        return None


async def test_provider_ids_repeated_across_chats_do_not_break_recording(
    db: Database, clock: Clock
) -> None:
    """Telegram message ids are unique per chat only: the same id in two chats is normal."""
    ids = [await add(db, chat, f"hola {chat}") for chat in ("9001", "9002", "9003")]
    later = await add(db, "9001", "otra vez")
    worker = make_worker(db, PerChatIds(), clock)
    assert await worker.run_once() == 3  # three chats, all given message id "1"
    assert await worker.run_once() == 1  # and then id "2" in chat 9001
    rows = await outbox(db)
    assert [rows[i].status for i in [*ids, later]] == ["sent"] * 4
    assert [rows[i].provider_ids for i in [*ids, later]] == [["1"], ["1"], ["1"], ["2"]]
    assert await record_delivery(db, "2", "delivered") is True
    assert (await row(db, later)).delivery_status == "delivered"
