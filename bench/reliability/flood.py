"""One citizen floods the bot (100 messages in 10 s) while 10 others book.

    .venv/bin/python bench/reliability/flood.py [--flood 100] [--seconds 10] [--others 10]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres]

First 10 citizens book alone (the baseline latency), then 10 others book while one more
sends `--flood` messages in `--seconds`. Figures: the others' reply latency p50/p99 in both
phases, how many replies the flooder got and when the last one came, how often the
flooder was told to slow down. Targets: the others' p99 under the flood within 3 times the
baseline's (plus 100 ms), the flooder told exactly once, every other citizen confirmed,
0 lost, 0 duplicated, 0 5xx. Bounded: about 2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.bench_webhooks import pct
from bench.reliability.common import Harness, chats, report, say, update
from bot import i18n


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--flood", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--others", type=int, default=10)
    args = parser.parse_args()
    notice = i18n.t("flood.slow_down", "es")
    async with Harness(args.dsn) as harness:
        baseline_people = chats(args.others)
        baseline: list[float] = []
        say("baseline: citizens alone")
        await asyncio.gather(
            *(
                harness.walk(n, chat, latencies=baseline, think=1.5)
                for n, chat in enumerate(baseline_people)
            )
        )
        people = chats(args.others, first=710_000_000)
        flooder = 720_000_000
        under: list[float] = []

        async def flood() -> float:
            started = time.monotonic()
            posts = []
            for i in range(args.flood):
                body = update(flooder, 99, 0, harness.next_update_id(), text=f"hola {i}")
                posts.append(asyncio.create_task(harness.deliver(body, give_up=30)))
                await asyncio.sleep(args.seconds / args.flood)
            await asyncio.gather(*posts)
            return started

        say("flood while others book")
        results = await asyncio.gather(
            flood(),
            *(
                harness.walk(args.others + n, chat, latencies=under, think=1.5)
                for n, chat in enumerate(people)
            ),
        )
        flood_started = results[0]
        await harness.settle(180)
        got = [(t, text) for t, chat, text in harness.telegram.received if chat == str(flooder)]
        figures = await harness.figures([*baseline_people, *people])
        levels = harness.log_levels()
    told = sum(1 for _, text in got if text == notice)
    last = (max(t for t, _ in got) - flood_started) if got else float("nan")
    base99, under99 = pct(baseline, 99), pct(under, 99)
    five = sum(n for status, n in figures.answers.items() if status >= 500)
    ok = (
        under99 <= 3 * base99 + 100
        and told == 1
        and figures.confirmed_citizens == 2 * args.others
        and figures.lost_updates == 0
        and figures.duplicated_replies == 0
        and five == 0
    )
    lines = [
        f"others' reply latency ms alone p50/p99: {pct(baseline, 50):.0f}/{base99:.0f}",
        f"others' reply latency ms under the flood p50/p99: {pct(under, 50):.0f}/{under99:.0f}",
        f"flooder: {args.flood} messages in {args.seconds:.0f} s; got {len(got)} replies, "
        f"the last {last:.1f} s after the flood began; told to slow down {told} time(s)",
        *figures.lines(),
        f"server log lines by level: {dict(levels)}",
    ]
    return report(
        "One citizen's flood",
        "python bench/reliability/flood.py " + " ".join(sys.argv[1:]),
        harness,
        lines,
        ok,
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
