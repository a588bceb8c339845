"""A soak: updates at a steady rate for minutes; memory, errors, latency, lost, duplicated.

    .venv/bin/python bench/reliability/soak.py [--rate 10] [--minutes 10]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres]

Citizens walk their bookings in turn, `--rate` updates a second offered open loop (each
post its own task, so a slow answer does not lower the offered rate); each citizen books
once (rate x minutes x 60 / 12 citizens). The default rate is half of what the platform lets
through: a turn answers with about 1.7 messages and Telegram takes 30 a second, so about
17 updates/s is the most a bot can answer for long; faster, the outbox queue only grows.
The server's RSS is read every 10 s. Targets: RSS growth under 10% between minute 1 and
the last minute, 0 5xx, 0 lost, 0 duplicated, 0 double bookings, the queues drained at the
end. Bounded: `--minutes` + about 3 min.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.reliability.common import STEPS, Harness, chats, report, say


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    args.citizens = math.ceil(args.rate * args.minutes * 60 / STEPS)
    async with Harness(args.dsn) as harness:
        people = chats(args.citizens)
        rss: list[tuple[float, float]] = []
        started = time.monotonic()

        async def sample() -> None:
            while True:
                rss.append((time.monotonic() - started, harness.rss_mb()))
                await asyncio.sleep(10)

        sampler = asyncio.create_task(sample())
        say(f"{args.rate:.0f} updates/s for {args.minutes:.1f} min")
        posts = await harness.offer(args.rate, args.minutes * 60, people)
        sampler.cancel()
        await harness.settle(120)
        latencies = harness.reply_latencies(posts)
        figures = await harness.figures(people)
        figures.latencies_ms = latencies
        levels = harness.log_levels()
    at_1 = min(rss, key=lambda s: abs(s[0] - 60))
    last = rss[-1]
    growth = (last[1] - at_1[1]) / at_1[1] * 100
    five = sum(n for status, n in figures.answers.items() if status >= 500)
    ok = (
        growth < 10
        and five == 0
        and figures.lost_updates == 0
        and figures.duplicated_replies == 0
        and figures.citizens_with_two_bookings == 0
        and figures.undelivered == 0
        and figures.unprocessed == 0
        and levels.get("error", 0) == 0
    )
    lines = [
        f"{len(posts)} updates at {args.rate:.0f}/s over {args.minutes:.1f} min, "
        f"{args.citizens} citizens",
        f"RSS MB at {at_1[0]:.0f} s: {at_1[1]:.1f}; at {last[0]:.0f} s: {last[1]:.1f} "
        f"({growth:+.1f}%)",
        "RSS MB every 10 s: " + " ".join(f"{mb:.0f}" for _, mb in rss),
        *figures.lines(),
        f"server log lines by level: {dict(levels)}",
    ]
    return report(
        "Soak",
        "python bench/reliability/soak.py " + " ".join(sys.argv[1:]),
        harness,
        lines,
        ok,
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
