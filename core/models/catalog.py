"""The national catalogue and what each region offers of it."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, enum_type


class Modality(enum.StrEnum):
    """How a service is delivered."""

    VIDEO = "video"
    PHONE = "phone"
    CHAT = "chat"
    IN_PERSON = "in_person"


class ServiceKind(enum.StrEnum):
    """Whether a service is booked one-to-one, held as a group event, or only informs."""

    APPOINTMENT = "appointment"
    GROUP_EVENT = "group_event"
    INFORMATION = "information"


class Tenant(Base):
    """A regional labour directorate (ISO 3166-2:PE code)."""

    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    display_name: Mapped[str] = mapped_column(String(200))
    capital: Mapped[str] = mapped_column(String(80), default="")
    timezone: Mapped[str] = mapped_column(String(40), default="America/Lima")
    languages: Mapped[list[Any]] = mapped_column(default=lambda: ["es", "en", "qu"])
    latitude: Mapped[float | None] = mapped_column(default=None)
    longitude: Mapped[float | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # {"weekdays": [0..6], "opens": "HH:MM", "closes": "HH:MM"}; None means the national default
    office_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Line(Base):
    """A line of attention grouping services (e.g. DPSC, Centro de Empleo)."""

    __tablename__ = "line"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Service(Base):
    """A service of the national catalogue, with names per language."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)
    descriptions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    modality: Mapped[Modality] = mapped_column(enum_type(Modality))
    kind: Mapped[ServiceKind] = mapped_column(enum_type(ServiceKind))
    virtual: Mapped[bool] = mapped_column(Boolean, default=True)
    default_duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    asks_description: Mapped[bool] = mapped_column(Boolean, default=False)
    popular_rank: Mapped[int | None] = mapped_column(Integer, default=None)
    info_url: Mapped[str | None] = mapped_column(String(300), default=None)

    line: Mapped[Line] = relationship(lazy="raise")


class TenantService(Base):
    """What a region offers of a catalogue service, and its booking rules."""

    __tablename__ = "tenant_service"
    __table_args__ = (
        UniqueConstraint("tenant_id", "service_id"),
        CheckConstraint("duration_minutes IS NULL OR duration_minutes > 0", name="duration"),
        CheckConstraint("min_notice_minutes >= 0", name="notice"),
        CheckConstraint("horizon_days > 0", name="horizon"),
        CheckConstraint("buffer_minutes >= 0", name="buffer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=120)
    horizon_days: Mapped[int] = mapped_column(Integer, default=30)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    intake_questions: Mapped[list[Any]] = mapped_column(default=list)
    reminder_minutes: Mapped[list[Any]] = mapped_column(default=lambda: [1440, 60])

    service: Mapped[Service] = relationship(lazy="raise")
