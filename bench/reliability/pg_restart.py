"""Restart PostgreSQL while citizens book: 503s, not 500s; nothing lost, nothing twice.

    .venv/bin/python bench/reliability/pg_restart.py [--citizens 20] [--restarts 1]
        [--command "pg_ctlcluster --skip-systemctl-redirect 15 main restart"]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres]

This restarts the machine's PostgreSQL (every database on it): run it only where nothing
else uses that server. Citizens walk their bookings; a few seconds in, `--command` restarts
PostgreSQL. Webhooks should answer 503 with Retry-After while it is down (the citizens'
posts are sent again, as Telegram does), the worker should keep what it sent and could not
record. Targets: 0 acknowledged updates lost, 0 turns never run, 0 replies delivered twice,
0 bookings twice, every citizen confirmed, no 500 (503 expected), one warning and one info
line about the database per outage and no error lines. Bounded: about 4 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.reliability.common import Harness, chats, report, say

COMMAND = "pg_ctlcluster --skip-systemctl-redirect 15 main restart"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--citizens", type=int, default=20)
    parser.add_argument("--restarts", type=int, default=1)
    parser.add_argument("--command", default=COMMAND)
    args = parser.parse_args()
    async with Harness(args.dsn) as harness:
        people = chats(args.citizens)
        walks = [
            asyncio.create_task(harness.walk(n, chat, reply_wait=30))
            for n, chat in enumerate(people)
        ]
        took = []
        for _ in range(args.restarts):
            await asyncio.sleep(5)
            say(f"restarting PostgreSQL: {args.command}")
            t = time.monotonic()
            done = await asyncio.to_thread(
                subprocess.run, shlex.split(args.command), capture_output=True, timeout=120
            )
            took.append(time.monotonic() - t)
            if done.returncode != 0:
                say(f"restart failed: {done.stderr.decode(errors='replace')}")
        await asyncio.wait_for(asyncio.gather(*walks), timeout=240)
        await harness.settle(90)
        figures = await harness.figures(people)
        levels = harness.log_levels()
        database_lines = [
            line
            for line in harness.logfile.read_text(errors="replace").splitlines()
            if '"psv.database"' in line
        ]
    five_hundred = figures.answers.get(500, 0)
    ok = (
        figures.lost_updates == 0
        and figures.unprocessed == 0
        and figures.duplicated_replies == 0
        and figures.citizens_with_two_bookings == 0
        and figures.confirmed_citizens == args.citizens
        and five_hundred == 0
        and levels.get("error", 0) == 0
    )
    lines = [
        f"{args.citizens} citizens; {args.restarts} restart(s) of PostgreSQL taking "
        + ", ".join(f"{s:.1f} s" for s in took),
        *figures.lines(),
        f"server log lines by level: {dict(levels)}",
        f"database state lines in the log: {len(database_lines)}",
    ]
    return report(
        "PostgreSQL restart under traffic",
        "python bench/reliability/pg_restart.py " + " ".join(sys.argv[1:]),
        harness,
        lines,
        ok,
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
