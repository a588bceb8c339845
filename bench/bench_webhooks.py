"""Webhook throughput of one `psv serve` on PostgreSQL, against a bare aiohttp handler.

Run from the project root:

    .venv/bin/python bench/bench_webhooks.py \
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--citizens 400] \
        [--concurrency 40] [--rate 1000] [--open-seconds 5] [--drain-seconds 60] \
        [--outbox-seconds 10] [--only bare,floor,psv,paced] [--paced-rate 300] \
        [--paced-seconds 10] [--pin] [--inbox-off] [--profile [--profile-out FILE]]

What it does, on a scratch database (created here, dropped at the end, even on error):

1. `psv db upgrade` and `psv seed --demo` into it; a fake Telegram Bot API (tests.fakes)
   runs in this process, which also watches the others;
2. a bare aiohttp server (a subprocess of this script: its handler only does
   `await request.json()` and answers 200) and then ONE real `psv serve` (subprocess, inbox
   processors and outbox worker on, as deployed) are each driven by a load generator: a
   second subprocess of this script with an aiohttp client on loopback. Same payloads for
   both: realistic Telegram updates (the shape of tests/fixtures/telegram/text_message.json)
   of many citizens, each walking a booking in order ("hola", "sí", "1", "consultas", region,
   "mañana", "1", slot number, DNI, name, case, "sí"), unique update_ids;
   - closed loop: `--concurrency` connections (Telegram's default `max_connections` is 40)
     send as fast as they are answered: accepted updates/s, latency p50/p95/p99/max;
   - open loop: updates offered at `--rate`/s for `--open-seconds` (at most 100 in flight,
     Telegram's maximum `max_connections`); latency counts from the scheduled send time, so
     a server that falls behind is not flattered (no coordinated omission);
   - the raw floor (`--only` ... floor): a subprocess of this script with aiohttp and a raw
     asyncpg pool (10 connections, PSV's pool size) that does a whole simplified turn inside
     each request, on its own floor_* tables in the scratch database: dedupe the update id
     (INSERT ... ON CONFLICT DO NOTHING), lock-load the chat's conversation (SELECT ... FOR
     UPDATE, inserted when absent), update its state, insert one keyed outbox row; same
     warm-up, closed and open load as PSV's. Its closed-loop turns/s is the floor;
3. after the load: how fast the inbox runs the queued turns (turns/s, time to drain, or the
   projection when `--drain-seconds` ends first) and how fast the outbox worker sends to the
   fake Telegram while keeping to its limits (30/s overall, 1/s per chat, short bursts):
   messages/s and the most calls seen in any 1-second window, overall and per chat, plus a
   time line (every 5 s) of the inbox and outbox queues; PSV end to end: the updates of the
   closed and open load over the time from their first send to the last turn done and its
   first reply queued (inbound processed_at, outbox created_at, read from the database), as a
   ratio to the floor's turns/s (issue 16: >= 0.15, aim 0.25), with CPU ms per turn of each
   (PSV = `psv serve` and every process it started, its inbox children included);
4. paced (`--paced-rate`/s for `--paced-seconds`, new citizens, after the queue is empty):
   webhook latency p50/p99 and, per update, from its inbound row's received_at to the
   created_at of its first reply (outbox key `reply:telegram:<update_id>:0`), p50/p99/max.

`--only` picks the phases (bare, floor, psv, paced; default all); psv and paced share one
`psv serve`.

CPU seconds of every process (server, generator, PostgreSQL, this process with the fake
Telegram, the rest of the machine) are measured per phase from /proc, and where each process
may run (its CPU affinity) is printed; `--pin` puts the server on CPU 0 and the generator on
CPU 1 (PostgreSQL is left to the scheduler). `--inbox-off` is a diagnostic: the server runs
with its inbox processors paused (the same `psv serve` code otherwise), to see the cost of
accepting alone. `--profile` runs the server under cProfile and prints its hot spots.

Hard failures, exit code 1 (never timings): a valid update not answered 200, queued inbound
rows that do not match the accepted updates, the outbox exceeding its token-bucket bound, the
floor's rows not matching its answers, or a paced update done without a first reply.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import pstats
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
import sqlalchemy  # noqa: E402
from aiohttp import web  # noqa: E402

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PSV = str(Path(sys.executable).with_name("psv"))
SELF = str(Path(__file__).resolve())
TG_TOKEN = "123456:bench-token"
TG_SECRET = "bench-secret"
PATH = "/webhooks/telegram"
MAX_IN_FLIGHT = 100  # Telegram's highest max_connections for a webhook
WARMUP_CITIZENS = 20
# Outbox limits of bot/server.py build_pacers (Telegram): overall rate/burst, per chat.
OVERALL_RATE, OVERALL_BURST = 30.0, 30.0
CHAT_RATE, CHAT_BURST = 1.0, 3.0
REGIONS = (
    "arequipa",
    "cusco",
    "lima metropolitana",
    "piura",
    "puno",
    "junín",
    "ica",
    "tacna",
    "la libertad",
    "lambayeque",
    "loreto",
    "cajamarca",
)
FIRST_NAMES = ("Lucía", "José", "María", "Juan", "Rosa", "Luis", "Carmen", "Jorge")
LAST_NAMES = ("Quispe", "Mamani", "Flores", "Huamán", "Rojas", "Sánchez", "García", "Torres")
CASES = (
    "Mi empleador no me paga la CTS desde hace dos años",
    "Me despidieron sin carta de preaviso",
    "No me pagan horas extras",
    "Quiero saber cuánto me corresponde de vacaciones truncas",
)
TARGET_RATE = 1000.0
TARGET_P99_MS = 80.0
# Issue 16: PSV's end-to-end turns/s against the raw floor's, and replies queued in time.
TARGET_RATIO, AIM_RATIO = 0.15, 0.25
TARGET_REPLY_P99_MS = 250.0
PHASES = ("bare", "floor", "psv", "paced")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the citizens


def script(n: int) -> list[str]:
    """What citizen n writes, in order: a booking from "hola" to the confirmation."""
    first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n // 8) % len(LAST_NAMES)]
    return [
        "hola",
        "sí",
        "1",
        "consultas",
        REGIONS[n % len(REGIONS)],
        "mañana",
        "1",
        str(1 + n % 6),
        f"{40_000_000 + n}",
        f"{first} {last}",
        CASES[n % len(CASES)],
        "sí",
    ]


STEPS = len(script(0))


def update(chat: int, n: int, step: int, update_id: int) -> dict[str, Any]:
    """A Telegram text update shaped like tests/fixtures/telegram/text_message.json."""
    first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n // 8) % len(LAST_NAMES)]
    person = {"first_name": first, "last_name": last, "username": f"ciudadano_{n}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 2 + 2 * step,
            "from": {"id": chat, "is_bot": False, **person, "language_code": "es"},
            "chat": {"id": chat, **person, "type": "private"},
            "date": int(time.time()),
            "text": script(n)[step],
        },
    }


def schedule(citizens: int, active: int) -> list[tuple[int, int]]:
    """(citizen, step) in sending order: a stream of citizens, about `active` at a time.

    Citizen i starts at position i and sends step k at about i + k * active, so at any moment
    the load mixes every stage of the conversation, and two messages of one citizen are about
    `active` updates apart (never both in flight at once).
    """
    gap = max(1, min(active, citizens))
    keyed = [(i + k * gap, i, k) for i in range(citizens) for k in range(STEPS)]
    keyed.sort()
    return [(i, k) for _, i, k in keyed]


# --------------------------------------------------------------------------- generator


@dataclass
class LoadSpec:
    """What the generator process sends, and how."""

    url: str
    mode: str  # "closed" or "open"
    citizens: int
    first_citizen: int  # global citizen number (DNI, names) of the first one
    chat_base: int
    update_base: int
    concurrency: int = 40
    rate: float = 0.0
    seconds: float = 0.0
    active: int = 240

    def updates(self) -> list[tuple[int, bytes]]:
        """(citizen, body) for every update, in sending order."""
        out = []
        order = schedule(self.citizens, self.active)
        if self.mode == "open":
            order = order[: max(1, int(self.rate * self.seconds))]
        for index, (i, k) in enumerate(order):
            n = self.first_citizen + i
            body = update(self.chat_base + n, n, k, self.update_base + index)
            out.append((i, json.dumps(body, ensure_ascii=False).encode()))
        return out


async def _generate(spec: LoadSpec) -> dict[str, Any]:
    """Send the load; the latencies (ms) and statuses come back as JSON."""
    bodies = spec.updates()
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    limit = spec.concurrency if spec.mode == "closed" else MAX_IN_FLIGHT
    latencies: list[float] = [math.nan] * len(bodies)
    service: list[float] = [math.nan] * len(bodies)
    statuses: Counter[str] = Counter()
    last_of: dict[int, asyncio.Future[None]] = {}
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(index: int, scheduled: float | None) -> None:
            citizen, body = bodies[index]
            previous = last_of.get(citizen)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            last_of[citizen] = done
            try:
                if previous is not None:  # a citizen's messages go in order
                    await previous
                start = time.perf_counter()
                try:
                    async with session.post(spec.url, data=body, headers=headers) as answer:
                        await answer.read()
                        statuses[str(answer.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    statuses[type(exc).__name__] += 1
                end = time.perf_counter()
                service[index] = (end - start) * 1000
                latencies[index] = (end - (scheduled if scheduled is not None else start)) * 1000
            finally:
                done.set_result(None)

        # One connection opened before timing starts (not the whole pool: that is part of it).
        async with session.get(spec.url.replace(PATH, "/healthz")) as answer:
            await answer.read()
        t0 = time.perf_counter()
        if spec.mode == "closed":
            position = iter(range(len(bodies)))

            async def connection() -> None:
                for index in position:
                    await send(index, None)

            await asyncio.gather(*(connection() for _ in range(spec.concurrency)))
        else:
            slots = asyncio.Semaphore(MAX_IN_FLIGHT)
            tasks = []
            origin = t0 + 0.01

            async def paced(index: int, when: float) -> None:
                async with slots:
                    await send(index, when)

            for index in range(len(bodies)):
                when = origin + index / spec.rate
                delay = when - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(paced(index, when)))
            await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
    return {
        "count": len(bodies),
        "wall": wall,
        "statuses": dict(statuses),
        "latency_ms": latencies,
        "service_ms": service,
    }


def generator_main() -> int:
    """The generator process: spec on stdin, "ready", wait for "go", results on stdout."""
    spec = LoadSpec(**json.loads(sys.stdin.readline()))
    spec.updates()  # build (and check) the payloads before being timed
    print("ready", flush=True)
    sys.stdin.readline()
    result = asyncio.run(_generate(spec))
    print(json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------- servers


def bare_main(port: int) -> int:
    """The bare server: parse the JSON, answer 200 (same aiohttp, same defaults)."""

    async def webhook(request: web.Request) -> web.Response:
        await request.json()
        return web.Response(status=200)

    web.run_app(_app(webhook), host="127.0.0.1", port=port, print=None, access_log=None)
    return 0


def _app(webhook: Callable[[web.Request], Awaitable[web.Response]]) -> web.Application:
    """An aiohttp application with the webhook at PATH and /healthz (bare and floor alike)."""

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(PATH, webhook)
    app.router.add_get("/healthz", health)
    return app


# --------------------------------------------------------------------------- the raw floor

# Its own tables in the scratch database: what a simplified turn needs and nothing more.
FLOOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_update (
    update_id bigint PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS floor_conversation (
    id bigserial PRIMARY KEY,
    chat_id bigint NOT NULL UNIQUE,
    state jsonb NOT NULL DEFAULT '{}'::jsonb,
    turns integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS floor_outbox (
    id bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    conversation_id bigint NOT NULL REFERENCES floor_conversation (id),
    address text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""
FLOOR_POOL = 10  # the size of PSV's own pool (core/db.py)


async def floor_schema(conn: asyncpg.Connection) -> None:
    """Create the floor's tables (floor_*) if they are not there."""
    await conn.execute(FLOOR_SCHEMA)


