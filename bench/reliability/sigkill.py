"""SIGKILL `psv serve` three times while citizens book; count what was lost or duplicated.

    .venv/bin/python bench/reliability/sigkill.py [--citizens 30] [--kills 3] [--runs 1]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--seed 1]

Each run: a scratch database, `psv serve` (inbox and outbox worker on, as deployed), the
citizens each walking a booking from "hola" to the confirmation, several at once. At random
moments the server gets SIGKILL and is started again at once. Then the queues drain and the
figures are counted (bench/reliability/common.py). Targets: 0 acknowledged updates lost,
0 turns never run, 0 confirmations delivered twice, 0 bookings twice, every citizen
confirmed, 0 5xx. Replies delivered twice are counted and reported (the one window left:
a kill between the platform's answer and the record's commit). Bounded: a run gives up
after about 6 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.reliability.common import Harness, chats, report, say


async def one_run(args: argparse.Namespace, seed: int) -> tuple[bool, list[str], Harness]:
    rng = random.Random(seed)
    async with Harness(args.dsn) as harness:
        people = chats(args.citizens)
        started = time.monotonic()
        walks = [
            asyncio.create_task(harness.walk(n, chat, reply_wait=30))
            for n, chat in enumerate(people)
        ]
        restarts: list[float] = []
        for _ in range(args.kills):
            await asyncio.sleep(rng.uniform(2.0, 6.0))
            await harness.stop(signal.SIGKILL)
            t = time.monotonic()
            await harness.start()
            restarts.append(time.monotonic() - t)
        await asyncio.wait_for(asyncio.gather(*walks), timeout=300)
        await harness.settle(60)
        figures = await harness.figures(people)
        elapsed = time.monotonic() - started
        levels = harness.log_levels()
    five = sum(n for status, n in figures.answers.items() if status >= 500)
    ok = (
        figures.lost_updates == 0
        and figures.unprocessed == 0
        and figures.duplicated_confirmations == 0
        and figures.citizens_with_two_bookings == 0
        and figures.confirmed_citizens == args.citizens
        and five == 0
    )
    lines = [
        f"run seed {seed}: {args.citizens} citizens, {args.kills} SIGKILLs, {elapsed:.0f} s",
        *figures.lines(),
        "restart to healthy s: " + ", ".join(f"{s:.1f}" for s in restarts),
        f"server log lines by level: {dict(levels)}",
    ]
    return ok, lines, harness


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--citizens", type=int, default=30)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    all_ok, lines = True, []
    harness = None
    for run in range(args.runs):
        say(f"run {run + 1} of {args.runs}")
        ok, run_lines, harness = await one_run(args, args.seed + run)
        all_ok &= ok
        lines += [*run_lines, f"run verdict: {'PASS' if ok else 'FAIL'}"]
    assert harness is not None
    return report(
        "SIGKILL of psv serve under bookings",
        "python bench/reliability/sigkill.py " + " ".join(sys.argv[1:]),
        harness,
        lines,
        all_ok,
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
