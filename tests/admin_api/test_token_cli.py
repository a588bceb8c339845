"""`psv admin-token create | list | revoke` on a fresh embedded database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import access

PSV = str(Path(sys.executable).with_name("psv"))


def _psv(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PSV_")}
    environ["PSV_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'psv.db'}"
    return subprocess.run(
        [PSV, *args], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120
    )


@pytest.mark.filterwarnings("ignore")
def test_create_list_revoke(tmp_path: Path) -> None:
    assert _psv(tmp_path, "seed").returncode == 0
    made = _psv(
        tmp_path,
        "admin-token",
        "create",
        "--role",
        "regional",
        "--tenant",
        "PE-ARE",
        "--name",
        "ana",
        "--expires",
        "30",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.splitlines()[-1]
    assert token.startswith("psv_") and len(token) == 4 + 43
    listed = _psv(tmp_path, "admin-token", "list")
    assert listed.returncode == 0
    row = listed.stdout.splitlines()[1].split("\t")
    assert row[1] == token[: access.PREFIX_LENGTH] and row[2:5] == ["regional", "PE-ARE", "ana"]
    assert token not in listed.stdout and access.hash_token(token) not in listed.stdout
    assert _psv(tmp_path, "admin-token", "revoke", row[0]).returncode == 0
    assert _psv(tmp_path, "admin-token", "list").stdout.splitlines()[1].split("\t")[6] != "-"
    wrong = _psv(tmp_path, "admin-token", "create", "--role", "regional")
    assert wrong.returncode == 1 and "needs a tenant" in wrong.stderr
    unknown = _psv(tmp_path, "admin-token", "revoke", "999")
    assert unknown.returncode == 1 and "no admin token 999" in unknown.stderr