async def floor_turn(conn: asyncpg.Connection, body: dict[str, Any]) -> bool:
    """One simplified turn in one transaction; False when the update was seen before.

    Dedupe the update id, lock the chat's conversation (created when absent), move its
    state on, and queue one reply keyed like PSV's (`reply:telegram:<update_id>:0`).
    """
    update_id = int(body["update_id"])
    message = body.get("message") or {}
    chat = int(message["chat"]["id"])
    text = str(message.get("text", ""))
    async with conn.transaction():
        fresh = await conn.fetchval(
            "INSERT INTO floor_update (update_id) VALUES ($1) "
            "ON CONFLICT DO NOTHING RETURNING update_id",
            update_id,
        )
        if fresh is None:
            return False
        row = await conn.fetchrow(
            "SELECT id, state, turns FROM floor_conversation WHERE chat_id = $1 FOR UPDATE", chat
        )
        if row is None:
            await conn.execute(
                "INSERT INTO floor_conversation (chat_id) VALUES ($1) ON CONFLICT DO NOTHING", chat
            )
            row = await conn.fetchrow(
                "SELECT id, state, turns FROM floor_conversation WHERE chat_id = $1 FOR UPDATE",
                chat,
            )
        assert row is not None
        state = json.loads(row["state"])
        state.update(step=int(row["turns"]) + 1, last=text)
        await conn.execute(
            "UPDATE floor_conversation SET state = $2::jsonb, turns = turns + 1, "
            "updated_at = clock_timestamp() WHERE id = $1",
            row["id"],
            json.dumps(state, ensure_ascii=False),
        )
        reply = {"text": f"paso {state['step']}: {text[:40]}"}
        await conn.execute(
            "INSERT INTO floor_outbox (idempotency_key, conversation_id, address, payload) "
            "VALUES ($1, $2, $3, $4::jsonb)",
            f"reply:telegram:{update_id}:0",
            row["id"],
            str(chat),
            json.dumps(reply, ensure_ascii=False),
        )
    return True


def floor_app(pool: asyncpg.Pool) -> web.Application:
    """The floor's aiohttp application: a whole simplified turn inside each webhook request."""

    async def webhook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != TG_SECRET:
            return web.Response(status=401)
        body = await request.json()
        async with pool.acquire() as conn:
            await floor_turn(conn, body)
        return web.Response(status=200)

    return _app(webhook)


