"""The dashboard's own settings (PSV_SAVING_SOLES, PSV_SAVING_HOURS)."""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    """What one attention without a trip saves a citizen (the case study's figures)."""

    model_config = SettingsConfigDict(
        env_prefix="PSV_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    saving_soles: float = 25.14
    saving_hours: float = 4.0

    @field_validator("saving_soles", "saving_hours")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if not 0 <= value < 1_000_000:
            raise ValueError("must be a number from 0 up")
        return value
