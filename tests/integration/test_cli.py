"""The `psv` command as an operator runs it, on a fresh embedded SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PSV = str(Path(sys.executable).with_name("psv"))


def _psv(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PSV_")}
    environ.update(PSV_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'psv.db'}", **env)
    return subprocess.run(
        [PSV, *args], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120
    )


def test_upgrade_seed_twice_then_slots(tmp_path: Path) -> None:
    upgraded = _psv(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "newest revision" in upgraded.stdout
    first = _psv(tmp_path, "seed", "--demo")
    assert first.returncode == 0, first.stderr
    assert "26 tenants" in first.stdout and "78 specialists" in first.stdout
    second = _psv(tmp_path, "seed", "--demo")
    assert second.returncode == 0
    assert "nothing changed" in second.stdout
    listed = _psv(tmp_path, "slots", "--tenant", "PE-CUS", "--count", "3")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("Next free slots for consultas-laborales in PE-CUS")
    assert len(lines) == 4 and all("(30 min, 2 free)" in line for line in lines[1:])


def test_slots_creates_the_embedded_database(tmp_path: Path) -> None:
    result = _psv(tmp_path, "slots", "--count", "2")
    assert result.returncode == 0, result.stderr
    assert "Created the embedded database" in result.stderr
    assert (tmp_path / "psv.db").exists()


def test_unknown_region_and_wrong_setting(tmp_path: Path) -> None:
    unknown = _psv(tmp_path, "slots", "--tenant", "PE-XXX")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().endswith("\npsv: not_found: no tenant PE-XXX")
    wrong = _psv(tmp_path, "seed", PSV_TIMEZONE="Lima")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines() == [
        "psv: setting error: PSV_TIMEZONE: unknown time zone 'Lima'"
    ]


def test_parse_date_prints_the_contract_json(tmp_path: Path) -> None:
    result = _psv(tmp_path, "parse-date", "el lunes a las 10", "--now", "2027-03-15T16:30:00-05:00")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "date": "2027-03-22",
        "time": "10:00",
        "period": None,
        "asap": False,
    }
    dni = _psv(tmp_path, "parse-date", "40123456", "--now", "2027-03-15T16:30:00-05:00")
    assert json.loads(dni.stdout) == {"date": None, "time": None, "period": None, "asap": False}
    bad = _psv(tmp_path, "parse-date", "hoy", "--now", "ayer")
    assert bad.returncode == 2 and "--now must be ISO 8601" in bad.stderr


def test_inbox_idle_lowers_the_process_to_sched_idle() -> None:
    """`psv inbox --idle` runs turns only on CPU time the webhooks leave free."""
    code = (
        "import os; from bot.cli.processes import idle_priority; "
        "print(os.sched_getscheduler(0) == os.SCHED_IDLE); idle_priority(); "
        "print(os.sched_getscheduler(0) == os.SCHED_IDLE)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert shown.stdout.split() == ["False", "True"]
