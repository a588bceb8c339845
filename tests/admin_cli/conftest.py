"""Fixtures of the psv-admin tests: a private config folder, the CLI runner, a fake API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from admin_cli.main import app
from tests.admin_cli.fake_api import FakeApi

TOKEN = "psv_" + "A1b2" + "x" * 39
ME = {"name": "Ana Arequipa", "role": "regional", "tenant": "PE-ARE", "expires_at": None}


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own config folder and no PSV_ADMIN_* or editor from the shell."""
    folder = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    for name in ("PSV_ADMIN_URL", "PSV_ADMIN_TOKEN", "EDITOR", "VISUAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return folder / "psv-admin"


class Cli:
    """Runs psv-admin in-process like a shell would (own argv, env, stdin)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = dict(env or {})
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        merged: dict[str, Any] = {**self.env, **env}
        return self.runner.invoke(app, list(args), input=input, env=merged)


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    """A fake admin API on loopback answering /me for a regional admin of PE-ARE."""
    api = FakeApi()
    api.on("GET", "/me", (200, ME))
    api.start()
    yield api
    api.stop()


@pytest.fixture
def cli(fake: FakeApi) -> Cli:
    """psv-admin pointed at the fake API through PSV_ADMIN_URL and PSV_ADMIN_TOKEN."""
    return Cli({"PSV_ADMIN_URL": fake.url, "PSV_ADMIN_TOKEN": TOKEN})
