"""Requests to talk to a person: recorded for the region's queue (relay comes later)."""

from __future__ import annotations

from sqlalchemy import select

from core.models import HandoffRequest
from core.uow import UnitOfWork


async def request_handoff(
    uow: UnitOfWork,
    *,
    conversation_id: int,
    tenant_id: int | None,
    service_id: int | None,
    citizen_id: int | None,
    note: str | None = None,
) -> HandoffRequest:
    """Open a hand-off request; one open request per conversation is reused."""
    existing = await uow.session.scalar(
        select(HandoffRequest).where(
            HandoffRequest.conversation_id == conversation_id, HandoffRequest.status == "open"
        )
    )
    if existing is not None:
        return existing
    request = HandoffRequest(
        conversation_id=conversation_id,
        tenant_id=tenant_id,
        service_id=service_id,
        citizen_id=citizen_id,
        note=note,
    )
    uow.session.add(request)
    await uow.session.flush()
    return request
