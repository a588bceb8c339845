"""Time read_date over the fixture phrases (tests/fixtures/dates_es.tsv): mean and p95 µs per
call, calls/s.

Run: .venv/bin/python bench/bench_dates.py [repeats]
"Warm" lets the small dateparser result cache work, as in a running server where citizens type
the same phrases; "cold" empties that cache before every call, so every calendar date or
"dentro de N días" phrase pays a full dateparser call.
"""

import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dateparser

from bot.understanding.dates import calendar, read_date

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "dates_es.tsv"
NOW = dt.datetime.fromisoformat("2027-03-15T16:30:00-05:00")


def phrases() -> list[str]:
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0] for line in lines if line.strip() and not line.startswith("#")]


def measure(texts: list[str], repeats: int, before: Callable[[], None]) -> list[float]:
    samples: list[float] = []
    for _ in range(repeats):
        for text in texts:
            before()
            start = time.perf_counter_ns()
            read_date(text, NOW)
            samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def report(label: str, samples: list[float]) -> None:
    p95 = statistics.quantiles(samples, n=100)[94]
    mean = statistics.fmean(samples)
    print(
        f"{label:<34} calls={len(samples):>6}  mean={mean:8.1f} us  "
        f"p50={statistics.median(samples):8.1f} us  p95={p95:8.1f} us  "
        f"max={max(samples):9.1f} us  {1e6 / mean:9.0f} calls/s"
    )


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    texts = phrases()
    cache_clear = calendar.dateparser_date.cache_clear
    for text in texts:  # warm-up: imports, dateparser's language data, regex caches
        read_date(text, NOW)
    print(f"{len(texts)} fixture phrases x {repeats} repeats, Python {sys.version.split()[0]}")
    report("read_date warm (result cache on)", measure(texts, repeats, lambda: None))
    report("read_date cold (cache cleared)", measure(texts, max(1, repeats // 4), cache_clear))

    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": NOW.replace(tzinfo=None)}
    plain: list[float] = []
    for _ in range(max(1, repeats // 10)):
        for text in texts:
            start = time.perf_counter_ns()
            dateparser.parse(text, languages=["es"], settings=settings)
            plain.append((time.perf_counter_ns() - start) / 1000)
    report("plain dateparser.parse(es)", plain)


if __name__ == "__main__":
    main()
