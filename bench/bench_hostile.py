"""Hostile flow documents against one real `psv serve`: does /healthz stay prompt?

Run from the project root:

    .venv/bin/python bench/bench_hostile.py [--seconds 10] [--attackers 4] [--database-url URL]

What it does (on a scratch SQLite database in a temporary folder unless `--database-url`
names another, which must be empty or disposable):

1. `psv db upgrade`, `psv seed`, and a regional admin token for PE-ARE (`psv admin-token`);
2. starts `psv serve --no-worker` on a free port;
3. baseline: GET /healthz every 20 ms for `--seconds`, latency of each;
4. attack: `--attackers` clients POST hostile flow documents in a loop to the admin API's
   validate and drafts routes (a 600-byte "billion laughs" of YAML anchors and aliases, a
   document nested 20,000 levels, a 150,000-digit integer, a 64 KiB document of 5,000+ values,
   an unknown top-level key) while /healthz is polled the same way;
5. prints /healthz latency p50/p99/max in both phases, the answers to the hostile POSTs
   (status counts and their latency), the server's resident memory before and after, and a
   verdict: every hostile POST answered 4xx, /healthz p99 under 100 ms (the max is printed
   too: on a shared 2-CPU machine other work spikes it), memory growth under 50 MiB, the
   server still running. The figures go in docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
PSV = str(Path(sys.executable).with_name("psv"))

BILLION_LAUGHS = """\
flow: menu
languages: [es]
start: a
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
description: *i
steps: {a: {kind: message, prompt: {es: *i}, next: end}}
"""
DOCUMENTS = {
    "billion-laughs": BILLION_LAUGHS,
    "deep-nesting": "flow: menu\nsteps: " + "[" * 20_000 + "\n",
    "huge-integer": "flow: menu\nx: " + "9" * 150_000 + "\n",
    "many-values": "flow: menu\nsteps: [" + ",".join(["1"] * 30_000) + "]\n",
    "unknown-key": "flow: menu\nexec: os.system\n",
}


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of a list of numbers."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def psv(env: dict[str, str], *args: str) -> str:
    """Run a psv command, return its standard output (exit on failure)."""
    done = subprocess.run([PSV, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"psv {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


async def poll_health(base: str, seconds: float) -> tuple[list[float], Counter[int]]:
    """GET /healthz every 20 ms for `seconds`: latencies in ms and status counts."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            started = time.perf_counter()
            try:
                async with session.get(f"{base}/healthz") as answer:
                    await answer.read()
                    statuses[answer.status] += 1
            except (aiohttp.ClientError, TimeoutError):
                statuses[0] += 1
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(max(0.0, 0.02 - (time.perf_counter() - started)))
    return latencies, statuses


async def attack(
    base: str, token: str, seconds: float, names: list[str]
) -> tuple[Counter[tuple[str, int]], list[float]]:
    """POST the hostile documents in turn until `seconds` pass."""
    answers: Counter[tuple[str, int]] = Counter()
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            name = names[n % len(names)]
            source = DOCUMENTS[name]
            route = ("validate", "drafts")[n // len(names) % 2]
            n += 1
            url = f"{base}/api/admin/tenants/PE-ARE/flows/menu/{route}"
            started = time.perf_counter()
            try:
                async with session.post(url, json={"yaml": source}) as answer:
                    await answer.read()
                    answers[(name, answer.status)] += 1
            except (aiohttp.ClientError, TimeoutError):
                answers[(name, 0)] += 1
            latencies.append((time.perf_counter() - started) * 1000)
    return answers, latencies


def line(label: str, values: list[float]) -> str:
    """One row of latency figures."""
    return (
        f"{label:<28} n={len(values):>5}  p50={percentile(values, 50):7.1f} ms  "
        f"p99={percentile(values, 99):7.1f} ms  max={max(values, default=float('nan')):7.1f} ms"
    )


async def main() -> int:
    """Run the benchmark; exit status 1 when the verdict fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--documents", default=",".join(DOCUMENTS), help="which hostile documents, comma-separated"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="psv-hostile-") as tmp:
        url = options.database_url or f"sqlite+aiosqlite:///{tmp}/psv.db"
        env = {**os.environ, "PSV_DATABASE_URL": url, "PSV_LOG_LEVEL": "WARNING"}
        psv(env, "db", "upgrade")
        psv(env, "seed")
        token = psv(env, "admin-token", "create", "--role", "regional", "--tenant", "PE-ARE")
        token = token.strip().splitlines()[-1]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "serve.log", "w")  # noqa: SIM115, ASYNC230 (set-up, once)
        server = subprocess.Popen(  # noqa: ASYNC220 (set-up, once)
            [PSV, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
            env=env,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(200):
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                await asyncio.sleep(0.05)
            await poll_health(base, 1.0)  # warm up
            rss_before = rss_mib(server.pid)
            baseline, base_statuses = await poll_health(base, options.seconds)
            attacks = [
                attack(base, token, options.seconds, options.documents.split(","))
                for _ in range(options.attackers)
            ]
            polled, *results = await asyncio.gather(poll_health(base, options.seconds), *attacks)
            under, under_statuses = polled
            rss_after = rss_mib(server.pid)
            alive = server.poll() is None
        finally:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=10)
            log.close()
    answers: Counter[tuple[str, int]] = Counter()
    post_latencies: list[float] = []
    for counted, latencies in results:
        answers.update(counted)
        post_latencies.extend(latencies)
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; database {url.split(':', 1)[0]}"
    )
    print(f"command: {' '.join(sys.argv)}")
    print(line("/healthz baseline", baseline), dict(base_statuses))
    print(line("/healthz under attack", under), dict(under_statuses))
    print(line("hostile POSTs", post_latencies))
    for (name, status), count in sorted(answers.items()):
        print(f"  {name:<16} {status}  x{count}")
    print(f"server RSS: {rss_before:.1f} MiB before, {rss_after:.1f} MiB after")
    refused = all(400 <= status < 500 for _, status in answers)
    prompt = percentile(under, 99) < 100
    small = rss_after - rss_before < 50
    ok = refused and prompt and small and alive and set(under_statuses) == {200}
    print(
        f"verdict: {'OK' if ok else 'FAIL'} (all refused 4xx: {refused}; /healthz p99 < 100 ms: "
        f"{prompt}; memory growth < 50 MiB: {small}; server alive: {alive})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
