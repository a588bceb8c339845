"""Messages to send, written in the transaction of the change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, values_in
from core.states import REPLY_KIND, OutboxStatus
from core.types import utcnow

# The unsent rows, written out as a literal: only then may a query use the partial indexes
# below (a prepared statement's plan cannot know a parameter's value).
UNSENT_SQL = text(f"status IN ('{OutboxStatus.PENDING.value}', '{OutboxStatus.SENDING.value}')")


class OutboxMessage(Base):
    """A message to send, written in the transaction of the change that caused it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "due_at"),
        # The oldest due message of /metrics in one seek (migration 0009).
        Index("ix_outbox_status_due", "status", "due_at"),
        # What was last sent to an address (a typed "2" answering a notification's options).
        Index("ix_outbox_address", "channel", "address", "id"),
        # Only unsent rows (migration 0013): the worker's claim probes an address's older
        # unsent rows, never the rows already sent (its walk's index is below the class).
        Index(
            "ix_outbox_waiting_address",
            "channel",
            "address",
            "id",
            postgresql_where=UNSENT_SQL,
            sqlite_where=UNSENT_SQL,
        ),
        CheckConstraint(values_in("status", OutboxStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING.value)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(160), unique=True, default=None)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id"), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    kind: Mapped[str] = mapped_column(String(20), default=REPLY_KIND)
    # what the message is about, e.g. "appointment:12", so reminders can be withdrawn together
    subject: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), default=None, index=True)
    template: Mapped[str | None] = mapped_column(String(60), default=None)
    leased_until: Mapped[datetime | None] = mapped_column(default=None)
    provider_ids: Mapped[list[Any]] = mapped_column(default=list)
    delivery_status: Mapped[str | None] = mapped_column(String(20), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


# The worker's claim walks the unsent rows in the order it sends them (replies first).
Index(
    "ix_outbox_claim_order",
    OutboxMessage.priority.desc(),
    OutboxMessage.due_at,
    OutboxMessage.id,
    postgresql_where=UNSENT_SQL,
    sqlite_where=UNSENT_SQL,
)


class ProviderMessage(Base):
    """A platform's id for a sent message, to match delivery status callbacks."""

    __tablename__ = "provider_message"

    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), index=True)
