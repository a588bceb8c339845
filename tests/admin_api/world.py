"""One region's worth of rows (specialist, citizen, appointment, event, ticket, stuck message)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from core import booking, catalog, events, roster
from core.db import Database
from core.models import (
    Appointment,
    AuditEntry,
    ChannelIdentity,
    Closure,
    Conversation,
    EventRegistration,
    FlowVersion,
    GroupEvent,
    HandoffRequest,
    OutboxMessage,
    Specialist,
    SurveyResponse,
    TenantService,
    WorkingHours,
)
from core.types import utcnow
from tests.factories import NOW, add_citizen, add_specialist, lima

CITIZEN_NAME = "Lucía Quispe"
PHONE = "+51987654321"


@dataclass
class World:
    """Ids of what a region holds."""

    tenant: str
    specialist_id: int
    citizen_id: int
    document: str
    appointment_id: int
    closure_id: int
    event_id: int
    ticket_id: int
    outbox_id: int


async def build(db: Database, tenant: str = "PE-CUS") -> World:
    """Fill a region with one of everything the admin API manages."""
    async with db.uow() as uow:
        spec = await add_specialist(uow, tenant, ("consultas-laborales",))
        citizen = await add_citizen(uow, CITIZEN_NAME)
        citizen.phone = PHONE
        uow.session.add(ChannelIdentity(citizen_id=citizen.id, channel="telegram", address="777"))
        appointment = await booking.book(
            uow,
            tenant_code=tenant,
            service_code="consultas-laborales",
            citizen_id=citizen.id,
            start=lima(2026, 12, 2, 10),
            now=NOW,
            channel="telegram",
            case_description="despido sin causa",
        )
        tenant_row = await catalog.get_tenant(uow, tenant)
        closure = await roster.add_closure(
            uow, tenant_row.id, date(2027, 1, 4), date(2027, 1, 4), reason="feriado", by="test"
        )
        event = await events.create_event(
            uow,
            tenant_code=tenant,
            service_code="capacitacion-laboral",
            title="Derechos laborales",
            start=utcnow() + timedelta(days=10),
            duration_minutes=90,
            seats=10,
            by="test",
        )
        # At the fixed NOW, not the real clock: reports count a registration in the period it was
        # made (tests/dashboard: 2026-11-30 to 2026-12-05), whatever day the tests run.
        await events.register_for_event(uow, event.id, citizen.id, now=NOW, channel="telegram")
        conversation = Conversation(
            channel="telegram",
            user_ref="777",
            citizen_id=citizen.id,
            answers={},
            memory={"region": tenant},
            state={},
        )
        uow.session.add(conversation)
        await uow.session.flush()
        ticket = HandoffRequest(
            conversation_id=conversation.id,
            tenant_id=tenant_row.id,
            service_id=None,
            citizen_id=citizen.id,
            note="quiere hablar con alguien",
        )
        uow.session.add(ticket)
        stuck = OutboxMessage(
            channel="whatsapp",
            address=PHONE,
            payload={"text": f"Hola {CITIZEN_NAME}"},
            status="failed",
            attempts=5,
            last_error="21610",
            tenant_id=tenant_row.id,
            kind="notification",
        )
        uow.session.add(stuck)
        uow.session.add(
            SurveyResponse(tenant_id=tenant_row.id, appointment_id=appointment.id, score=4)
        )
        await uow.session.flush()
        world = World(
            tenant=tenant,
            specialist_id=spec.id,
            citizen_id=citizen.id,
            document=citizen.document_number or "",
            appointment_id=appointment.id,
            closure_id=closure.id,
            event_id=event.id,
            ticket_id=ticket.id,
            outbox_id=stuck.id,
        )
        await uow.commit()
    return world


async def snapshot(db: Database) -> dict[str, object]:
    """Counts and states of everything an admin call could change."""
    async with db.uow() as uow:
        s = uow.session
        found: dict[str, object] = {}
        for model in (
            Appointment,
            AuditEntry,
            Closure,
            EventRegistration,
            FlowVersion,
            GroupEvent,
            HandoffRequest,
            OutboxMessage,
            Specialist,
            WorkingHours,
            TenantService,
        ):
            found[model.__tablename__] = await s.scalar(select(func.count()).select_from(model))
        found["specialists"] = sorted(
            (r.id, r.name, r.active) for r in await s.scalars(select(Specialist))
        )
        found["events"] = sorted(
            (e.id, e.status.value) for e in await s.scalars(select(GroupEvent))
        )
        found["tickets"] = sorted(
            (t.id, t.status, t.specialist_id) for t in await s.scalars(select(HandoffRequest))
        )
        found["outbox"] = sorted(
            (m.id, m.status, m.attempts) for m in await s.scalars(select(OutboxMessage))
        )
        found["flows"] = sorted((f.id, f.status) for f in await s.scalars(select(FlowVersion)))
        found["services"] = sorted(
            (t.id, t.enabled, t.duration_minutes, t.horizon_days)
            for t in await s.scalars(select(TenantService))
        )
        return found
