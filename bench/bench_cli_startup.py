"""Start-up cost of the commands: `psv --help`, `psv parse-date`, `psv-admin --help`.

Each command runs N times in a fresh process; CPU is the child's user+system time.
Run: .venv/bin/python bench/bench_cli_startup.py [N]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PSV = str(Path(sys.executable).with_name("psv"))
PSV_ADMIN = str(Path(sys.executable).with_name("psv-admin"))
COMMANDS = {
    "psv --help": [PSV, "--help"],
    "psv parse-date": [
        PSV,
        "parse-date",
        "el lunes a las 10",
        "--now",
        "2027-03-15T16:30:00-05:00",
    ],
    "psv-admin --help": [PSV_ADMIN, "--help"],
}


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSV_")}
    print(f"{runs} runs each, {os.cpu_count()} cores")
    for label, command in COMMANDS.items():
        walls, cpus = [], []
        for _ in range(runs):
            cpu_before, start = cpu_of_children(), time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - start)
            cpus.append(cpu_of_children() - cpu_before)
        print(
            f"{label:16} wall mean {statistics.mean(walls) * 1000:6.0f} ms"
            f"  p95 {sorted(walls)[int(0.95 * (runs - 1))] * 1000:6.0f} ms"
            f"  cpu mean {statistics.mean(cpus) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
