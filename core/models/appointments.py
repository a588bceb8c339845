"""Appointments with one specialist and the satisfaction surveys after a session."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_type
from core.types import utcnow


class AppointmentStatus(enum.StrEnum):
    """Lifecycle: booked -> attended / no_show / cancelled."""

    BOOKED = "booked"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class Appointment(Base):
    """A booked time with one specialist. Never deleted: cancelled rows stay.

    `busy_until` is end plus the service's buffer: the specialist's time is taken over
    [start_utc, busy_until). On PostgreSQL an exclusion constraint (migration 0001)
    refuses two booked rows of one specialist whose ranges overlap. A citizen's time is
    [start_utc, end_utc): two booked rows of one citizen never overlap (migration 0007:
    exclusion constraint `ex_appointment_citizen_overlap` on PostgreSQL, triggers of the
    same name on SQLite). Neither is expressible in this metadata; the migrations hold them.
    """

    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("start_utc < end_utc AND end_utc <= busy_until", name="times"),
        Index(
            "uq_appointment_specialist_start_booked",
            "specialist_id",
            "start_utc",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        Index("ix_appointment_tenant_start", "tenant_id", "start_utc"),
        Index("ix_appointment_specialist_start", "specialist_id", "start_utc"),
        # The dashboard's period queries (migration 0009; INCLUDE columns 0010).
        Index(
            "ix_appointment_created",
            "created_at",
            postgresql_include=["tenant_id", "service_id", "start_utc", "rescheduled_from_id"],
        ),
        Index(
            "ix_appointment_start",
            "start_utc",
            postgresql_include=["tenant_id", "service_id", "status"],
        ),
        Index(
            "ix_appointment_cancelled",
            "cancelled_at",
            postgresql_include=["tenant_id", "service_id", "status"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist.id"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    start_utc: Mapped[datetime]
    end_utc: Mapped[datetime]
    busy_until: Mapped[datetime]
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_type(AppointmentStatus), default=AppointmentStatus.BOOKED
    )
    cancel_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    cancelled_by: Mapped[str | None] = mapped_column(String(60), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    rescheduled_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id"), default=None
    )
    session_link: Mapped[str | None] = mapped_column(String(300), default=None)
    channel: Mapped[str] = mapped_column(String(20), default="console")
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    case_description: Mapped[str | None] = mapped_column(Text, default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome_note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyResponse(Base):
    """A citizen's 1-5 satisfaction score after a session, with an optional comment."""

    __tablename__ = "survey_response"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        Index("ix_survey_tenant_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id"), unique=True, default=None
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_registration.id"), unique=True, default=None
    )
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