def floor_main(port: int, dsn: str) -> int:
    """The floor server: aiohttp and a raw asyncpg pool, the same defaults as the bare one."""

    async def build() -> web.Application:
        pool = await asyncpg.create_pool(dsn, min_size=FLOOR_POOL, max_size=FLOOR_POOL)
        async with pool.acquire() as conn:
            await floor_schema(conn)
        app = floor_app(pool)

        async def close(_app: web.Application) -> None:
            await pool.close()

        app.on_cleanup.append(close)
        return app

    web.run_app(build(), host="127.0.0.1", port=port, print=None, access_log=None)
    return 0


def inbox_off_main(argv: list[str]) -> int:
    """`psv serve` with its inbox processors paused (diagnostic: the cost of accepting alone)."""
    from bot import cli, inbox

    def paused(self: inbox.Inbox) -> None:
        self._tasks = []

    inbox.Inbox.start = paused  # type: ignore[method-assign]
    sys.argv = ["psv", *argv]
    cli.main()
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(base: str, proc: subprocess.Popen[bytes], logfile: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            with contextlib.suppress(OSError):
                async with session.get(base + "/healthz") as answer:
                    if answer.status == 200:
                        return
            if proc.poll() is not None:
                raise RuntimeError("server exited:\n" + tail(logfile))
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become healthy:\n" + tail(logfile))


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


def spawn(command: list[str], logfile: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """A server subprocess, its output appended to logfile."""
    with logfile.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **kwargs)


def prepare_database(url: str, workdir: Path) -> None:
    """`psv db upgrade` and `psv seed --demo` into the scratch database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSV_")}
    env["PSV_DATABASE_URL"] = url
    for command in (["db", "upgrade"], ["seed", "--demo"]):
        t = time.monotonic()
        done = subprocess.run(
            [PSV, *command], env=env, cwd=workdir, capture_output=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"psv {' '.join(command)} failed:\n{done.stderr.decode()}")
        log(f"psv {' '.join(command)}: {time.monotonic() - t:.1f} s")


async def stop(proc: subprocess.Popen[bytes] | None) -> int | None:
    """SIGTERM (graceful), then SIGKILL after 30 s; the event loop (fake Telegram) keeps on."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        for _ in range(300):
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        else:
            proc.kill()
    return proc.wait(10)


# --------------------------------------------------------------------------- CPU accounting

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> float:
    """CPU seconds all CPUs of the machine have been busy (not idle or iowait)."""
    with open("/proc/stat", encoding="ascii") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICK


def affinity(pid: int) -> str:
    try:
        cpus = sorted(os.sched_getaffinity(pid))
    except OSError:
        return "?"
    return ",".join(map(str, cpus))


def descendants(pid: int) -> list[int]:
    """The pids of a process's children, their children, and so on (from /proc)."""
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents[ppid].append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def with_children(roles: dict[str, list[int]]) -> dict[str, list[int]]:
    """The server roles with every process they started (PSV's inbox children count as PSV)."""
    out = dict(roles)
    for role in ("server", "inbox"):
        if role in out:
            out[role] = sorted({*out[role], *(c for p in out[role] for c in descendants(p))})
    return out


@dataclass
class CpuMeter:
    """CPU seconds per role over one phase."""

    roles: dict[str, list[int]]
    start: dict[int, float] = field(default_factory=dict)
    busy0: float = 0.0
    t0: float = 0.0

    def begin(self) -> None:
        self.roles = with_children(self.roles)
        self.start = {pid: proc_cpu(pid) or 0.0 for pids in self.roles.values() for pid in pids}
        self.busy0, self.t0 = machine_busy(), time.monotonic()

    def end(self, roles: dict[str, list[int]] | None = None) -> dict[str, float]:
        """CPU seconds per role (and "other": the rest of the machine), plus "wall"."""
        wall = time.monotonic() - self.t0
        used: dict[str, float] = {}
        final = with_children(roles or self.roles)
        for role, pids in final.items():
            pids = sorted({*pids, *self.roles.get(role, [])})
            used[role] = sum(
                max(0.0, (proc_cpu(pid) or self.start.get(pid, 0.0)) - self.start.get(pid, 0.0))
                for pid in pids
            )
        used["other"] = max(0.0, machine_busy() - self.busy0 - sum(used.values()))
        used["wall"] = wall
        return used


async def postgres_pids(conn: asyncpg.Connection, database: str) -> list[int]:
    """Our database's backends and the server's background processes."""
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 OR datname IS NULL", database
    )
    return [int(r["pid"]) for r in rows]


# --------------------------------------------------------------------------- figures


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Phase:
    label: str
    mode: str
    result: dict[str, Any]
    cpu: dict[str, float]

    @property
    def ok(self) -> int:
        return int(self.result["statuses"].get("200", 0))

    @property
    def rate(self) -> float:
        return float(self.ok / self.result["wall"])

    def lat(self, q: float, key: str = "latency_ms") -> float:
        return pct(self.result[key], q)

    @property
    def bad(self) -> dict[str, int]:
        return {k: v for k, v in self.result["statuses"].items() if k != "200"}


def max_in_window(stamps: Sequence[float], window: float = 1.0) -> int:
    """The most stamps within any interval of `window` seconds."""
    best, left = 0, 0
    for right, stamp in enumerate(stamps):
        while stamp - stamps[left] >= window:
            left += 1
        best = max(best, right - left + 1)
    return best


# --------------------------------------------------------------------------- the run


class TimedTelegram:
    """tests.fakes FakeTelegram, noting when each send reached it and for which chat."""

    def __init__(self) -> None:
        from tests.fakes.telegram_api import FakeTelegram

        stamps: list[tuple[float, str, str]] = []
        self.stamps = stamps

        class Timed(FakeTelegram):
            def _answer(self, method: str, params: Any) -> web.Response:
                stamps.append((time.monotonic(), method, str(params.get("chat_id"))))
                return super()._answer(method, params)

        self.fake = Timed()

    def sends(self, since: float = 0.0) -> list[tuple[float, str]]:
        return [
            (t, chat)
            for t, method, chat in self.stamps
            if method in ("sendMessage", "sendDocument") and t >= since
        ]


