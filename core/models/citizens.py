"""Citizens and the chat addresses they are reached at."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_type
from core.types import utcnow


class DocumentType(enum.StrEnum):
    """Identity documents (SUNAT catalogue 06 codes in comments)."""

    DNI = "dni"  # 1
    CE = "ce"  # 4, carné de extranjería
    RUC = "ruc"  # 6
    PASSPORT = "passport"  # 7


class Citizen(Base):
    """A person (or a company through its representative) who books.

    A chat address (`ChannelIdentity`) belongs to at most one citizen; the document is the
    record's own only when it was first typed from that record's chat (core/identity.py).
    """

    __tablename__ = "citizen"
    __table_args__ = (UniqueConstraint("document_type", "document_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_type: Mapped[DocumentType | None] = mapped_column(
        enum_type(DocumentType), default=None
    )
    document_number: Mapped[str | None] = mapped_column(String(20), default=None)
    name: Mapped[str | None] = mapped_column(String(160), default=None)
    representative_name: Mapped[str | None] = mapped_column(String(160), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    preferred_language: Mapped[str] = mapped_column(String(5), default="es")
    consent_at: Mapped[datetime | None] = mapped_column(default=None)
    share_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A document typed from this record's chat that already belongs to another record bound
    # to another chat (core/identity.py): kept here, unverified, never as this record's own.
    claimed_document_type: Mapped[DocumentType | None] = mapped_column(
        enum_type(DocumentType), default=None
    )
    claimed_document_number: Mapped[str | None] = mapped_column(String(20), default=None)


class ChannelIdentity(Base):
    """How a citizen is reached on a channel (a Telegram chat id, a WhatsApp number)."""

    __tablename__ = "channel_identity"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(120))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
