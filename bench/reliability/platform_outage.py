"""A Telegram outage while citizens book: 500s, then 429 with retry_after, then back.

    .venv/bin/python bench/reliability/platform_outage.py [--citizens 20] [--outage 60]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres]

The fake Bot API answers every call with 500 for the first half of `--outage` seconds and
429 (retry_after 5) for the second half, while the citizens go on writing (they do not wait
for answers that cannot come). Then it is back. Targets: every reply delivered once and in
order, 0 given up (failed), every citizen confirmed, the queue drained within a minute of
the platform's return (the backoff is capped at 60 s). Bounded: about `--outage` + 3 min.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.reliability.common import Harness, chats, report, say

FLOOD = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 5",
    "parameters": {"retry_after": 5},
}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--citizens", type=int, default=20)
    parser.add_argument("--outage", type=float, default=60.0)
    args = parser.parse_args()
    async with Harness(args.dsn) as harness:
        people = chats(args.citizens)
        fake = harness.telegram
        walks = [
            asyncio.create_task(harness.walk(n, chat, reply_wait=4))
            for n, chat in enumerate(people)
        ]
        await asyncio.sleep(3)
        say(f"platform down for {args.outage:.0f} s")
        down_at = time.monotonic()
        fake.go_down(500)
        await asyncio.sleep(args.outage / 2)
        fake.go_down(429, FLOOD)
        await asyncio.sleep(args.outage / 2)
        fake.come_up()
        up_at = time.monotonic()
        received_during = sum(1 for t, _, _ in fake.received if down_at <= t < up_at)
        say("platform back")
        await asyncio.wait_for(asyncio.gather(*walks), timeout=240)
        await harness.settle(120)
        last = max((t for t, _, _ in fake.received), default=up_at)
        figures = await harness.figures(people)
        conn = await asyncpg.connect(harness.pg_url)
        try:
            failed = await conn.fetchval(
                "SELECT count(*) FROM outbox_message WHERE status = 'failed' "
                "AND address = ANY($1::text[])",
                [str(c) for c in people],
            )
            most_attempts = await conn.fetchval("SELECT max(attempts) FROM outbox_message")
        finally:
            await conn.close()
        levels = harness.log_levels()
    drained = last - up_at
    five = sum(n for status, n in figures.answers.items() if status >= 500)
    ok = (
        figures.lost_updates == 0
        and figures.duplicated_replies == 0
        and figures.out_of_order == 0
        and figures.undelivered == 0
        and failed == 0
        and figures.confirmed_citizens == args.citizens
        and five == 0
        and drained <= 90
    )
    lines = [
        f"{args.citizens} citizens; platform down {args.outage:.0f} s "
        "(500, then 429 retry_after 5)",
        *figures.lines(),
        f"messages accepted by the platform during the outage: {received_during}",
        f"messages given up (failed): {failed}; most tries of one message: {most_attempts}",
        f"last delivery {drained:.1f} s after the platform came back",
        f"server log lines by level: {dict(levels)}",
    ]
    return report(
        "Platform outage",
        "python bench/reliability/platform_outage.py " + " ".join(sys.argv[1:]),
        harness,
        lines,
        ok,
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
