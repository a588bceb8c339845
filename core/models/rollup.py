"""Appointment counts per local day, region and service, kept by triggers (migration 0011).

The triggers on `appointment` keep both tables equal to counting the appointments
themselves, by the local day in America/Lima (UTC-5): the dashboard and /reports read
them instead of grouping every appointment of a period.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class AppointmentDaily(Base):
    """Booked (by booking day), attended and no-shows (by start day), cancelled (by cancel day)."""

    __tablename__ = "appointment_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booked: Mapped[int] = mapped_column(Integer, server_default="0")
    attended: Mapped[int] = mapped_column(Integer, server_default="0")
    no_shows: Mapped[int] = mapped_column(Integer, server_default="0")
    cancelled: Mapped[int] = mapped_column(Integer, server_default="0")


class AppointmentWaitDaily(Base):
    """First bookings per booking day and whole minutes of wait: a histogram for medians."""

    __tablename__ = "appointment_wait_daily"
    __table_args__ = (
        Index(
            "ix_appointment_wait_daily_several",
            "day",
            postgresql_where=text("bookings > 1"),
            sqlite_where=text("bookings > 1"),
        ),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wait_minutes: Mapped[int] = mapped_column(Integer, primary_key=True)
    bookings: Mapped[int] = mapped_column(Integer, server_default="0")
