"""Specialists of a region and their competences."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class Specialist(Base):
    """A lawyer, conciliator or counsellor of one region."""

    __tablename__ = "specialist"
    __table_args__ = (
        UniqueConstraint("tenant_id", "contact_channel", "contact_address"),
        # Every inbound asks whether its address is a specialist's (bot/conversation/handlers.py).
        Index("ix_specialist_contact", "contact_channel", "contact_address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    contact_channel: Mapped[str] = mapped_column(String(20), default="telegram")
    contact_address: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SpecialistService(Base):
    """A specialist's competence for a catalogue service."""

    __tablename__ = "specialist_service"

    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialist.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), primary_key=True)
