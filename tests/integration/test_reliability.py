"""Reliability of the outbox worker and the webhooks: outages, restarts, floods, slow clients.

Database outages are real: on PostgreSQL the worker's or server's connections go through a
TCP forwarder the test cuts (`tests/fakes/tcp_cut.py`: resets and refused connections); on
SQLite the pool is closed and the database's folder moved away, so opening it fails as a
missing disk would. Platform outages are the fake Telegram API answering 500. Where time
matters the worker runs on a clock the test moves; nothing asserts on wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot import i18n
from bot.channels.base import SendContext, SendResult
from bot.channels.telegram import TelegramChannel
from bot.messages import Outbound
from bot.outage import DatabaseWatch, is_disconnect
from bot.outbox.pacing import FloodGuard, Pacer
from bot.outbox.worker import OutboxWorker
from bot.server import Server
from core.db import Database
from core.models import InboundMessage
from core.settings import Settings, SettingsError, load_settings
from tests.e2e.stack import Stack
from tests.fakes.tcp_cut import TcpCut
from tests.fakes.telegram_api import FakeTelegram
from tests.integration.test_outbox import (
    NOW,
    TOKEN,
    Clock,
    add,
    clean,
    make_worker,
    outbox,
    row,
    sent,
)

SECRET = "secreto-de-prueba"

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
async def db(database: Database) -> AsyncIterator[Database]:
    await clean(database)
    yield database
    await clean(database)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def telegram(fake: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    channel = TelegramChannel(TOKEN, fake.url, timeout=10)
    yield channel
    await channel.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Outage:
    """Makes the database unreachable for one Database object, then reachable again."""

    def __init__(self, cut: Callable[[], Awaitable[None]], restore: Callable[[], Awaitable[None]]):
        self.cut = cut
        self.restore = restore


@pytest.fixture
async def cuttable(db: Database) -> AsyncIterator[tuple[Database, Outage]]:
    """A second Database on the test database whose connection the test can cut."""
    url = make_url(db.url)
    if db.is_postgres:
        async with TcpCut(url.host or "127.0.0.1", url.port or 5432) as proxy:
            through = Database(
                url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
                pool_size=3,
            )
            yield through, Outage(proxy.cut, proxy.restore)
            await proxy.restore()
            await through.dispose()
        return
    folder = Path(str(url.database)).parent
    away = folder.with_name(folder.name + ".away")
    through = Database(db.url)

    async def cut() -> None:
        await through.dispose()
        folder.rename(away)

    async def restore() -> None:
        if away.exists():
            away.rename(folder)

    yield through, Outage(cut, restore)
    await restore()
    await through.dispose()


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for something the code under test does on its own (bounded, not timed)."""
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


class Gated:
    """The real TelegramChannel, except that one chat's send waits for the test's gate."""

    name = "telegram"

    def __init__(self, inner: TelegramChannel, chat: str) -> None:
        self.inner = inner
        self.chat = chat
        self.started = asyncio.Event()
        self.gate = asyncio.Event()

    async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
        if address == self.chat:
            self.started.set()
            await self.gate.wait()
        return await self.inner.send(address, message, context)

    async def close(self) -> None:
        return None


# --------------------------------------------------------------------------- recording


