"""Group events (training sessions) and the seats citizens take in them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_type
from core.types import utcnow


class EventStatus(enum.StrEnum):
    """A group event is scheduled until it is cancelled."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RegistrationStatus(enum.StrEnum):
    """A seat in a group event: confirmed, waiting in order, or given up."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class GroupEvent(Base):
    """A training session with a fixed number of seats and a waitlist."""

    __tablename__ = "group_event"
    __table_args__ = (
        CheckConstraint("seats > 0", name="seats"),
        CheckConstraint("confirmed_count >= 0 AND confirmed_count <= seats", name="count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    title: Mapped[str] = mapped_column(String(200))
    start_utc: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(Integer, default=90)
    seats: Mapped[int] = mapped_column(Integer)
    session_link: Mapped[str | None] = mapped_column(String(300), default=None)
    status: Mapped[EventStatus] = mapped_column(
        enum_type(EventStatus), default=EventStatus.SCHEDULED
    )
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
    last_position: Mapped[int] = mapped_column(Integer, default=0)


class EventRegistration(Base):
    """A citizen's place in a group event; `position` orders arrivals (waitlist order)."""

    __tablename__ = "event_registration"
    __table_args__ = (
        UniqueConstraint("event_id", "citizen_id"),
        UniqueConstraint("event_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("group_event.id"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(enum_type(RegistrationStatus))
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20), default="console")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
