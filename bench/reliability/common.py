"""What the reliability scripts share: a scratch database, the fake Telegram, `psv serve`.

Everything runs on 127.0.0.1: a scratch PostgreSQL database (created, migrated, seeded and
dropped at the end, even on error), the fake Telegram Bot API of tests/fakes in this
process (every send noted with its time), and `psv serve` as a subprocess, as deployed.
Citizens are driven through a booking dialog by webhook posts; a post that is not answered
200 is sent again with the same update_id, as Telegram does, so "lost" means an update the
server acknowledged and then never ran.

Figures every script can print (`Figures`): acknowledged updates missing from the inbox
(lost), turns never run, replies delivered twice (and confirmations delivered twice),
replies out of order, outbox rows never delivered, bookings per citizen, 5xx answers,
reply latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.bench_webhooks import (  # noqa: E402
    CASES,
    FIRST_NAMES,
    LAST_NAMES,
    REGIONS,
    free_port,
    pct,
    schedule,
)
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PSV = str(Path(sys.executable).with_name("psv"))
TG_TOKEN = "123456:reliability"
TG_SECRET = "reliability-secret"
CONFIRMED = "confirmada"  # in «✅ ¡Listo! Su cita está confirmada»


def script(n: int) -> list[str]:
    """What citizen n writes, in order: a booking from "hola" to the confirmation.

    Citizens of one region (every 12th) pick different slots, so none is refused a taken one.
    """
    first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n // 8) % len(LAST_NAMES)]
    return [
        "hola",
        "sí",
        "1",
        "consultas",
        REGIONS[n % len(REGIONS)],
        "lo antes posible",
        str(1 + (n // len(REGIONS)) % 6),
        "1",
        f"{40_000_000 + n}",
        f"{first} {last}",
        CASES[n % len(CASES)],
        "sí",
    ]


STEPS = len(script(0))


def update(chat: int, n: int, step: int, update_id: int, text: str | None = None) -> dict[str, Any]:
    """A Telegram text update (tests/fixtures/telegram/text_message.json's shape)."""
    first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n // 8) % len(LAST_NAMES)]
    person = {"first_name": first, "last_name": last, "username": f"ciudadano_{n}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 2 + 2 * step,
            "from": {"id": chat, "is_bot": False, **person, "language_code": "es"},
            "chat": {"id": chat, **person, "type": "private"},
            "date": int(time.time()),
            "text": script(n)[step] if text is None else text,
        },
    }


def say(message: str) -> None:
    """Progress on stderr (figures and the verdict go to stdout)."""
    print(f"[reliability] {message}", file=sys.stderr, flush=True)


