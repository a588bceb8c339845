"""Conversation flows and conversations, inbound messages and hand-off tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement

from core.models.base import Base, values_in
from core.states import FlowStatus, InboundStatus, TicketStatus
from core.types import utcnow


class FlowVersion(Base):
    """One version of a conversation flow: national template (no tenant) or a region's own."""

    __tablename__ = "flow_version"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "version"),
        CheckConstraint(values_in("status", FlowStatus), name="status"),
        Index("ix_flow_version_lookup", "name", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), default=None)
    name: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=FlowStatus.DRAFT.value)
    created_by: Mapped[str] = mapped_column(String(80), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(default=None)


class MemoryRegion(ColumnElement[str]):
    """The region code of a conversation's memory, as each database writes it."""

    inherit_cache = True


@compiles(MemoryRegion, "postgresql")
def _memory_region_postgresql(_element: MemoryRegion, _compiler: SQLCompiler, **_: object) -> str:
    return "(memory ->> 'region')"


@compiles(MemoryRegion)
def _memory_region(_element: MemoryRegion, _compiler: SQLCompiler, **_: object) -> str:
    return "json_extract(memory, '$.region')"


class Conversation(Base):
    """A person's conversation on one channel: pinned flow version, step, answers, memory."""

    __tablename__ = "conversation"
    __table_args__ = (
        UniqueConstraint("channel", "user_ref"),
        # Conversations started per day and region (migration 0011 adds `region`).
        Index(
            "ix_conversation_created",
            "created_at",
            "region",
            postgresql_include=["channel"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_ref: Mapped[str] = mapped_column(String(120))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), default=None)
    flow_version_id: Mapped[int | None] = mapped_column(ForeignKey("flow_version.id"), default=None)
    step: Mapped[str | None] = mapped_column(String(60), default=None)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    memory: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str] = mapped_column(String(5), default="es")
    misunderstood: Mapped[int] = mapped_column(Integer, default=0)
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Computed by the database from `memory` (stored on PostgreSQL, virtual on SQLite).
    region: Mapped[str | None] = mapped_column(String(20), Computed(MemoryRegion()))


# The status as a literal, not a bound parameter: only then may a query use the partial
# indexes (a prepared statement's plan cannot know a parameter's value).
QUEUED_SQL = text(f"status = '{InboundStatus.QUEUED.value}'")
QUEUED_LITERAL: ColumnElement[str] = literal_column(f"'{InboundStatus.QUEUED.value}'")


class InboundMessage(Base):
    """Every inbound message id, recorded first: a redelivery hits the unique key.

    Webhooks queue the parsed message here (`status` "queued", `payload`); the inbox
    processor runs its turn and marks it "done" in the same transaction.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("channel", "message_id"),
        # Only queued rows (migration 0012): the claim never walks past messages done.
        Index("ix_inbound_queued", "id", postgresql_where=QUEUED_SQL, sqlite_where=QUEUED_SQL),
        Index(
            "ix_inbound_queued_person",
            "channel",
            "user_ref",
            "id",
            postgresql_where=QUEUED_SQL,
            sqlite_where=QUEUED_SQL,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(120))
    user_ref: Mapped[str] = mapped_column(String(120), default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(10), default=InboundStatus.DONE.value)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id"), default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class HandoffRequest(Base):
    """A citizen asked to talk to a person: waiting ("open"), relayed ("assigned"), "closed"."""

    __tablename__ = "handoff_request"
    __table_args__ = (
        Index("ix_handoff_tenant_status", "tenant_id", "status"),
        # Every inbound asks whether its conversation is relayed (bot/conversation/handlers.py).
        Index("ix_handoff_conversation_status", "conversation_id", "status"),
        # A specialist relays one conversation at a time, whatever path assigns it.
        Index(
            "uq_handoff_one_relay_per_specialist",
            "specialist_id",
            unique=True,
            postgresql_where=text("status = 'assigned'"),
            sqlite_where=text("status = 'assigned'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), default=None)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"), default=None)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), default=None)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id"))
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.OPEN.value)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("specialist.id"), default=None)
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(20), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
