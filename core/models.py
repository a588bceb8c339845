"""The booking core's tables: one typed SQLAlchemy metadata for every tenant."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with one metadata and stable constraint names."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


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


class DocumentType(enum.StrEnum):
    """Identity documents (SUNAT catalogue 06 codes in comments)."""

    DNI = "dni"  # 1
    CE = "ce"  # 4, carné de extranjería
    RUC = "ruc"  # 6
    PASSPORT = "passport"  # 7


class AppointmentStatus(enum.StrEnum):
    """Lifecycle: booked -> attended / no_show / cancelled."""

    BOOKED = "booked"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class RegistrationStatus(enum.StrEnum):
    """A seat in a group event: confirmed, waiting in order, or given up."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class EventStatus(enum.StrEnum):
    """A group event is scheduled until it is cancelled."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


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
    modality: Mapped[Modality] = mapped_column(_enum(Modality))
    kind: Mapped[ServiceKind] = mapped_column(_enum(ServiceKind))
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


class Specialist(Base):
    """A lawyer, conciliator or counsellor of one region."""

    __tablename__ = "specialist"
    __table_args__ = (
        UniqueConstraint("tenant_id", "contact_channel", "contact_address"),
        # Every inbound asks whether its address is a specialist's (bot/desk.py).
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
        CheckConstraint("kind IN ('holiday', 'regional', 'day_off')", name="kind"),
        Index("ix_closure_span", "starts_on", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), default=None)
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("specialist.id"), default=None)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Citizen(Base):
    """A person (or a company through its representative) who books.

    A chat address (`ChannelIdentity`) belongs to at most one citizen; the document is the
    record's own only when it was first typed from that record's chat (core/identity.py).
    """

    __tablename__ = "citizen"
    __table_args__ = (UniqueConstraint("document_type", "document_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_type: Mapped[DocumentType | None] = mapped_column(_enum(DocumentType), default=None)
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
        _enum(DocumentType), default=None
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
        _enum(AppointmentStatus), default=AppointmentStatus.BOOKED
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
    status: Mapped[EventStatus] = mapped_column(_enum(EventStatus), default=EventStatus.SCHEDULED)
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
    status: Mapped[RegistrationStatus] = mapped_column(_enum(RegistrationStatus))
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20), default="console")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who changed what, when, with the values before and after."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), default=None)
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class FlowVersion(Base):
    """One version of a conversation flow: national template (no tenant) or a region's own."""

    __tablename__ = "flow_version"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "version"),
        CheckConstraint("status IN ('draft', 'published', 'retired')", name="status"),
        Index("ix_flow_version_lookup", "name", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), default=None)
    name: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_by: Mapped[str] = mapped_column(String(80), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(default=None)


class Conversation(Base):
    """A person's conversation on one channel: pinned flow version, step, answers, memory."""

    __tablename__ = "conversation"
    __table_args__ = (
        UniqueConstraint("channel", "user_ref"),
        Index("ix_conversation_created", "created_at"),  # conversations started per day
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


class InboundMessage(Base):
    """Every inbound message id, recorded first: a redelivery hits the unique key.

    Webhooks queue the parsed message here (`status` "queued", `payload`); the inbox
    processor runs its turn and marks it "done" in the same transaction.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("channel", "message_id"),
        Index("ix_inbound_queue", "status", "id"),
        Index("ix_inbound_user", "channel", "user_ref", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(120))
    user_ref: Mapped[str] = mapped_column(String(120), default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(10), default="done")
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id"), default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class OutboxMessage(Base):
    """A message to send, written in the transaction of the change that caused it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "due_at"),
        # The oldest due message of /metrics in one seek (migration 0009).
        Index("ix_outbox_status_due", "status", "due_at"),
        # What was last sent to an address (a typed "2" answering a notification's options).
        Index("ix_outbox_address", "channel", "address", "id"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'withdrawn', 'needs_template')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(160), unique=True, default=None)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id"), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    kind: Mapped[str] = mapped_column(String(20), default="reply")
    # what the message is about, e.g. "appointment:12", so reminders can be withdrawn together
    subject: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), default=None, index=True)
    template: Mapped[str | None] = mapped_column(String(60), default=None)
    leased_until: Mapped[datetime | None] = mapped_column(default=None)
    provider_ids: Mapped[list[Any]] = mapped_column(default=list)
    delivery_status: Mapped[str | None] = mapped_column(String(20), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class ProviderMessage(Base):
    """A platform's id for a sent message, to match delivery status callbacks."""

    __tablename__ = "provider_message"

    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), index=True)


class HandoffRequest(Base):
    """A citizen asked to talk to a person: waiting ("open"), relayed ("assigned"), "closed"."""

    __tablename__ = "handoff_request"
    __table_args__ = (
        Index("ix_handoff_tenant_status", "tenant_id", "status"),
        # Every inbound asks whether its conversation is being relayed (bot/desk.py).
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
    status: Mapped[str] = mapped_column(String(20), default="open")
    note: Mapped[str | None] = mapped_column(Text, default=None)
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("specialist.id"), default=None)
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(20), default=None)
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


class AdminToken(Base):
    """An admin API token: only its SHA-256 is stored; role and tenant scope decide access."""

    __tablename__ = "admin_token"
    __table_args__ = (CheckConstraint("role IN ('national', 'regional', 'viewer')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"), default=None)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(80), default="psv admin-token")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
