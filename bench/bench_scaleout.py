"""Several `psv inbox` processes on one PostgreSQL: turns/s, and the guarantees kept.

Run from the project root:

    PYTHONPATH=$PWD .venv/bin/python bench/bench_scaleout.py \
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--citizens 300] \
        [--processes 1 2] [--processors 4]

For each number of processes, on a scratch database (created here, dropped at the end):

1. `psv db upgrade` and `psv seed --demo`; a trigger made for this run only records every
   change of an inbound message's row (which row, its old and new status, when, from which
   server backend), so a message whose turn ran twice would show two changes;
2. `--citizens` citizens' whole bookings ("hola" ... "sí", 12 messages each, the script of
   bench_webhooks.py) are queued at once through `bot.inbox.InboxWriter` (what a webhook does),
   interleaved so that every citizen's messages stand in order among the others';
3. N `psv inbox` processes start together and run the turns until the queue is empty.

Printed: turns/s (queued messages over the time from the first turn's commit to the last, so
process start-up does not count), and the checks, which fail the run (exit code 1) when broken:
every message's turn ran exactly once (one recorded change, queued -> done), each citizen's
messages ran in the order they came, no citizen holds two booked appointments, and no
specialist two at once (the database's own constraint).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from subprocess import DEVNULL
from tempfile import TemporaryDirectory

import asyncpg
from bench_webhooks import script  # the same citizens as the webhook benchmark

from bot.inbox import InboxWriter
from bot.messages import Inbound
from core.db import Database

PSV = str(Path(sys.executable).parent / "psv")
TRIGGER = """
CREATE TABLE bench_turn (
    inbound_id bigint NOT NULL,
    old_status text,
    new_status text,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    backend int NOT NULL DEFAULT pg_backend_pid()
);
CREATE FUNCTION bench_turn_seen() RETURNS trigger AS $$
BEGIN
    INSERT INTO bench_turn (inbound_id, old_status, new_status)
    VALUES (NEW.id, OLD.status, NEW.status);
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER bench_turn_seen AFTER UPDATE ON inbound_message
    FOR EACH ROW EXECUTE FUNCTION bench_turn_seen();
"""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def env_for(url: str) -> dict[str, str]:
    """The environment of a `psv` subprocess on the scratch database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSV_")}
    env["PSV_DATABASE_URL"] = url
    env["PSV_LOG_LEVEL"] = "WARNING"
    return env


async def queue_all(url: str, citizens: int) -> int:
    """Queue every citizen's messages, step by step across citizens; how many were queued."""
    db = Database(url)
    writer = InboxWriter(db)
    now = datetime.now(UTC)
    queued = 0
    try:
        for step in range(len(script(0))):
            for n in range(citizens):
                chat = 700_000_000 + n
                inbound = Inbound(
                    channel="telegram",
                    user_ref=str(chat),
                    message_id=f"{chat}:{step}",
                    text=script(n)[step],
                    lang_hint="es",
                )
                queued += await writer.queue(inbound, now)
    finally:
        await writer.close()
        await db.dispose()
    return queued


async def checks(conn: asyncpg.Connection, queued: int) -> list[str]:
    """The broken guarantees, as sentences (empty when all hold)."""
    broken: list[str] = []
    left = await conn.fetchval("SELECT count(*) FROM inbound_message WHERE status <> 'done'")
    if left:
        broken.append(f"{left} messages not done")
    twice = await conn.fetchval(
        "SELECT count(*) FROM (SELECT inbound_id FROM bench_turn GROUP BY inbound_id "
        "HAVING count(*) <> 1) t"
    )
    if twice:
        broken.append(f"{twice} messages whose row changed more than once (a second turn)")
    changes = await conn.fetchval(
        "SELECT count(*) FROM bench_turn WHERE old_status = 'queued' AND new_status = 'done'"
    )
    if changes != queued:
        broken.append(f"{changes} queued -> done changes for {queued} messages")
    out_of_order = await conn.fetchval(
        """
        SELECT count(*) FROM (
            SELECT processed_at < lag(processed_at) OVER (PARTITION BY user_ref ORDER BY id) AS back
            FROM inbound_message
        ) t WHERE back
        """
    )
    if out_of_order:
        broken.append(f"{out_of_order} messages run before an earlier one of the same person")
    doubled = await conn.fetchval(
        "SELECT count(*) FROM (SELECT citizen_id FROM appointment WHERE status = 'booked' "
        "GROUP BY citizen_id HAVING count(*) > 1) t"
    )
    if doubled:
        broken.append(f"{doubled} citizens with two booked appointments")
    return broken


