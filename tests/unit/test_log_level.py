"""PSV_LOG_LEVEL sets the level of PSV's own loggers; a wrong value stops start-up clearly."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from bot import logs
from core.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    for name in list(os.environ):
        if name.startswith("PSV_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    psv_level = logging.getLogger("psv").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("psv").setLevel(psv_level)


def test_the_default_is_info() -> None:
    assert load_settings().log_level == "INFO"


@pytest.mark.parametrize(("given", "level"), [("debug", "DEBUG"), (" Warning ", "WARNING")])
def test_the_level_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, given: str, level: str
) -> None:
    monkeypatch.setenv("PSV_LOG_LEVEL", given)
    settings = load_settings()
    assert settings.log_level == level
    logs.configure(settings.log_level)
    assert logging.getLogger("psv.server").getEffectiveLevel() == getattr(logging, level)
    # Libraries stay at warnings whatever PSV's level.
    assert logging.getLogger("sqlalchemy").getEffectiveLevel() == logging.WARNING


@pytest.mark.parametrize("given", ["verbose", "10", ""])
def test_a_wrong_level_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv("PSV_LOG_LEVEL", given)
    with pytest.raises(SettingsError, match=r"^PSV_LOG_LEVEL: must be one of DEBUG, INFO"):
        load_settings()