@dataclass
class Run:
    args: argparse.Namespace
    dsn: str
    database: str
    url: str
    workdir: Path
    failures: list[str] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    placement: list[tuple[str, str, str]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    only: set[str] = field(default_factory=lambda: set(PHASES))

    def env(self, port: int, telegram_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PSV_")}
        env.update(
            PSV_DATABASE_URL=self.url,
            PSV_PUBLIC_URL=f"http://127.0.0.1:{port}",
            PSV_TELEGRAM_TOKEN=TG_TOKEN,
            PSV_TELEGRAM_SECRET=TG_SECRET,
            PSV_TELEGRAM_API_URL=telegram_url,
        )
        return env

    async def load(
        self, label: str, spec: LoadSpec, roles: dict[str, list[int]], pg: asyncpg.Connection
    ) -> Phase:
        """Run one load phase in a fresh generator process; CPU of every role measured."""
        command = [sys.executable, SELF, "_generator"]
        gen = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 26
        )
        assert gen.stdin is not None and gen.stdout is not None
        try:
            gen.stdin.write((json.dumps(spec.__dict__) + "\n").encode())
            await gen.stdin.drain()
            if (await gen.stdout.readline()).strip() != b"ready":
                raise RuntimeError("the load generator did not start")
            if self.args.pin:
                os.sched_setaffinity(gen.pid, {1 % (os.cpu_count() or 1)})
            self.placement.append(
                ("load generator (" + label + ")", str(gen.pid), affinity(gen.pid))
            )
            roles = {**roles, "generator": [gen.pid]}
            roles["postgres"] = await postgres_pids(pg, self.database)
            meter = CpuMeter(roles)
            meter.begin()
            gen.stdin.write(b"go\n")
            await gen.stdin.drain()
            line = await gen.stdout.readline()
            roles["postgres"] = sorted(
                set(roles["postgres"]) | set(await postgres_pids(pg, self.database))
            )
            cpu = meter.end(roles)
            result = json.loads(line)
        finally:
            with contextlib.suppress(ProcessLookupError):
                gen.kill()
            await gen.wait()
        phase = Phase(label, spec.mode, result, cpu)
        log(
            f"{label}: {phase.ok}/{result['count']} answered 200 in {result['wall']:.2f} s, "
            f"{phase.rate:.0f}/s, p99 {phase.lat(99):.1f} ms"
        )
        return phase


async def watch(pg: asyncpg.Connection, telegram: TimedTelegram, series: list[Any]) -> None:
    """Every 5 s: inbox queued/done, outbox pending/sent, sends seen by the fake Telegram."""
    t0 = time.monotonic()
    while True:
        inbox = await queue_counts(pg)
        rows = await pg.fetch("SELECT status, count(*) AS n FROM outbox_message GROUP BY status")
        outbox = {str(r["status"]): int(r["n"]) for r in rows}
        sends = sum(1 for _, m, _ in telegram.stamps if m in ("sendMessage", "sendDocument"))
        series.append(
            (
                time.monotonic() - t0,
                inbox.get("queued", 0),
                inbox.get("done", 0),
                outbox.get("pending", 0) + outbox.get("sending", 0),
                sends,
            )
        )
        await asyncio.sleep(5.0)


async def queue_counts(pg: asyncpg.Connection) -> dict[str, int]:
    rows = await pg.fetch("SELECT status, count(*) AS n FROM inbound_message GROUP BY status")
    return {str(r["status"]): int(r["n"]) for r in rows}


async def wait_empty(pg: asyncpg.Connection, seconds: float) -> dict[str, int]:
    """Poll the inbox until nothing is queued, or `seconds` pass; the last counts."""
    t0 = time.monotonic()
    counts = await queue_counts(pg)
    while counts.get("queued", 0) > 0 and time.monotonic() - t0 < seconds:
        await asyncio.sleep(0.25)
        counts = await queue_counts(pg)
    return counts


# The first reply of a turn is keyed by the inbound message it answers (bot/outbox/rows.py).
FIRST_REPLY = "o.idempotency_key = 'reply:' || i.channel || ':' || i.message_id || ':0'"


async def end_to_end(pg: asyncpg.Connection, since: float) -> dict[str, Any]:
    """Turns of the updates received since `since` (epoch s): how many, when the last ended."""
    row = await pg.fetchrow(
        "SELECT count(*) AS n, count(*) FILTER (WHERE i.status = 'done') AS done, "
        "count(o.id) AS replied, extract(epoch FROM max(i.processed_at)) AS done_at, "
        "extract(epoch FROM max(o.created_at)) AS replied_at "
        f"FROM inbound_message i LEFT JOIN outbox_message o ON {FIRST_REPLY} "
        "WHERE i.received_at >= to_timestamp($1)",
        since,
    )
    assert row is not None
    ends = [float(v) for v in (row["done_at"], row["replied_at"]) if v is not None]
    return {
        "turns": int(row["n"]),
        "done": int(row["done"]),
        "replied": int(row["replied"]),
        "end": max(ends) if ends else math.nan,
    }


async def arrival_to_reply(pg: asyncpg.Connection, update_ids: list[str]) -> dict[str, Any]:
    """Per update: its inbound row's status and received_at -> first reply's created_at (ms)."""
    rows = await pg.fetch(
        "SELECT i.message_id, i.status, "
        "extract(epoch FROM (o.created_at - i.received_at)) * 1000 AS ms, "
        "extract(epoch FROM i.received_at) AS at "
        f"FROM inbound_message i LEFT JOIN outbox_message o ON {FIRST_REPLY} "
        "WHERE i.channel = 'telegram' AND i.message_id = ANY($1::text[])",
        update_ids,
    )
    done = [r for r in rows if r["status"] == "done"]
    return {
        "rows": len(rows),
        "done": len(done),
        "no_reply": sorted(str(r["message_id"]) for r in done if r["ms"] is None),
        "ms": [float(r["ms"]) for r in done if r["ms"] is not None],
        "timed": sorted((float(r["at"]), float(r["ms"])) for r in done if r["ms"] is not None),
    }


def slow_seconds(timed: Sequence[tuple[float, float]], over_ms: float) -> list[str]:
    """The seconds of the phase (from its first arrival) whose replies took over `over_ms`:
    one stall shows as one or two seconds, a machine too slow as all of them."""
    if not timed:
        return []
    first = timed[0][0]
    by_second: dict[int, list[float]] = {}
    for at, ms in timed:
        by_second.setdefault(int(at - first), []).append(ms)
    return [
        f"{second} s: {sum(1 for ms in values if ms > over_ms)} of {len(values)} "
        f"(max {max(values):.0f} ms)"
        for second, values in sorted(by_second.items())
        if max(values) > over_ms
    ]


async def execute(run: Run) -> int:
    args = run.args
    only = run.only
    telegram = TimedTelegram()
    await telegram.fake.__aenter__()
    plain_dsn = run.dsn.rsplit("/", 1)[0] + "/" + run.database
    pg = await asyncpg.connect(plain_dsn)
    me = os.getpid()
    server: subprocess.Popen[bytes] | None = None
    bare: subprocess.Popen[bytes] | None = None
    floor: subprocess.Popen[bytes] | None = None
    inbox_proc: subprocess.Popen[bytes] | None = None
    monitor: asyncio.Task[None] | None = None
    watcher: asyncpg.Connection | None = None
    profile = run.workdir / "serve.prof"
    try:
        run.placement.append(("this process: fake Telegram, monitor", str(me), affinity(me)))

        def spec(
            mode: str,
            base: str,
            first: int,
            citizens: int,
            uid: int,
            rate: float | None = None,
            seconds: float | None = None,
        ) -> LoadSpec:
            return LoadSpec(
                url=f"{base}{PATH}",
                mode=mode,
                citizens=citizens,
                first_citizen=first,
                chat_base=7_000_000_000,
                update_base=uid,
                concurrency=args.concurrency,
                rate=args.rate if rate is None else rate,
                seconds=args.open_seconds if seconds is None else seconds,
                active=args.active,
            )

        open_citizens = max(1, math.ceil(args.rate * args.open_seconds / STEPS)) + args.active
        # ---- bare aiohttp -------------------------------------------------------------------
        if "bare" in only:
            port = free_port()
            bare_log = run.workdir / "bare.log"
            bare = spawn([sys.executable, SELF, "_bare", str(port)], bare_log)
            if args.pin:
                os.sched_setaffinity(bare.pid, {0})
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base, bare, bare_log)
            run.placement.append(("bare aiohttp server", str(bare.pid), affinity(bare.pid)))
            roles = {"server": [bare.pid], "bench+fake": [me]}
            await run.load("bare warm-up", spec("closed", base, 0, WARMUP_CITIZENS, 1), roles, pg)
            run.phases.append(
                await run.load("bare closed", spec("closed", base, 0, args.citizens, 1), roles, pg)
            )
            if args.open_seconds > 0:
                run.phases.append(
                    await run.load("bare open", spec("open", base, 0, open_citizens, 1), roles, pg)
                )
            await stop(bare)
            bare = None

        # ---- the raw floor: a simplified turn inside each request ----------------------------
        if "floor" in only:
            port = free_port()
            floor_log = run.workdir / "floor.log"
            floor = spawn([sys.executable, SELF, "_floor", str(port), plain_dsn], floor_log)
            if args.pin:
                os.sched_setaffinity(floor.pid, {0})
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base, floor, floor_log)
            run.placement.append(("raw floor server", str(floor.pid), affinity(floor.pid)))
            roles = {"server": [floor.pid], "bench+fake": [me]}
            floor_phases = [
                await run.load(
                    "floor warm-up", spec("closed", base, 100_000, WARMUP_CITIZENS, 1), roles, pg
                )
            ]
            floor_phases.append(
                await run.load(
                    "floor closed",
                    spec("closed", base, 200_000, args.citizens, 10_000_000),
                    roles,
                    pg,
                )
            )
            run.phases.append(floor_phases[-1])
            if args.open_seconds > 0:
                floor_phases.append(
                    await run.load(
                        "floor open",
                        spec("open", base, 300_000, open_citizens, 20_000_000),
                        roles,
                        pg,
                    )
                )
                run.phases.append(floor_phases[-1])
            await stop(floor)
            floor = None
            answered = sum(p.ok for p in floor_phases)
            for phase in floor_phases:
                if phase.bad:
                    run.failures.append(f"{phase.label}: not answered 200: {phase.bad}")
            turns = await pg.fetchval("SELECT count(*) FROM floor_outbox")
            seen = await pg.fetchval("SELECT count(*) FROM floor_update")
            run.notes["floor_rows"] = (int(seen), int(turns))
            if turns != answered or seen != answered:
                run.failures.append(
                    f"floor: {seen} updates and {turns} replies recorded for {answered} answered"
                )

        if not only & {"psv", "paced"}:
            return 0
        # ---- psv serve ----------------------------------------------------------------------
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        if args.separate_inbox:
            serve.append("--no-inbox")
        launcher = [SELF, "_inbox_off"] if args.inbox_off else [PSV]  # Python scripts both
        python = [sys.executable, "-m", "cProfile", "-o", str(profile)] if args.profile else []
        command = [*(python or [sys.executable]), *launcher, *serve]
        server_log = run.workdir / "server.log"
        server = spawn(command, server_log, env=run.env(port, telegram.fake.url), cwd=run.workdir)
        if args.pin:
            os.sched_setaffinity(server.pid, {0})
        await wait_healthy(base, server, server_log)
        run.placement.append(("psv serve", str(server.pid), affinity(server.pid)))
        for child in descendants(server.pid):
            run.placement.append(("  its child (inbox process)", str(child), affinity(child)))
        roles = {"server": [server.pid], "bench+fake": [me]}
        if args.separate_inbox:
            # Turns run in their own process at a lower priority, as on a real deployment
            # where they would run on other hosts: the webhooks keep their latency.
            inbox_proc = spawn(
                [sys.executable, PSV, "inbox", "--idle"],
                run.workdir / "inbox.log",
                env=run.env(port, telegram.fake.url),
                cwd=run.workdir,
            )
            run.placement.append(("psv inbox --idle", str(inbox_proc.pid), "any"))
            roles["inbox"] = [inbox_proc.pid]
        watcher = await asyncpg.connect(plain_dsn)
        monitor = asyncio.create_task(watch(watcher, telegram, run.notes.setdefault("series", [])))
        uid = 1_000_000_000  # new update_ids (and chats): a repeated id would be a redelivery
        warm = await run.load(
            "psv warm-up", spec("closed", base, 100_000, WARMUP_CITIZENS, uid), roles, pg
        )
        sent_ids = warm.ok
        if warm.bad:
            run.failures.append(f"{warm.label}: valid updates not answered 200: {warm.bad}")
        await wait_empty(pg, args.drain_seconds)  # the warm-up's turns out of the way

        if "psv" in only:
            sent_ids += await psv_phases(run, spec, base, uid, open_citizens, roles, pg)
        if "paced" in only:
            sent_ids += await paced_phase(run, spec, base, uid, roles, pg)
        counts = await queue_counts(pg)
        if sum(counts.values()) != sent_ids:
            run.failures.append(
                f"inbound rows {sum(counts.values())} != updates answered 200 ({sent_ids})"
            )
        rows = await pg.fetch("SELECT status, count(*) AS n FROM outbox_message GROUP BY status")
        run.notes["outbox_rows"] = {str(r["status"]): int(r["n"]) for r in rows}
    finally:
        if monitor is not None:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
        if watcher is not None:
            await watcher.close()
        await stop(bare)
        await stop(floor)
        if inbox_proc is not None:
            await stop(inbox_proc)
        code = await stop(server)
        with contextlib.suppress(Exception):
            await pg.close()
        await telegram.fake.__aexit__(None, None, None)
    run.notes["server_exit"] = code
    if code not in (0, None):
        run.failures.append(f"psv serve exited with {code}")
    run.notes["sends"] = telegram.sends()
    run.notes["other_calls"] = Counter(
        m for _, m, _ in telegram.stamps if m not in ("sendMessage", "sendDocument")
    )
    if args.profile and profile.exists():
        run.notes["profile"] = profile_text(profile)
        if args.profile_out:
            shutil.copyfile(profile, args.profile_out)
    return 0


