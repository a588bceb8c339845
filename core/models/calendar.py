"""A specialist's weekly hours and breaks, and the whole days without service."""

from __future__ import annotations

import enum
from datetime import date, time

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, values_in


class ClosureKind(enum.StrEnum):
    """Why whole days are without service: a national holiday, a region's closure, a day off."""

    HOLIDAY = "holiday"
    REGIONAL = "regional"
    DAY_OFF = "day_off"


class _WeeklySpan:
    """Columns of a weekly interval in the tenant's local time; weekday 0 is Monday."""

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("start_time < end_time", name="order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)


class WorkingHours(_WeeklySpan, Base):
    """A weekly working interval of a specialist."""

    __tablename__ = "working_hours"


class WeeklyBreak(_WeeklySpan, Base):
    """A weekly break inside working hours (lunch)."""

    __tablename__ = "weekly_break"


class Closure(Base):
    """Whole days without service: national holiday (no tenant), regional closure, day off."""

    __tablename__ = "closure"
    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="order"),
        CheckConstraint(values_in("kind", ClosureKind), name="kind"),
        Index("ix_closure_span", "starts_on", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), default=None)
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("specialist.id"), default=None)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
