"""The booking core's tables, one module per concept; every model and enum is exported here."""

from core.models.admin import AdminToken, AuditEntry
from core.models.appointments import Appointment, AppointmentStatus, SurveyResponse
from core.models.base import Base, insert_or_skip, table_of
from core.models.calendar import Closure, ClosureKind, WeeklyBreak, WorkingHours
from core.models.catalog import Line, Modality, Service, ServiceKind, Tenant, TenantService
from core.models.citizens import ChannelIdentity, Citizen, DocumentType
from core.models.conversations import Conversation, FlowVersion, HandoffRequest, InboundMessage
from core.models.events import EventRegistration, EventStatus, GroupEvent, RegistrationStatus
from core.models.outbox import OutboxMessage, ProviderMessage
from core.models.rollup import AppointmentDaily, AppointmentWaitDaily
from core.models.roster import Specialist, SpecialistService

__all__ = [
    "AdminToken",
    "Appointment",
    "AppointmentDaily",
    "AppointmentStatus",
    "AppointmentWaitDaily",
    "AuditEntry",
    "Base",
    "ChannelIdentity",
    "Citizen",
    "Closure",
    "ClosureKind",
    "Conversation",
    "DocumentType",
    "EventRegistration",
    "EventStatus",
    "FlowVersion",
    "GroupEvent",
    "HandoffRequest",
    "InboundMessage",
    "Line",
    "Modality",
    "OutboxMessage",
    "ProviderMessage",
    "RegistrationStatus",
    "Service",
    "ServiceKind",
    "Specialist",
    "SpecialistService",
    "SurveyResponse",
    "Tenant",
    "TenantService",
    "WeeklyBreak",
    "WorkingHours",
    "insert_or_skip",
    "table_of",
]