async def psv_phases(
    run: Run,
    spec: Any,
    base: str,
    uid: int,
    open_citizens: int,
    roles: dict[str, list[int]],
    pg: asyncpg.Connection,
) -> int:
    """Closed and open load on `psv serve`, the inbox drain, the outbox alone; updates sent."""
    args = run.args
    before = await queue_counts(pg)
    roles["postgres"] = await postgres_pids(pg, run.database)
    whole = CpuMeter(roles)  # from the first update of the load to the end of the drain
    whole.begin()
    since = time.time()
    load_t0 = time.monotonic()
    closed = await run.load(
        "psv closed", spec("closed", base, 200_000, args.citizens, uid + 10_000_000), roles, pg
    )
    run.phases.append(closed)
    loads = [closed]
    if args.open_seconds > 0:
        opened = await run.load(
            "psv open", spec("open", base, 300_000, open_citizens, uid + 20_000_000), roles, pg
        )
        run.phases.append(opened)
        loads.append(opened)
    load_wall = time.monotonic() - load_t0
    for phase in loads:
        if phase.bad:
            run.failures.append(f"{phase.label}: valid updates not answered 200: {phase.bad}")

    # ---- inbox drain and outbox -------------------------------------------------------------
    counts = await queue_counts(pg)
    queued0, done0 = counts.get("queued", 0), counts.get("done", 0)
    run.notes.update(
        accepted=sum(counts.values()),
        queued_at_end=queued0,
        load_turns=done0 - before.get("done", 0),
        load_wall=load_wall,
    )
    log(f"inbox after the load: {counts}")
    roles["postgres"] = sorted(set(roles["postgres"]) | set(await postgres_pids(pg, run.database)))
    meter = CpuMeter(roles)
    meter.begin()
    drain_t0 = time.monotonic()
    counts = await wait_empty(pg, args.drain_seconds)
    queued = counts.get("queued", 0)
    drain_end = time.monotonic()
    roles["postgres"] = sorted(set(roles["postgres"]) | set(await postgres_pids(pg, run.database)))
    run.notes["drain_cpu"] = meter.end(roles)
    run.notes["e2e_cpu"] = whole.end(roles)
    log(f"inbox after the drain window: {counts}")
    run.notes.update(
        drain_wall=drain_end - drain_t0,
        drain_turns=counts.get("done", 0) - done0,
        drained=queued == 0,
        queued_left=queued,
    )
    e2e = await end_to_end(pg, since)
    e2e["wall"] = e2e["end"] - since
    e2e["answered"] = sum(p.ok for p in loads)
    run.notes["e2e"] = e2e
    # The outbox worker alone (nothing else running in the server) when the inbox is empty.
    windows = [
        ("during the load", load_t0, drain_t0),
        ("during the inbox drain", drain_t0, drain_end),
    ]
    if args.outbox_seconds > 0:
        meter = CpuMeter(roles)
        meter.begin()
        await asyncio.sleep(args.outbox_seconds)
        label = "after (inbox empty)" if queued == 0 else "after (inbox still busy)"
        windows.append((label, drain_end, time.monotonic()))
        run.notes["outbox_cpu"] = meter.end(roles)
    run.notes["windows"] = windows
    return sum(p.ok for p in loads)


