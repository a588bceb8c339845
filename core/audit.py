"""The audit log: who changed what, when, with the values before and after."""

from __future__ import annotations

from typing import Any

from core.models import AuditEntry
from core.uow import UnitOfWork


async def record(
    uow: UnitOfWork,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = "",
    tenant_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the current unit of work (committed with the change)."""
    uow.session.add(
        AuditEntry(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            tenant_id=tenant_id,
            before=before,
            after=after,
        )
    )
