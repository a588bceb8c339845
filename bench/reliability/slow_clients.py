"""Slow clients: connections that send their headers or body a byte a second.

    .venv/bin/python bench/reliability/slow_clients.py [--connections 50] [--citizens 10]
        [--header-timeout 15] [--body-timeout 10]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres]

Half the connections dribble their headers, half send whole headers and then dribble the
body, one byte a second, for up to 60 s, while citizens book (baseline first, alone).
Figures: how long the server held each kind of connection before closing it (or answering
408), the citizens' reply latency alone and during, log lines by level. Targets: every slow
connection closed within its timeout plus 5 s, no log line at error level, the citizens'
p99 within 3 times the baseline's (plus 100 ms). Bounded: about 2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.bench_webhooks import pct
from bench.reliability.common import TG_SECRET, Harness, chats, report, say

LIMIT_S = 60.0


async def dribble(port: int, headers_slowly: bool) -> tuple[float, bytes]:
    """Seconds until the server closed the connection or answered, and its status line."""
    head = (
        "POST /webhooks/telegram HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 400\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {TG_SECRET}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    slow = head if headers_slowly else b'{"update_id": 1, ' + b" " * 383
    if not headers_slowly:
        writer.write(head)
    answer = asyncio.create_task(reader.readline())
    try:
        for byte in slow:
            if answer.done() or time.monotonic() - started > LIMIT_S:
                break
            writer.write(bytes([byte]))
            try:
                await writer.drain()
            except OSError:
                break
            await asyncio.wait([answer], timeout=1.0)
        line = await asyncio.wait_for(answer, timeout=5)
    except (TimeoutError, OSError):
        line = b""
    finally:
        writer.close()
    return time.monotonic() - started, line.strip()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--citizens", type=int, default=10)
    parser.add_argument("--header-timeout", type=float, default=15.0)
    parser.add_argument("--body-timeout", type=float, default=10.0)
    args = parser.parse_args()
    env = {
        "PSV_HEADER_TIMEOUT_SECONDS": str(args.header_timeout),
        "PSV_BODY_TIMEOUT_SECONDS": str(args.body_timeout),
    }
    async with Harness(args.dsn, env=env) as harness:
        baseline: list[float] = []
        say("baseline: citizens alone")
        await asyncio.gather(
            *(
                harness.walk(n, c, latencies=baseline, think=1.5)
                for n, c in enumerate(chats(args.citizens))
            )
        )
        say(f"{args.connections} slow connections while others book")
        during: list[float] = []
        people = chats(args.citizens, first=710_000_000)
        half = args.connections // 2
        results = await asyncio.gather(
            *(dribble(harness.port, n < half) for n in range(args.connections)),
            *(
                harness.walk(args.citizens + n, c, latencies=during, think=1.5)
                for n, c in enumerate(people)
            ),
        )
        slow = results[: args.connections]
        figures = await harness.figures([*chats(args.citizens), *people])
        levels = harness.log_levels()
    header_held = [s for s, _ in slow[:half]]
    body_held = [s for s, _ in slow[half:]]
    body_answers = sorted({line.decode(errors="replace") for _, line in slow[half:]})
    base99, during99 = pct(baseline, 99), pct(during, 99)
    ok = (
        max(header_held) <= args.header_timeout + 5
        and max(body_held) <= args.body_timeout + 5
        and levels.get("error", 0) == 0
        and during99 <= 3 * base99 + 100
        and figures.confirmed_citizens == 2 * args.citizens
    )
    lines = [
        f"slow headers: {len(header_held)} connections held {min(header_held):.1f}-"
        f"{max(header_held):.1f} s (header timeout {args.header_timeout:.0f} s)",
        f"slow bodies: {len(body_held)} connections held {min(body_held):.1f}-"
        f"{max(body_held):.1f} s (body timeout {args.body_timeout:.0f} s); answers {body_answers}",
        f"citizens' reply latency ms alone p50/p99: {pct(baseline, 50):.0f}/{base99:.0f}",
        f"citizens' reply latency ms during p50/p99: {pct(during, 50):.0f}/{during99:.0f}",
        *figures.lines(),
        f"server log lines by level: {dict(levels)}",
    ]
    return report(
        "Slow clients",
        "python bench/reliability/slow_clients.py " + " ".join(sys.argv[1:]),
        harness,
        lines,
        ok,
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