async def paced_phase(
    run: Run,
    spec: Any,
    base: str,
    uid: int,
    roles: dict[str, list[int]],
    pg: asyncpg.Connection,
) -> int:
    """Updates at a fixed rate; webhook latency, then arrival-to-reply-queued from the rows."""
    args = run.args
    backlog = (await wait_empty(pg, args.drain_seconds)).get("queued", 0)
    citizens = max(1, math.ceil(args.paced_rate * args.paced_seconds / STEPS)) + args.active
    first = uid + 30_000_000
    load = spec("open", base, 400_000, citizens, first, args.paced_rate, args.paced_seconds)
    roles["postgres"] = await postgres_pids(pg, run.database)
    meter = CpuMeter(roles)
    meter.begin()
    phase = await run.load("psv paced", load, roles, pg)
    run.phases.append(phase)
    if phase.bad:
        run.failures.append(f"{phase.label}: valid updates not answered 200: {phase.bad}")
    t0 = time.monotonic()
    counts = await wait_empty(pg, args.drain_seconds)
    roles["postgres"] = sorted(set(roles["postgres"]) | set(await postgres_pids(pg, run.database)))
    cpu = meter.end(roles)
    ids = [str(first + index) for index in range(phase.result["count"])]
    figures = await arrival_to_reply(pg, ids)
    run.notes["paced"] = {
        **figures,
        "phase": phase,
        "cpu": cpu,
        "backlog_before": backlog,
        "left_queued": counts.get("queued", 0),
        "drain_after": time.monotonic() - t0,
    }
    if figures["rows"] != phase.ok:
        run.failures.append(f"paced: {figures['rows']} inbound rows for {phase.ok} answered 200")
    if figures["no_reply"]:
        run.failures.append(
            f"paced: {len(figures['no_reply'])} updates done without a first reply "
            f"(e.g. update_id {figures['no_reply'][0]})"
        )
    return phase.ok


def profile_text(path: Path) -> str:
    """Own time by package, then the top functions by own and cumulative time."""
    import io

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    by_package: Counter[str] = Counter()
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        by_package[package_of(filename, function)] += row[2]
    total = sum(by_package.values())
    out.write(f"own time by package (total {total:.1f} s under cProfile):\n")
    for name, seconds in by_package.most_common(14):
        out.write(f"  {name:34} {seconds:7.2f} s  {100 * seconds / total:5.1f}%\n")
    out.write("\n")
    stats.strip_dirs().sort_stats("tottime").print_stats(25)
    return out.getvalue()


def package_of(filename: str, function: str) -> str:
    """A short name for where a profiled function lives."""
    if filename == "~":
        return "builtins: " + (function.split("'")[1] if "'" in function else function)[:24]
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    for mine in ("bot", "core"):
        if mine in parts:
            return f"{mine}/ (PSV)"
    return "stdlib: " + Path(filename).stem


# --------------------------------------------------------------------------- report


