"""How soon a booking shows on an open dashboard page, without a reload (issue: within 2 s).

Run from the project root (needs Debian's `chromium`, as the browser tests):

    PYTHONPATH=$PWD .venv/bin/python bench/bench_dashboard_live.py [--runs 5] [--postgres DSN]

Each run starts a real `psv serve` (tests/e2e/stack.py: SQLite by default, or a scratch
PostgreSQL database with `--postgres`) with the fake Telegram, walks a citizen up to
«¿Confirmo la cita?» through the webhook, opens the national page in headless Chromium,
then taps «Sí» and times from the webhook's POST to the page's "appointments booked" figure
reading 1 (the turn, the commit, the live event, the page's update). Prints each run and the
median and worst, in milliseconds. The tests assert that the update arrives without a reload;
the time is measured here, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import asyncpg
from playwright.async_api import async_playwright

from tests.dashboard.support import make_token, tap_update, up_to_confirmation
from tests.e2e.stack import Stack

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
BOOKED = "() => document.querySelector('#totals [data-total=\"appointments\"]').textContent === '1'"


async def one_run(database_url: str | None) -> float:
    """Milliseconds from the confirming webhook to the page showing the booking."""
    with TemporaryDirectory() as tmp:
        async with Stack(Path(tmp), database_url) as stack, async_playwright() as driver:
            confirm = await up_to_confirmation(stack)
            browser = await driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = await (await browser.new_context()).new_page()
            await page.goto(stack.base + "/dashboard/login")
            await page.fill("#token", make_token(stack, "national"))
            await page.click("#sign-in")
            await page.wait_for_selector("#totals")
            await page.wait_for_function("() => !!window.EventSource")
            await asyncio.sleep(0.5)  # the event stream is open
            started = time.monotonic()
            assert await stack.tg_post(tap_update(stack, confirm, "Sí")) == 200
            await page.wait_for_function(BOOKED, timeout=30_000, polling=10)
            elapsed = (time.monotonic() - started) * 1000
            await browser.close()
            return elapsed


async def scratch(dsn: str) -> tuple[str, str]:
    """A new empty PostgreSQL database: its name and its SQLAlchemy URL."""
    name = f"psv_bench_live_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return name, f"{base}/{name}"


async def drop(dsn: str, name: str) -> None:
    """Drop a scratch database."""
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def main_async(runs: int, dsn: str | None) -> list[float]:
    """Every run's milliseconds."""
    times = []
    for n in range(runs):
        name, url = await scratch(dsn) if dsn else (None, None)
        try:
            times.append(await one_run(url))
        finally:
            if dsn and name:
                await drop(dsn, name)
        print(f"run {n + 1}: {times[-1]:.0f} ms", flush=True)
    return times


def main() -> int:
    """Print each run, the median and the worst."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", metavar="DSN", default=None)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite (embedded default)'}")
    times = asyncio.run(main_async(args.runs, args.postgres))
    print(f"median {statistics.median(times):.0f} ms, worst {max(times):.0f} ms, target 2000 ms")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