async def test_each_send_is_recorded_as_it_returns(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    """A batch of two: the first is recorded "sent" while the second is still in flight."""
    quick = await add(db, "8001", "rápido")
    slow = await add(db, "8002", "lento")
    channel = Gated(telegram, "8002")
    worker = make_worker(db, channel, clock)
    task = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(channel.started.wait(), timeout=10)

    async def quick_recorded() -> bool:
        return (await row(db, quick)).status == "sent"

    await until(quick_recorded, "the first send recorded while the second is in flight")
    assert (await row(db, slow)).status == "sending"
    assert sent(fake) == [("8001", "rápido")]
    channel.gate.set()
    assert await task == 2
    assert (await row(db, slow)).status == "sent"


async def test_a_send_that_could_not_be_recorded_is_kept_and_recorded_without_sending_again(
    cuttable: tuple[Database, Outage],
    db: Database,
    fake: FakeTelegram,
    telegram: TelegramChannel,
    clock: Clock,
) -> None:
    """The platform accepted the message, then the database went away before the record."""
    through, outage = cuttable
    outbox_id = await add(db, "8101", "✅ ¡Listo! Su cita está confirmada")

    class CutAfterSend:
        name = "telegram"

        async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
            result = await telegram.send(address, message, context)
            await outage.cut()
            return result

        async def close(self) -> None:
            return None

    worker = make_worker(through, CutAfterSend(), clock)
    assert await worker.run_once() == 1
    assert [job.id for job, _ in worker.unrecorded] == [outbox_id]
    assert worker.watch.down
    # While the database is away the worker neither records nor claims (nor sends).
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error, whichever it is
        await worker.run_once()
    assert len(sent(fake)) == 1

    await outage.restore()
    # Long past the lease: without the kept result, the row would be claimed and sent again.
    clock.advance(minutes=10)
    assert (await row(db, outbox_id)).status == "sending"
    assert await worker.run_once() == 0
    done = await row(db, outbox_id)
    assert done.status == "sent"
    assert done.attempts == 1
    assert len(done.provider_ids) == 1
    assert worker.unrecorded == []
    assert not worker.watch.down
    assert await make_worker(db, telegram, clock).run_once() == 0
    assert sent(fake) == [("8101", "✅ ¡Listo! Su cita está confirmada")]


async def test_a_restarted_worker_takes_back_its_own_leases_at_once(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    outbox_id = await add(db, "8201", "confirmación")
    hung = Gated(telegram, "8201")
    first_life = make_worker(db, hung, clock, name="serve")
    task = asyncio.create_task(first_life.run_once())
    await asyncio.wait_for(hung.started.wait(), timeout=10)
    task.cancel()  # the process dies before the platform was even asked
    with pytest.raises(asyncio.CancelledError):
        await task
    leased = await row(db, outbox_id)
    assert leased.status == "sending"
    assert leased.leased_until is not None and leased.leased_until > clock.now

    # Another worker (another name) leaves a live lease alone ...
    assert await make_worker(db, telegram, clock, name="worker-2").run_once() == 0
    # ... the same worker restarted takes it back at once, lease or not.
    assert await make_worker(db, telegram, clock, name="serve").run_once() == 1
    done = await row(db, outbox_id)
    assert (done.status, done.attempts) == ("sent", 2)
    assert sent(fake) == [("8201", "confirmación")]


# --------------------------------------------------------------------------- outages


async def test_chat_order_is_kept_through_an_hour_long_platform_outage(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel, clock: Clock
) -> None:
    chat_a = [await add(db, "8301", f"a{n}") for n in range(3)]
    chat_b = [await add(db, "8302", f"b{n}") for n in range(2)]
    worker = make_worker(db, telegram, clock)
    fake.go_down(500)
    end = NOW.replace(hour=NOW.hour + 1, minute=5)
    rounds = 0
    while clock.now < end:
        await worker.run_once()
        rounds += 1
        waiting = [r for r in (await outbox(db)).values() if r.status == "pending"]
        assert waiting, "nothing may be given up during the outage"
        clock.now = min(r.due_at for r in waiting if r.attempts > 0)
    rows = await outbox(db)
    assert {r.status for r in rows.values()} == {"pending"}
    # Only the head of each chat was tried (some 70 times) while the platform was down.
    assert rows[chat_a[0]].attempts == rows[chat_b[0]].attempts == rounds > 40
    assert [rows[i].attempts for i in chat_a[1:] + chat_b[1:]] == [0, 0, 0]

    fake.come_up()
    fake.reset()
    for _ in range(10):
        if await worker.run_once() == 0:
            break
    rows = await outbox(db)
    assert {rows[i].status for i in chat_a + chat_b} == {"sent"}
    assert [t for chat, t in sent(fake) if chat == "8301"] == ["a0", "a1", "a2"]
    assert [t for chat, t in sent(fake) if chat == "8302"] == ["b0", "b1"]


# --------------------------------------------------------------------------- floods


class HeldChat(Pacer):
    """A pacer that keeps one chat waiting (as a flooded chat's own bucket does)."""

    def __init__(self, chat: str) -> None:
        super().__init__(1000, 1000)
        self.chat = chat
        self.waiting = asyncio.Event()
        self.gate = asyncio.Event()

    async def acquire(self, address: str) -> None:
        if address == self.chat:
            self.waiting.set()
            await self.gate.wait()


async def test_a_paced_chat_does_not_hold_back_another_chats_message(
    db: Database, fake: FakeTelegram, telegram: TelegramChannel
) -> None:
    flooded = [await add(db, "8401", f"f{n}") for n in range(5)]
    pacer = HeldChat("8401")
    worker = OutboxWorker(db, {"telegram": telegram}, {"telegram": pacer}, idle_wait=0.05)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(pacer.waiting.wait(), timeout=10)
        # Queued after the flooded chat's message was claimed and while it waits its turn.
        other = await add(db, "8402", "otra persona", due_at=NOW)
        worker.wake.set()

        async def other_sent() -> bool:
            return (await row(db, other)).status == "sent"

        await until(other_sent, "the other chat's message sent while the flooded chat waits")
        assert sent(fake) == [("8402", "otra persona")]
        assert (await row(db, flooded[0])).status == "sending"
        pacer.gate.set()

        async def all_sent() -> bool:
            return all(r.status == "sent" for r in (await outbox(db)).values())

        await until(all_sent, "the flooded chat's messages sent")
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=10)
    assert [t for chat, t in sent(fake) if chat == "8401"] == [f"f{n}" for n in range(5)]


def test_flood_guard_runs_a_burst_tells_once_then_holds_until_calm() -> None:
    now = [0.0]
    guard = FloodGuard(3, 6, clock=lambda: now[0])  # 3 at once, then one every 10 s
    assert [guard.check("tg:1") for _ in range(6)] == ["run"] * 3 + ["tell", "hold", "hold"]
    assert guard.check("tg:2") == "run"  # another chat is not affected
    now[0] = 10.0
    assert guard.check("tg:1") == "run"
    assert guard.check("tg:1") == "hold"  # same flood: not told again
    now[0] = 100.0  # calm long enough to refill: a new flood is told again
    assert [guard.check("tg:1") for _ in range(4)] == ["run"] * 3 + ["tell"]


# --------------------------------------------------------------------------- the server


def settings_for(db: Database, fake: FakeTelegram, **extra: Any) -> Settings:
    return Settings(
        database_url=db.url,
        telegram_token=TOKEN,
        telegram_secret=SECRET,
        telegram_api_url=fake.url,
        **extra,
    )


@dataclass
class Served:
    """A running server as production runs it (web.run_app's runner), and a client session."""

    host: str
    port: int
    session: ClientSession

    def get(self, path: str) -> Any:
        return self.session.get(f"http://{self.host}:{self.port}{path}")

    def post(self, path: str, **options: Any) -> Any:
        return self.session.post(f"http://{self.host}:{self.port}{path}", **options)


@pytest.fixture
async def client_for(fake: FakeTelegram) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """An in-process `psv serve` (no worker, no inbox processors) on a given Database."""
    runners: list[web.AppRunner] = []
    session = ClientSession()

    async def make(db: Database, **extra: Any) -> Served:
        settings = settings_for(db, fake, **extra)
        server = Server(
            settings,
            db,
            channels={"telegram": TelegramChannel(TOKEN, fake.url, timeout=10)},
            run_worker=False,
            run_inbox=False,
        )
        # What web.run_app does for `psv serve` (handlers are not cancelled when a client
        # goes away; the keep-alive timer is the header timeout).
        runner = web.AppRunner(
            server.app, keepalive_timeout=settings.header_timeout_seconds, access_log=None
        )
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return Served(host, port, session)

    yield make
    await session.close()
    for runner in runners:
        await runner.cleanup()


async def post_update(client: Served, update: dict[str, Any]) -> Any:
    async with client.post(
        "/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    ) as answer:
        await answer.read()
        return answer


async def test_a_flooding_chat_is_kept_unanswered_and_told_once_while_others_go_on(
    cuttable: tuple[Database, Outage],
    db: Database,
    client_for: Callable[..., Awaitable[Served]],
) -> None:
    through, _ = cuttable
    client = await client_for(through, flood_burst=5, flood_per_minute=1)
    texts = ["hola", "hola??", "cita", "quiero cita", "ayuda", "aló", "1", "2", "3", "holaaa"]
    for text in texts * 2:
        answer = await post_update(client, Stack.tg_text(8501, text))
        assert answer.status == 200
    answer = await post_update(client, Stack.tg_text(8502, "buenos dias, una consulta"))
    assert answer.status == 200

    async with db.uow() as uow:
        found = await uow.session.execute(
            select(InboundMessage.user_ref, InboundMessage.status).order_by(InboundMessage.id)
        )
        statuses = [(ref, status) for ref, status in found]
    flooder = [status for ref, status in statuses if ref == "8501"]
    assert len(flooder) == 20, "every message is kept"
    assert flooder == ["queued"] * 5 + ["flooded"] * 15
    assert [status for ref, status in statuses if ref == "8502"] == ["queued"]
    notices = [r for r in (await outbox(db)).values() if r.address == "8501"]
    assert [Outbound.from_json(r.payload).text for r in notices] == [
        i18n.t("flood.slow_down", "es")
    ]
    assert not [r for r in (await outbox(db)).values() if r.address == "8502"]


async def test_webhooks_answer_503_with_retry_after_while_the_database_is_down(
    cuttable: tuple[Database, Outage],
    client_for: Callable[..., Awaitable[Served]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    through, outage = cuttable
    client = await client_for(through)
    assert (await post_update(client, Stack.tg_text(8601, "hola"))).status == 200
    async with client.get("/healthz") as health:
        assert health.status == 200

    caplog.set_level(logging.INFO, logger="psv")
    await outage.cut()
    for n in range(6):
        answer = await post_update(client, Stack.tg_text(8601, f"¿hay alguien? {n}"))
        assert answer.status == 503
        assert answer.headers["Retry-After"].isdigit()
    async with client.get("/healthz") as health:
        assert health.status == 503
        assert (await health.json())["database"] == "down"

    await outage.restore()

    async def healthy() -> bool:
        async with client.get("/healthz") as health:
            return bool(health.status == 200)

    await until(healthy, "health says the database is back")
    assert (await post_update(client, Stack.tg_text(8601, "ya volvió"))).status == 200

    # Once per outage: one warning down, one info back; nothing else above info.
    said = [
        (r.levelname, r.name)
        for r in caplog.records
        if r.name == "psv.database" or r.levelno >= logging.WARNING
    ]
    assert said == [("WARNING", "psv.database"), ("INFO", "psv.database")], caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_slow_body_gets_408_and_an_abandoned_one_one_info_line(
    db: Database,
    client_for: Callable[..., Awaitable[Served]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await client_for(db, body_timeout_seconds=0.3)
    caplog.set_level(logging.INFO)
    host, port = client.host, client.port
    head = (
        "POST /webhooks/telegram HTTP/1.1\r\n"
        f"Host: {host}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n\r\n"
    ).encode()

    reader, writer = await asyncio.open_connection(host, port)
    writer.write(head + b'{"update_id": 1')  # and then nothing more
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=10)
    assert status_line.split()[1] == b"408"
    writer.close()

    async def noted() -> bool:
        return any("went away" in r.getMessage() for r in caplog.records)

    for pause in (0.05, 0.1, 0.2, 0.4):  # a request cut before its handler ran is never seen
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(head + b'{"update_id": 2')
        await writer.drain()
        await asyncio.sleep(pause)
        writer.transport.abort()  # the client goes away in the middle of its body
        with contextlib.suppress(AssertionError):
            await until(noted, "the abandoned body noted")
            break
    assert await noted()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.levelname for r in caplog.records if "went away" in r.getMessage()] == ["INFO"]
    # The server still answers everyone else.
    assert (await post_update(client, Stack.tg_text(8701, "hola"))).status == 200


async def test_a_lost_connection_is_an_outage_and_a_broken_statement_is_not(
    cuttable: tuple[Database, Outage], db: Database
) -> None:
    """A refused connection counts as an outage; a constraint violation is a bug, logged."""
    through, outage = cuttable
    await outage.cut()
    with pytest.raises(Exception) as refused:  # whichever the driver raises
        async with through.engine.connect() as conn:
            await conn.execute(select(1))
    await outage.restore()
    broken = None
    first = await add(db, "8801", "uno")
    try:
        await add(db, "8801", "dos", id=first)  # the same primary key again
    except Exception as error:
        broken = error
    assert broken is not None
    assert await DatabaseWatch(through).is_outage(broken) is False
    if db.is_postgres:  # SQLite has no connection to lose: a missing file is found by the probe
        assert is_disconnect(refused.value)
    watch = DatabaseWatch(through)
    assert await watch.is_outage(refused.value) is (db.is_postgres or not await watch.probe())


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("body_timeout_seconds", 0),
        ("header_timeout_seconds", -1),
        ("outbox_retry_seconds", 0),
        ("flood_burst", 0),
        ("flood_per_minute", 0),
    ],
)
def test_reliability_settings_refuse_nonsense(setting: str, value: float) -> None:
    with pytest.raises(SettingsError, match=f"PSV_{setting.upper()}"):
        load_settings(**{setting: value})