def machine_facts(pg_version: str) -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu = value.strip()
                break
    logical = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0))
    return {
        "CPU": cpu,
        "cores": f"{logical} logical, {usable} usable",
        "OS": f"{platform.system()} {platform.release()} {platform.machine()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "PostgreSQL": pg_version,
        "aiohttp / SQLAlchemy / asyncpg": (
            f"{aiohttp.__version__} / {sqlalchemy.__version__} / {asyncpg.__version__}"
        ),
        "event loop": "asyncio default (no uvloop), one process",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def shares(cpu: dict[str, float]) -> str:
    """CPU of each role as % of one core over the phase's wall time."""
    roles = ("server", "generator", "postgres", "bench+fake", "other")
    return ", ".join(f"{k} {100 * cpu[k] / cpu['wall']:.0f}%" for k in roles if k in cpu)


def per_turn(cpu: dict[str, float], role: str, turns: int) -> float:
    """CPU ms per turn of one role."""
    return 1000 * cpu.get(role, 0.0) / max(turns, 1)


def report_floor(run: Run) -> None:
    """The raw floor against PSV end to end, and the ratio issue 16 asks for."""
    by = {p.label: p for p in run.phases}
    floor, e2e = by.get("floor closed"), run.notes.get("e2e")
    if floor is None and e2e is None:
        return
    print("\nturns end to end: the raw floor against PSV (issue 16)")
    if floor is not None:
        c = floor.cpu
        print(
            f"  raw floor (aiohttp + asyncpg, dedupe, locked load, state update, outbox insert "
            f"inside the request), closed loop: {floor.rate:.0f} turns/s, p99 {floor.lat(99):.1f}"
            f" ms; CPU per turn: server {per_turn(c, 'server', floor.ok):.2f} ms, PostgreSQL "
            f"{per_turn(c, 'postgres', floor.ok):.2f} ms"
        )
        if "floor open" in by:
            p = by["floor open"]
            print(
                f"  raw floor, open loop: {p.rate:.0f} turns/s of {run.args.rate:.0f} offered, "
                f"p99 {p.lat(99):.1f} ms"
            )
    if e2e is not None:
        c = run.notes["e2e_cpu"]
        unfinished = e2e["turns"] - e2e["done"]
        # Not drained in --drain-seconds: the rate (and CPU) of the turns done so far.
        rate = e2e["done"] / e2e["wall"] if e2e["wall"] > 0 else math.nan
        print(
            f"  PSV end to end: {e2e['turns']} updates accepted ({e2e['answered']} answered 200)"
            f", {e2e['done']} turns done, {e2e['replied']} first replies queued; from the first "
            f"update of the load to the last turn done and its reply queued: {e2e['wall']:.1f} s"
            f" = {rate:.0f} turns/s"
            + (
                f" ({unfinished} NOT finished in --drain-seconds: the rate of those done)"
                if unfinished
                else ""
            )
        )
        print(
            f"  PSV CPU per turn over that time: server + its inbox processes "
            f"{per_turn(c, 'server', e2e['done']):.2f} ms"
            + (
                f" (+ separate inbox {per_turn(c, 'inbox', e2e['done']):.2f} ms)"
                if "inbox" in c
                else ""
            )
            + f", PostgreSQL {per_turn(c, 'postgres', e2e['done']):.2f} ms; rest of the "
            f"machine (load generator, this process, other work) {c.get('other', 0):.1f} s of "
            f"{c['wall']:.1f} s"
        )
        windows = run.notes.get("windows", [])[:2]
        if windows:
            t0, t1 = windows[0][1], windows[-1][2]
            sent = sum(1 for t, _ in run.notes.get("sends", []) if t0 <= t < t1)
            print(
                f"  in that time PSV's outbox worker also sent {sent} messages to the fake "
                "Telegram (counted in PSV's CPU; the floor only queues its replies)"
            )
        if floor is not None:
            ratio = rate / floor.rate
            verdict = (
                "met, and the aim"
                if ratio >= AIM_RATIO
                else ("met" if ratio >= TARGET_RATIO else "NOT met")
            )
            print(
                f"  ratio PSV / floor: {ratio:.3f} (target >= {TARGET_RATIO}, aim "
                f"{AIM_RATIO}) -> {verdict}"
            )
            server = per_turn(c, "server", e2e["done"]) / per_turn(floor.cpu, "server", floor.ok)
            database = per_turn(c, "postgres", e2e["done"]) / per_turn(
                floor.cpu, "postgres", floor.ok
            )
            print(f"  CPU per turn PSV / floor: server {server:.1f}x, PostgreSQL {database:.1f}x")


def report_paced(run: Run) -> None:
    """The paced phase: webhook latency and arrival-to-reply-queued, from the rows."""
    paced = run.notes.get("paced")
    if paced is None:
        return
    phase: Phase = paced["phase"]
    args = run.args
    ms = paced["ms"]
    print(
        f"\npaced: {args.paced_rate:.0f} updates/s for {args.paced_seconds:g} s "
        f"({phase.result['count']} updates; queued before it: {paced['backlog_before']})"
    )
    print(
        f"  webhook latency (from the scheduled send): p50 {phase.lat(50):.1f} ms, p99 "
        f"{phase.lat(99):.1f} ms, max {phase.lat(100):.1f} ms "
        f"(target p99 <= {TARGET_P99_MS:.0f} ms -> "
        f"{'met' if phase.lat(99) <= TARGET_P99_MS else 'NOT met'})"
    )
    print(
        f"  arrival (inbound received_at) to first reply queued (its outbox created_at), "
        f"{len(ms)} turns: p50 {pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms, max "
        f"{pct(ms, 100):.1f} ms (target p99 <= {TARGET_REPLY_P99_MS:.0f} ms -> "
        f"{'met' if pct(ms, 99) <= TARGET_REPLY_P99_MS else 'NOT met'})"
    )
    slow = slow_seconds(paced["timed"], TARGET_REPLY_P99_MS)
    if slow:
        print(f"  seconds with replies over {TARGET_REPLY_P99_MS:.0f} ms: " + "; ".join(slow))
    c = paced["cpu"]
    print(
        f"  {paced['done']} of {paced['rows']} turns done, {paced['left_queued']} still queued "
        f"{paced['drain_after']:.1f} s after the load; CPU over the phase per turn (the outbox "
        f"still sending earlier replies included): PSV "
        f"{per_turn(c, 'server', phase.ok):.2f} ms, PostgreSQL "
        f"{per_turn(c, 'postgres', phase.ok):.2f} ms; CPU (% of one core): {shares(c)}"
    )


def report(run: Run, facts: dict[str, str], command: str) -> None:
    """Print every figure of the run, as Markdown-friendly text."""
    args = run.args
    facts = {**facts, "load average at end": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    print(f"\n# Webhook benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"command: {command}\n")
    for key, value in facts.items():
        print(f"{key:32} {value}")
    print("\nwhere each process runs (CPU affinity; the kernel schedules within it):")
    for role, pid, cpus in run.placement:
        print(f"  {role:42} pid {pid:>7}  CPUs {cpus}")
    print(
        "  PostgreSQL (backends + background)         CPUs "
        + affinity(os.getpid())
        + " (not pinned)"
    )
    if args.inbox_off:
        print("\nNOTE: --inbox-off: the server's inbox processors were paused (diagnostic run)")
    if args.profile:
        print("\nNOTE: --profile: the server ran under cProfile; its timings are inflated")

    print(
        f"\nload: {STEPS} messages per citizen; closed loop = {args.citizens} citizens "
        f"x {STEPS} = {args.citizens * STEPS} updates over {args.concurrency} connections; "
        f"open loop = {args.rate:.0f} updates/s offered for {args.open_seconds:g} s "
        f"(<= {MAX_IN_FLIGHT} in flight); about {args.active} conversations active at a time\n"
    )
    head = (
        "| phase | updates | 200 | wall s | updates/s | p50 ms | p95 ms | p99 ms | max ms |"
        " server CPU ms/update | CPU s server / gen / pg / bench / other |"
    )
    print(head)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for p in run.phases:
        c = p.cpu
        cpu = " / ".join(
            f"{c.get(k, 0):.1f}" for k in ("server", "generator", "postgres", "bench+fake", "other")
        )
        print(
            f"| {p.label} | {p.result['count']} | {p.ok} | {p.result['wall']:.2f} | {p.rate:.0f}"
            f" | {p.lat(50):.1f} | {p.lat(95):.1f} | {p.lat(99):.1f} | {p.lat(100):.1f}"
            f" | {1000 * c.get('server', 0) / max(p.ok, 1):.2f} | {cpu} |"
        )
    by = {p.label: p for p in run.phases}
    for mode in ("closed", "open"):
        psv, bare = by.get(f"psv {mode}"), by.get(f"bare {mode}")
        if psv and bare:
            print(
                f"\nPSV/bare, {mode} loop: throughput {psv.rate / bare.rate:.2f} "
                f"({psv.rate:.0f} vs {bare.rate:.0f}/s), p99 {psv.lat(99) / bare.lat(99):.1f}x "
                f"({psv.lat(99):.1f} vs {bare.lat(99):.1f} ms)"
            )
        if psv and bare and mode == "open":
            print(
                "  open loop service time (send to answer, not from schedule), p99: "
                f"{psv.lat(99, 'service_ms'):.1f} ms PSV, {bare.lat(99, 'service_ms'):.1f} ms bare"
            )
    for p in run.phases:
        print(f"  CPU during {p.label} (% of one core): {shares(p.cpu)}")

    psv_closed, psv_open = by.get("psv closed"), by.get("psv open")
    print("\ntargets (issue): >= 1,000 updates/s accepted with p99 <= 80 ms")
    for p in (q for q in (psv_closed, psv_open) if q is not None):
        rate_ok = p.rate >= TARGET_RATE * (0.98 if p.mode == "open" else 1.0)
        p99_ok = p.lat(99) <= TARGET_P99_MS
        print(
            f"  {p.label}: {p.rate:.0f} updates/s -> {'met' if rate_ok else 'NOT met'}; "
            f"p99 {p.lat(99):.1f} ms -> {'met' if p99_ok else 'NOT met'}"
        )

    n = run.notes
    if "drain_wall" in n:
        print("\ninbox (turns run by the inbox processors: psv serve's children on PostgreSQL):")
        print(
            f"  inbound rows {n['accepted']}; during the closed+open load "
            f"({n['load_wall']:.1f} s) {n['load_turns']} turns ran = "
            f"{n['load_turns'] / n['load_wall']:.1f} turns/s; queued when it ended: "
            f"{n['queued_at_end']}"
        )
        rate = n["drain_turns"] / n["drain_wall"] if n["drain_wall"] else math.nan
        if n["drained"]:
            outcome = f"the queue was empty {n['drain_wall']:.1f} s after the load ended"
        else:
            outcome = (
                f"{n['queued_left']} still queued after {n['drain_wall']:.0f} s; projected "
                f"drain {n['queued_at_end'] / max(rate, 1e-9):.0f} s"
            )
        print(f"  drain: {n['drain_turns']} turns at {rate:.1f} turns/s; {outcome}")
        print(f"  CPU during the drain (% of one core): {shares(n['drain_cpu'])}")

    report_floor(run)
    report_paced(run)

    sends: list[tuple[float, str]] = n.get("sends", [])
    print("\noutbox (sendMessage/sendDocument calls seen by the fake Telegram):")
    if sends:
        stamps = [t for t, _ in sends]
        for label, t0, t1 in n.get("windows", []):
            inside = [t for t in stamps if t0 <= t < t1]
            seconds = Counter(int(t - t0) for t in inside)
            whole = [seconds[k] for k in range(int(t1 - t0))]
            print(
                f"  {label:28} {len(inside):6} messages in {t1 - t0:5.1f} s = "
                f"{len(inside) / (t1 - t0):5.1f}/s (busiest whole second {max(whole, default=0)})"
            )
        if "outbox_cpu" in n:
            print(f"  CPU during the 'after' window (% of one core): {shares(n['outbox_cpu'])}")
        per_chat: dict[str, list[float]] = defaultdict(list)
        for t, chat in sends:
            per_chat[chat].append(t)
        overall_max = max_in_window(stamps)
        chat_max = max(max_in_window(v) for v in per_chat.values())
        print(
            f"  whole run: {len(stamps)} messages to {len(per_chat)} chats; most in any 1 s "
            f"window: {overall_max} overall (Telegram: 30/s; the pacer's bucket: "
            f"{OVERALL_RATE:.0f}/s, burst {OVERALL_BURST:.0f}), {chat_max} to one chat "
            f"(Telegram: 1/s, short bursts; bucket {CHAT_RATE:.0f}/s, burst {CHAT_BURST:.0f})"
        )
        print(f"  outbox rows at the end: {n.get('outbox_rows')}")
        overall_bound = math.floor(OVERALL_BURST + OVERALL_RATE * 1.1)
        chat_bound = math.floor(CHAT_BURST + CHAT_RATE * 1.1)
        if overall_max > overall_bound:
            run.failures.append(
                f"outbox: {overall_max} sends in 1 s > bucket bound {overall_bound}"
            )
        if chat_max > chat_bound:
            run.failures.append(f"outbox: {chat_max} sends to a chat in 1 s > bound {chat_bound}")
    else:
        print("  no sends (inbox off?)")
    if n.get("series"):
        print("\ntime line of the PSV run (every 5 s; rates over the previous interval):")
        print("| t s | inbox queued | turns/s | outbox waiting | sends/s |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        previous = None
        for t, queued, done, waiting, sent in n["series"]:
            if previous is None:
                turns = sends_rate = "-"
            else:
                dt = t - previous[0]
                turns = f"{(done - previous[2]) / dt:.0f}"
                sends_rate = f"{(sent - previous[4]) / dt:.1f}"
            print(f"| {t:.0f} | {queued} | {turns} | {waiting} | {sends_rate} |")
            previous = (t, queued, done, waiting, sent)
    if n.get("other_calls"):
        print(f"  other Bot API calls: {dict(n['other_calls'])}")
    if "profile" in n:
        print("\nserver profile (cProfile, whole server life):\n")
        print(n["profile"])
    if run.failures:
        print("\nFAILED (correctness):")
        for failure in run.failures:
            print(f"  - {failure}")
    else:
        print("\nOK: every valid update answered 200, one inbound row each, outbox within bounds")


# --------------------------------------------------------------------------- main


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


async def create_database(dsn: str) -> tuple[str, str]:
    name = f"psv_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(dsn, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        version = str(await admin.fetchval("SHOW server_version"))
    finally:
        await admin.close()
    return name, version


async def drop_database(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(dsn, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_generator"]:
        return generator_main()
    if argv[:1] == ["_bare"]:
        return bare_main(int(argv[1]))
    if argv[:1] == ["_floor"]:
        return floor_main(int(argv[1]), argv[2])
    if argv[:1] == ["_inbox_off"]:
        return inbox_off_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("PSV_BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--citizens", type=int, default=400, help="closed loop: citizens")
    parser.add_argument("--concurrency", type=int, default=40, help="closed loop: connections")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="open loop: updates/s")
    parser.add_argument("--open-seconds", type=float, default=5.0, help="open loop: seconds")
    parser.add_argument("--active", type=int, default=240, help="conversations at a time")
    parser.add_argument("--drain-seconds", type=float, default=60.0, help="inbox drain, at most")
    parser.add_argument(
        "--outbox-seconds", type=float, default=10.0, help="outbox alone, after the drain"
    )
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, generator on CPU 1")
    parser.add_argument("--inbox-off", action="store_true", help="pause the inbox processors")
    parser.add_argument(
        "--separate-inbox",
        action="store_true",
        help="serve --no-inbox, with the turns in a `psv inbox --idle` process (SCHED_IDLE)",
    )
    parser.add_argument(
        "--only",
        default=",".join(PHASES),
        help="phases to run, comma-separated: bare, floor, psv, paced (default: all)",
    )
    parser.add_argument("--paced-rate", type=float, default=300.0, help="paced: updates/s")
    parser.add_argument("--paced-seconds", type=float, default=10.0, help="paced: seconds")
    parser.add_argument("--profile", action="store_true", help="run the server under cProfile")
    parser.add_argument("--profile-out", help="with --profile: keep the .prof file here")
    args = parser.parse_args(argv)
    only = {p.strip() for p in args.only.split(",") if p.strip()}
    if not only or only - set(PHASES):
        parser.error(f"--only takes some of {', '.join(PHASES)}")
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else "python"
    command = " ".join([python, os.path.relpath(SELF), *argv])
    dsn = args.dsn.replace("postgresql+asyncpg://", "postgresql://", 1)

    signal.signal(signal.SIGTERM, _terminate)  # a plain `kill` still drops the database
    name, pg_version = asyncio.run(create_database(dsn))
    log(f"scratch database {name} (PostgreSQL {pg_version})")
    url = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name
    facts = machine_facts(pg_version)
    try:
        with tempfile.TemporaryDirectory(prefix="psv-bench-") as tmp:
            run = Run(args, dsn, name, url, Path(tmp), only=only)
            prepare_database(url, run.workdir)
            asyncio.run(execute(run))
            report(run, facts, command)
    finally:
        asyncio.run(drop_database(dsn, name))
        log(f"dropped {name}")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