async def one_run(dsn: str, processes: int, citizens: int, processors: int) -> dict[str, object]:
    """Queue, run with `processes` inbox processes, measure and check; the figures."""
    name = f"psv_bench_scale_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(dsn, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = dsn.rsplit("/", 1)[0]
    url = base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name
    env = env_for(url)
    try:
        with TemporaryDirectory() as tmp:
            for command in (["db", "upgrade"], ["seed", "--demo"]):
                setup = await asyncio.create_subprocess_exec(
                    PSV, *command, env=env, cwd=tmp, stdout=DEVNULL, stderr=DEVNULL
                )
                if await setup.wait() != 0:
                    raise RuntimeError(f"psv {' '.join(command)} failed")
            conn = await asyncpg.connect(f"{base}/{name}")
            try:
                await conn.execute(TRIGGER)
                queued = await queue_all(url, citizens)
                log(f"{processes} process(es): {queued} messages queued")
                started = time.monotonic()
                procs = [
                    await asyncio.create_subprocess_exec(
                        PSV,
                        "inbox",
                        "--processors",
                        str(processors),
                        env=env,
                        cwd=tmp,
                        stdout=DEVNULL,
                        stderr=DEVNULL,
                    )
                    for _ in range(processes)
                ]
                while await conn.fetchval(
                    "SELECT count(*) FROM inbound_message WHERE status = 'queued'"
                ):
                    if any(p.returncode is not None for p in procs):
                        raise RuntimeError("a psv inbox process ended early")
                    await asyncio.sleep(0.2)
                wall = time.monotonic() - started
                for p in procs:
                    p.terminate()
                for p in procs:
                    await asyncio.wait_for(p.wait(), 30)
                first, last = await conn.fetchrow(
                    "SELECT min(at), max(at) FROM bench_turn WHERE new_status = 'done'"
                )
                span = (last - first).total_seconds()
                backends = await conn.fetchval("SELECT count(DISTINCT backend) FROM bench_turn")
                booked = await conn.fetchval(
                    "SELECT count(*) FROM appointment WHERE status = 'booked'"
                )
                broken = await checks(conn, queued)
            finally:
                await conn.close()
    finally:
        admin = await asyncpg.connect(dsn, timeout=5)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {
        "processes": processes,
        "turns": queued,
        "turns_per_s": queued / span if span else float("nan"),
        "span_s": span,
        "wall_s": wall,
        "backends": backends,
        "booked": booked,
        "broken": broken,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scale-out benchmark; exit 1 when a guarantee broke."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--citizens", type=int, default=300)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--processors", type=int, default=4)
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    print("| inbox processes | turns | turns/s | first to last turn (s) | booked | guarantees |")
    print("|---:|---:|---:|---:|---:|---|")
    failed = False
    for processes in args.processes:
        r = asyncio.run(one_run(args.dsn, processes, args.citizens, args.processors))
        broken = r["broken"]
        assert isinstance(broken, list)
        failed = failed or bool(broken)
        verdict = "; ".join(broken) if broken else "all held"
        print(
            f"| {processes} | {r['turns']} | {r['turns_per_s']:.0f} | {r['span_s']:.1f} "
            f"| {r['booked']} | {verdict} |",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
