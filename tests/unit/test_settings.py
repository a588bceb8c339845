"""Settings: the defaults of docs/operations.md, and one clear line for each wrong setting."""

from __future__ import annotations

import os

import pytest

from core.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in list(os.environ):
        if name.startswith("PSV_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_follow_the_contract() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///psv.db"
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.timezone == "America/Lima"
    assert settings.default_lang == "es"
    assert settings.telegram_token is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.twilio_api_url == "https://api.twilio.com"
    assert settings.meeting_url == "https://meet.jit.si"
    assert settings.is_sqlite


def test_env_file_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("PSV_DEFAULT_LANG=qu\nPSV_PUBLIC_URL=https://psv.example/\n")
    settings = load_settings()
    assert settings.default_lang == "qu"
    assert settings.public_url == "https://psv.example"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PSV_DATABASE_URL": "mysql://x/y"}, "PSV_DATABASE_URL: must be an async SQLAlchemy URL"),
        ({"PSV_TIMEZONE": "Mars/Olympus"}, "PSV_TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ({"PSV_DEFAULT_LANG": "fr"}, "PSV_DEFAULT_LANG: must be one of es, en, qu"),
        ({"PSV_PUBLIC_URL": "psv.example"}, "PSV_PUBLIC_URL: must start with http"),
        ({"PSV_TELEGRAM_TOKEN": "123:abc"}, "PSV_TELEGRAM_SECRET is required"),
        ({"PSV_TWILIO_ACCOUNT_SID": "AC1"}, "must be set together"),
        ({"PSV_OUTBOX_WORKERS": "0"}, "PSV_OUTBOX_WORKERS: must be the number of outbox worker"),
    ],
)
def test_wrong_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert expected in message
    assert "\n" not in message