class TimedTelegram(FakeTelegram):
    """The fake Bot API, noting (time, chat, text) of every message it accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[float, str, str]] = []

    def _answer(self, method: str, params: Any) -> web.Response:
        if method == "sendMessage":
            self.received.append(
                (time.monotonic(), str(params.get("chat_id")), str(params.get("text")))
            )
        return super()._answer(method, params)

    def texts(self, chat: str) -> list[str]:
        """What this chat received, in order."""
        return [text for _, c, text in self.received if c == chat]


@dataclass
class Figures:
    """The outcome of a run, counted from the fake platform and the database."""

    acknowledged: int = 0
    lost_updates: int = 0
    unprocessed: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    duplicated_replies: int = 0
    duplicated_confirmations: int = 0
    out_of_order: int = 0
    undelivered: int = 0
    bookings: int = 0
    citizens_with_two_bookings: int = 0
    confirmed_citizens: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    # sent after more than one try, by the error of the try before (a timeout whose message
    # the platform had in fact accepted is delivered twice: no platform offers idempotency)
    sent_after_retry: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """The figures as lines of `name: value`."""
        five = sum(n for status, n in self.answers.items() if status >= 500)
        lat = self.latencies_ms
        return [
            f"updates acknowledged (200): {self.acknowledged}",
            f"answers by status: {dict(sorted(self.answers.items()))} (5xx: {five})",
            f"acknowledged updates lost: {self.lost_updates}",
            f"turns never run: {self.unprocessed}",
            f"replies delivered twice: {self.duplicated_replies}",
            f"confirmations delivered twice: {self.duplicated_confirmations}",
            f"replies out of order: {self.out_of_order}",
            f"outbox rows due and not delivered at the end: {self.undelivered}",
            f"sent after more than one try, by the earlier error: {dict(self.sent_after_retry)}",
            f"bookings: {self.bookings} (citizens confirmed: {self.confirmed_citizens}, "
            f"with two bookings: {self.citizens_with_two_bookings})",
            "reply latency ms p50/p95/p99/max: "
            + (
                f"{pct(lat, 50):.0f}/{pct(lat, 95):.0f}/{pct(lat, 99):.0f}/{max(lat):.0f}"
                if lat
                else "-"
            ),
        ]


class Harness:
    """A scratch database, the timed fake Telegram and one `psv serve` (restartable)."""

    def __init__(self, dsn: str = DEFAULT_DSN, env: dict[str, str] | None = None) -> None:
        self.dsn = dsn
        self.extra_env = env or {}
        self.workdir = Path(tempfile.mkdtemp(prefix="psv-reliability-"))
        self.logfile = self.workdir / "server.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.telegram = TimedTelegram()
        self.proc: subprocess.Popen[bytes] | None = None
        self.database = ""
        self.url = ""
        self.pg_version = ""
        self.session: aiohttp.ClientSession | None = None
        self.answers: Counter[int] = Counter()
        self.acknowledged: set[int] = set()
        self._update_ids = itertools.count(1_000_000)

    async def __aenter__(self) -> Harness:
        self.database = f"psv_reliability_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(self.dsn, timeout=5)
        try:
            await admin.execute(f'CREATE DATABASE "{self.database}"')
            self.pg_version = str(await admin.fetchval("SHOW server_version"))
        finally:
            await admin.close()
        base = self.dsn.rsplit("/", 1)[0]
        self.pg_url = f"{base}/{self.database}"
        self.url = self.pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
        await self.telegram.__aenter__()
        env = self.env()
        for command in (["db", "upgrade"], ["seed", "--demo"]):
            done = subprocess.run(  # noqa: ASYNC221 - setup, before any load
                [PSV, *command], env=env, cwd=self.workdir, capture_output=True, timeout=300
            )
            if done.returncode != 0:
                raise RuntimeError(f"psv {' '.join(command)} failed:\n{done.stderr.decode()}")
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
        if self.session is not None:
            await self.session.close()
        await self.telegram.__aexit__(None, None, None)
        for _ in range(20):
            try:
                admin = await asyncpg.connect(self.dsn, timeout=5)
                break
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(1)
        else:
            say(f"could not drop {self.database}")
            return
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await admin.close()

    def env(self) -> dict[str, str]:
        """The server's environment: only PSV settings of this run."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PSV_")}
        env.update(
            PSV_DATABASE_URL=self.url,
            PSV_PUBLIC_URL=self.base,
            PSV_TELEGRAM_TOKEN=TG_TOKEN,
            PSV_TELEGRAM_SECRET=TG_SECRET,
            PSV_TELEGRAM_API_URL=self.telegram.url,
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    # ---- the server ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start `psv serve` and wait until /healthz answers 200."""
        with self.logfile.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
                [PSV, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env(),
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        assert self.session is not None
        for _ in range(600):
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                async with self.session.get(self.base + "/healthz") as answer:
                    if answer.status == 200:
                        return
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log_tail())
            await asyncio.sleep(0.1)
        raise RuntimeError("server did not become healthy:\n" + self.log_tail())

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server with `sig` (SIGKILL: a crash) without blocking the fake platform."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        for _ in range(600):
            if self.proc.poll() is not None:
                return
            await asyncio.sleep(0.05)
        self.proc.kill()
        self.proc.wait(10)

    def rss_mb(self) -> float:
        """The server's resident memory now."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def log_tail(self) -> str:
        """The end of the server's log."""
        return self.logfile.read_text(errors="replace")[-3000:]

    def log_levels(self) -> Counter[str]:
        """How many log lines of each level the server wrote (JSON lines)."""
        levels: Counter[str] = Counter()
        for line in self.logfile.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                levels[str(json.loads(line).get("level"))] += 1
        return levels

    # ---- webhooks -----------------------------------------------------------------------

    def next_update_id(self) -> int:
        """A fresh update_id."""
        return next(self._update_ids)

    async def post(self, body: dict[str, Any]) -> int:
        """One webhook post; its status (0: no answer, e.g. while the server is down)."""
        assert self.session is not None
        try:
            async with self.session.post(
                self.base + "/webhooks/telegram",
                json=body,
                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
            ) as answer:
                await answer.read()
                status = answer.status
        except (TimeoutError, aiohttp.ClientError, OSError):
            status = 0
        self.answers[status] += 1
        if status == 200:
            self.acknowledged.add(int(body["update_id"]))
        return status

    async def deliver(self, body: dict[str, Any], give_up: float = 120.0) -> bool:
        """Post until answered 200, as Telegram does (same update_id); False if never."""
        end = time.monotonic() + give_up
        wait = 0.2
        while time.monotonic() < end:
            if await self.post(body) == 200:
                return True
            await asyncio.sleep(wait)
            wait = min(2.0, wait * 2)
        return False

    async def walk(
        self,
        n: int,
        chat: int,
        *,
        reply_wait: float = 60.0,
        latencies: list[float] | None = None,
        think: float = 0.3,
    ) -> None:
        """Citizen n books from "hola" to the confirmation, waiting for each answer.

        `think`: seconds between the first answer and the next message (it lets the rest of
        the turn's replies arrive; a person reads and types for longer than Telegram's
        1 message/s per chat, so latency figures use 1.5 s).
        """
        key = str(chat)
        for step in range(STEPS):
            before = len(self.telegram.texts(key))
            started = time.monotonic()
            await self.deliver(update(chat, n, step, self.next_update_id()))
            end = started + reply_wait
            while len(self.telegram.texts(key)) <= before and time.monotonic() < end:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if len(self.telegram.texts(key)) > before and latencies is not None:
                first = next(t for t, c, _ in self.telegram.received[::-1] if c == key)
                latencies.append((first - started) * 1000)
            await asyncio.sleep(think)

    async def offer(
        self, rate: float, seconds: float, citizens: Sequence[int], first_n: int = 0
    ) -> list[tuple[float, str]]:
        """Open loop: updates at `rate`/s for `seconds`, citizens walking their bookings in turn.

        Returns (time posted, chat) of each update answered 200. Each post is its own task,
        so a slow answer does not slow the offered rate (no coordinated omission).
        """
        posts: list[tuple[float, str]] = []
        tasks: set[asyncio.Task[None]] = set()
        # Citizens in a stream, each about 5 s between messages, every stage of the dialog
        # in the mix at any moment (bench_webhooks.schedule); cycling if the time is longer.
        plan = schedule(len(citizens), max(1, int(rate * 5)))

        async def one(chat: int, n: int, step: int) -> None:
            t = time.monotonic()
            body = update(chat, n, step % STEPS, self.next_update_id())
            if await self.deliver(body, give_up=30):
                posts.append((t, str(chat)))

        start = time.monotonic()
        count = int(rate * seconds)
        for i, (n, step) in zip(range(count), itertools.cycle(plan), strict=False):
            task = asyncio.create_task(one(citizens[n], first_n + n, step))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            delay = start + (i + 1) / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if tasks:
            await asyncio.gather(*tasks)
        return posts

    def reply_latencies(self, posts: Sequence[tuple[float, str]]) -> list[float]:
        """Milliseconds from each post to the first message its chat received after it."""
        arrivals: dict[str, list[float]] = defaultdict(list)
        for t, chat, _ in self.telegram.received:
            arrivals[chat].append(t)
        latencies = []
        for posted, chat in posts:
            later = [t for t in arrivals.get(chat, ()) if t >= posted]
            if later:
                latencies.append((later[0] - posted) * 1000)
        return latencies

    # ---- figures ------------------------------------------------------------------------

    async def settle(self, seconds: float = 60.0) -> None:
        """Wait until the inbox and outbox are empty (or `seconds` pass)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            conn = await asyncpg.connect(self.pg_url, timeout=5)
            try:
                busy = await conn.fetchval(
                    "SELECT (SELECT count(*) FROM inbound_message WHERE status = 'queued') + "
                    "(SELECT count(*) FROM outbox_message WHERE status IN ('pending', 'sending')"
                    " AND due_at <= now() + interval '1 minute')"
                )
            finally:
                await conn.close()
            if busy == 0:
                return
            await asyncio.sleep(0.5)

    async def figures(self, chats: Sequence[int] | None = None) -> Figures:
        """Count what happened, from the platform's side and the database's."""
        conn = await asyncpg.connect(self.pg_url, timeout=5)
        try:
            inbound = {
                int(row["message_id"])
                for row in await conn.fetch(
                    "SELECT message_id FROM inbound_message WHERE channel = 'telegram'"
                )
                if row["message_id"].isdigit()
            }
            unprocessed = await conn.fetchval(
                "SELECT count(*) FROM inbound_message WHERE status = 'queued'"
            )
            rows = await conn.fetch(
                "SELECT id, address, status, priority, due_at <= now() AS due, attempts, "
                "last_error, payload->>'text' AS text FROM outbox_message "
                "WHERE channel = 'telegram' ORDER BY id"
            )
            bookings = await conn.fetch(
                "SELECT citizen_id FROM appointment WHERE status = 'booked'"
            )
        finally:
            await conn.close()
        figures = Figures(
            acknowledged=len(self.acknowledged),
            lost_updates=len(self.acknowledged - inbound),
            unprocessed=int(unprocessed),
            answers=Counter(self.answers),
            bookings=len(bookings),
            citizens_with_two_bookings=sum(
                1 for n in Counter(r["citizen_id"] for r in bookings).values() if n > 1
            ),
        )
        wanted = None if chats is None else {str(c) for c in chats}
        by_chat: dict[str, list[tuple[int, str]]] = defaultdict(list)
        replies: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for row in rows:
            if wanted is not None and row["address"] not in wanted:
                continue
            if row["status"] in ("pending", "sending") and row["due"]:
                figures.undelivered += 1
            if row["status"] in ("sent", "sending"):  # "sending": may be on its way right now
                by_chat[row["address"]].append((int(row["id"]), str(row["text"])))
            if row["status"] == "sent":
                if row["attempts"] > 1:
                    cause = str(row["last_error"] or "lease (crash or restart)")[:40]
                    figures.sent_after_retry[cause] += 1
                if row["priority"] > 0:  # replies; a notification may be scheduled for later
                    replies[row["address"]].append((int(row["id"]), str(row["text"])))
        for chat in {c for _, c, _ in self.telegram.received} | set(by_chat):
            if wanted is not None and chat not in wanted:
                continue
            got = self.telegram.texts(chat)
            if any(CONFIRMED in text for text in got):
                figures.confirmed_citizens += 1
            sent_rows = by_chat.get(chat, [])
            extra = Counter(got) - Counter(text for _, text in sent_rows)
            figures.duplicated_replies += sum(extra.values())
            figures.duplicated_confirmations += sum(
                n for text, n in extra.items() if CONFIRMED in text
            )
            figures.out_of_order += _out_of_order(got, replies.get(chat, []))
        return figures


def _out_of_order(got: list[str], rows: list[tuple[int, str]]) -> int:
    """Replies whose first delivery came before an earlier-queued reply of the chat."""
    unmatched = list(rows)
    last = -1
    wrong = 0
    for text in got:
        for index, (row_id, row_text) in enumerate(unmatched):
            if row_text == text:
                if row_id < last:
                    wrong += 1
                last = max(last, row_id)
                del unmatched[index]
                break
    return wrong


def machine() -> str:
    """One line about the machine the figures come from."""
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), {mem} RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def report(title: str, command: str, harness: Harness, lines: list[str], ok: bool) -> int:
    """Print the figures and a verdict; the exit code (0 when every target was met)."""
    print(f"== {title}")
    print(f"machine: {machine()}; PostgreSQL {harness.pg_version}")
    print(f"command: {command}")
    for line in lines:
        print(f"  {line}")
    print(f"verdict: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def chats(count: int, first: int = 700_000_000) -> list[int]:
    """Distinct Telegram chat ids for `count` citizens."""
    return [first + n for n in range(count)]
