"""Settings from the environment and a `.env` file (documented in docs/operations.md)."""

from __future__ import annotations

from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LANGS = ("es", "en", "qu")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///psv.db"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(Exception):
    """A setting is wrong or missing; the message is one line naming it."""


class Settings(BaseSettings):
    """Every PSV setting; names are PSV_<FIELD> in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="PSV_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = "http://127.0.0.1:8080"
    timezone: str = "America/Lima"
    default_lang: str = "es"
    telegram_token: str | None = None
    telegram_secret: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    meeting_url: str = "https://meet.jit.si"
    session_timeout_minutes: int = 30
    whatsapp_rate: float = 80.0
    telegram_rate: float = 30.0
    outbox_workers: int = 1  # processes sending at once: each paces at its share of the rates
    # `psv serve` on PostgreSQL runs the turns in this many `psv inbox --idle` children
    # (bot/turn_processes.py); 0 runs them in the server process, as on SQLite.
    inbox_processes: int = 2
    outbox_lease_seconds: float = 60.0
    # Reliability (docs/reliability.md): transient send failures are retried this long, with
    # backoff capped at a minute; the worker's name (with the host) marks its leases so a
    # restart takes them back at once.
    outbox_retry_seconds: float = 7200.0
    outbox_worker_name: str = ""
    # Slow clients: a request's headers (and an idle keep-alive connection) and its body must
    # arrive within these; a proxy in front should buffer requests (docs/operations.md).
    header_timeout_seconds: float = 15.0
    body_timeout_seconds: float = 10.0
    # One chat's flood: past a burst, this many messages a minute are run as turns; the rest
    # are kept but not answered, and the person is told once.
    flood_burst: int = 12
    flood_per_minute: float = 20.0
    twilio_templates: dict[str, str] = {}
    # ContentSid of a twilio/quick-reply template per number of buttons ("1", "2", "3")
    twilio_quick_replies: dict[str, str] = {}
    agenda_time: str = "07:30"  # local time of the specialists' morning agenda
    # Level of PSV's own loggers (libraries stay at warnings): DEBUG, INFO, WARNING, ERROR.
    log_level: str = "INFO"

    @field_validator("agenda_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, sep, minutes = value.strip().partition(":")
        if not (
            sep
            and hours.isdigit()
            and minutes.isdigit()
            and len(minutes) == 2
            and int(hours) < 24
            and int(minutes) < 60
        ):
            raise ValueError("must be a local time HH:MM, e.g. 07:30")
        return f"{int(hours):02d}:{minutes}"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must be an async SQLAlchemy URL: sqlite+aiosqlite:///FILE or "
                "postgresql+asyncpg://USER@HOST/DB"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_lang")
    @classmethod
    def _supported_lang(cls, value: str) -> str:
        if value not in SUPPORTED_LANGS:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGS)}")
        return value

    @field_validator("whatsapp_rate", "telegram_rate")
    @classmethod
    def _positive_rate(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError("must be messages per second, more than 0 and at most 1000")
        return value

    @field_validator("inbox_processes")
    @classmethod
    def _inbox_processes(cls, value: int) -> int:
        if not 0 <= value <= 64:
            raise ValueError("must be the number of turn processes, from 0 to 64")
        return value

    @field_validator("outbox_workers")
    @classmethod
    def _worker_count(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError("must be the number of outbox worker processes, from 1 to 100")
        return value

    @field_validator(
        "outbox_retry_seconds", "header_timeout_seconds", "body_timeout_seconds", "flood_per_minute"
    )
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if not 0 < value <= 7 * 24 * 3600:
            raise ValueError("must be a positive number (of seconds, or per minute)")
        return value

    @field_validator("flood_burst")
    @classmethod
    def _burst(cls, value: int) -> int:
        if not 1 <= value <= 1000:
            raise ValueError("must be a number of messages from 1 to 1000")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("session_timeout_minutes")
    @classmethod
    def _positive_minutes(cls, value: int) -> int:
        if not 1 <= value <= 24 * 60:
            raise ValueError("must be a number of minutes from 1 to 1440")
        return value

    @field_validator("public_url", "telegram_api_url", "twilio_api_url", "meeting_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _channel_pairs(self) -> Self:
        if self.telegram_token and not self.telegram_secret:
            raise ValueError("PSV_TELEGRAM_SECRET is required when PSV_TELEGRAM_TOKEN is set")
        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            raise ValueError(
                "PSV_TWILIO_ACCOUNT_SID and PSV_TWILIO_AUTH_TOKEN must be set together"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite default kind."""
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation failure into one clear SettingsError line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ()
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        if loc:
            message = f"PSV_{str(loc[0]).upper()}: {message}"
        raise SettingsError(message) from None
