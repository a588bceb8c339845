"""The command line imports only what a command needs (issue 16: `psv --help` ≤ 0.3 s).

Each case runs the command in a fresh interpreter and lists the heavy packages it loaded,
so a top-level import of the engine, the database layer or the settings fails here
rather than as a slow start on an operator's machine.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "sqlalchemy",
    "aiohttp",
    "asyncpg",
    "pydantic_settings",
    "rich",
    "dateparser",
    "telegram",
    "twilio",
    "transitions",
    "babel",
)

PROBE = """
import json, sys
sys.argv = {argv!r}
from {module} import {entry}
try:
    {entry}()
except SystemExit:
    pass
heavy = {heavy!r}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set(heavy))))
"""


def _loaded(module: str, entry: str, argv: list[str]) -> set[str]:
    code = PROBE.format(argv=argv, module=module, entry=entry, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("module", "argv", "allowed"),
    [
        ("bot.cli", ["psv", "--help"], set()),
        # psv-admin prints its tables with rich, which its output module loads (about 30 ms).
        ("admin_cli.main", ["psv-admin", "--help"], {"rich"}),
    ],
)
def test_help_loads_no_heavy_package(module: str, argv: list[str], allowed: set[str]) -> None:
    """`--help` of either command loads none of the engine's or the database's packages."""
    assert _loaded(module, "main", argv) <= allowed


def test_parse_date_loads_only_the_date_reader() -> None:
    """`psv parse-date` needs dateparser and the settings, not the database or the channels."""
    loaded = _loaded(
        "bot.cli",
        "main",
        ["psv", "parse-date", "el lunes a las 10", "--now", "2026-12-04T09:00:00-05:00"],
    )
    assert "dateparser" in loaded
    assert loaded.isdisjoint({"sqlalchemy", "aiohttp", "asyncpg", "telegram", "twilio"})
