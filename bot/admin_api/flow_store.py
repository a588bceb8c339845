"""A region's flow versions: drafts, publication, rollback (with audit entries).

A region's version overrides the national template for new conversations; running
conversations stay on the version they pinned. A new draft retires the earlier unpublished
draft (a new version number, so compiled machines cached by version id never go stale).
A rolled-back version is retired and its `published_at` cleared, so it leaves the
publication history and repeated rollbacks walk back v3 -> v2 -> v1.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.flows import registry
from bot.flows.machine import checksum
from bot.flows.registry import template_names
from bot.flows.schema import FlowDefinition, FlowError, InvalidFlow, load_valid
from core import audit
from core.errors import NotActive, NotFound
from core.models import FlowVersion, Tenant
from core.states import FlowStatus
from core.uow import UnitOfWork


def check_name(name: str) -> None:
    """Refuse a flow name that is not one of the national templates."""
    if name not in template_names():
        raise NotFound(f"no flow {name!r}; known: {', '.join(sorted(template_names()))}")


def validate_source(source: str, name: str, tenant: Tenant) -> FlowDefinition:
    """Parse and validate a region's flow text, with line-numbered errors."""
    return _validate(source, name, tuple(tenant.languages or ()))


async def check_source(source: str, name: str, tenant: Tenant) -> FlowDefinition:
    """`validate_source` in a worker thread: parsing a large flow never stalls the event loop.

    One flow at a time per process: parsing holds the interpreter lock, and several threads
    taking turns with the event loop would delay every webhook.
    """
    languages = tuple(tenant.languages or ())
    async with _parsing():
        return await asyncio.to_thread(_validate, source, name, languages)


_PARSING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _parsing() -> asyncio.Semaphore:
    """The running event loop's one-flow-at-a-time semaphore."""
    loop = asyncio.get_running_loop()
    found = _PARSING.get(loop)
    if found is None:
        found = _PARSING[loop] = asyncio.Semaphore(1)
    return found


def _validate(source: str, name: str, languages: tuple[str, ...]) -> FlowDefinition:
    file = f"{name}.yaml"
    flow = load_valid(source, file, known_flows=template_names(), tenant_languages=languages)
    if flow.name != name:
        raise InvalidFlow(
            [
                FlowError(
                    file,
                    1,
                    None,
                    f"the flow is named {flow.name!r} but saved as {name!r}",
                    es=f"el archivo dice flow: {flow.name} pero se guarda como {name}",
                    allowed=(name,),
                )
            ]
        )
    return flow


def _snapshot(version: FlowVersion) -> dict[str, object]:
    return {"version": version.version, "status": version.status, "checksum": version.checksum}


async def _flush_and_audit(
    uow: UnitOfWork,
    tenant: Tenant,
    *,
    by: str,
    action: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    """Flush the version changes and record them as one audit entry of the flow."""
    await uow.session.flush()
    await audit.record(
        uow,
        actor=by,
        action=action,
        entity="flow",
        entity_id=entity_id,
        tenant_id=tenant.id,
        before=before,
        after=after,
    )


async def _audit_version(
    uow: UnitOfWork,
    tenant: Tenant,
    row: FlowVersion,
    before: dict[str, Any] | None,
    *,
    by: str,
    action: str,
) -> None:
    """Flush and audit a change that leaves `row` as the version the entry is about."""
    await _flush_and_audit(
        uow,
        tenant,
        by=by,
        action=action,
        entity_id=f"{row.name}@v{row.version}",
        before=before,
        after=_snapshot(row),
    )


async def versions(uow: UnitOfWork, tenant_id: int, name: str) -> list[FlowVersion]:
    """Every version of a region's flow, newest first."""
    rows = await uow.session.scalars(
        select(FlowVersion)
        .where(FlowVersion.tenant_id == tenant_id, FlowVersion.name == name)
        .order_by(FlowVersion.version.desc())
    )
    return list(rows)


async def version(uow: UnitOfWork, tenant_id: int, name: str, number: int) -> FlowVersion:
    """One version of a region's flow, or NotFound."""
    found = await uow.session.scalar(
        select(FlowVersion).where(
            FlowVersion.tenant_id == tenant_id,
            FlowVersion.name == name,
            FlowVersion.version == number,
        )
    )
    if found is None:
        raise NotFound(f"flow {name!r} has no version {number} in this region")
    return found


async def live(uow: UnitOfWork, tenant_id: int, name: str) -> FlowVersion | None:
    """The region's published version, if it has its own."""
    return await registry.published_version(uow, name, tenant_id)


async def draft(uow: UnitOfWork, tenant_id: int, name: str) -> FlowVersion | None:
    """The region's newest unpublished draft, if any."""
    return await uow.session.scalar(
        select(FlowVersion)
        .where(
            FlowVersion.name == name,
            FlowVersion.status == FlowStatus.DRAFT,
            FlowVersion.tenant_id == tenant_id,
        )
        .order_by(FlowVersion.version.desc())
        .limit(1)
    )


async def national(uow: UnitOfWork, name: str) -> FlowVersion:
    """The published national template of a flow."""
    found = await registry.published_version(uow, name, None)
    if found is None:
        raise NotFound(f"flow {name!r} has no published national template")
    return found


async def current(uow: UnitOfWork, tenant_id: int, name: str) -> FlowVersion:
    """What a new conversation of the region gets: its own live version, else the template."""
    found = await registry.in_use(uow, name, tenant_id)
    if found is None:
        raise NotFound(f"flow {name!r} has no published national template")
    return found


async def save_draft(
    uow: UnitOfWork,
    tenant: Tenant,
    name: str,
    source: str,
    *,
    by: str,
    now: datetime,
    checked: bool = False,
) -> FlowVersion:
    """Validate (unless `checked` already) and store a draft, retiring an earlier one."""
    if not checked:
        await check_source(source, name, tenant)
    earlier = await draft(uow, tenant.id, name)
    before = _snapshot(earlier) if earlier is not None else None
    if earlier is not None:
        earlier.status = FlowStatus.RETIRED
    last = await uow.session.scalar(
        select(func.max(FlowVersion.version)).where(
            FlowVersion.tenant_id == tenant.id, FlowVersion.name == name
        )
    )
    row = FlowVersion(
        tenant_id=tenant.id,
        name=name,
        version=(last or 0) + 1,
        source=source,
        checksum=checksum(source),
        status=FlowStatus.DRAFT,
        created_by=by[:80],
        created_at=now,
    )
    uow.session.add(row)
    await _audit_version(uow, tenant, row, before, by=by, action="flow.draft")
    return row


async def publish(
    uow: UnitOfWork, tenant: Tenant, name: str, number: int | None, *, by: str, now: datetime
) -> FlowVersion:
    """Make a draft (the newest by default) or a retired version live for new conversations."""
    if number is None:
        chosen = await draft(uow, tenant.id, name)
        if chosen is None:
            raise NotActive(f"flow {name!r} has no draft to publish")
    else:
        chosen = await version(uow, tenant.id, name, number)
    if chosen.status == FlowStatus.PUBLISHED:
        raise NotActive(f"version {chosen.version} of {name!r} is already live")
    await check_source(chosen.source, name, tenant)
    previous = await live(uow, tenant.id, name)
    if previous is not None:
        previous.status = FlowStatus.RETIRED
    # Before: what new conversations got until now (the national template when nothing of
    # the region was live).
    before = (
        _snapshot(previous) if previous is not None else {"version": None, "source": "national"}
    )
    chosen.status = FlowStatus.PUBLISHED
    chosen.published_at = now
    await _audit_version(uow, tenant, chosen, before, by=by, action="flow.publish")
    return chosen


async def rollback(uow: UnitOfWork, tenant: Tenant, name: str, *, by: str) -> FlowVersion:
    """Republish the version that was live before the current one (the national template when
    the current one is the region's first published version)."""
    current_row = await live(uow, tenant.id, name)
    if current_row is None or current_row.published_at is None:
        raise NotActive(f"flow {name!r} has no live version of this region to roll back")
    previous = await uow.session.scalar(
        select(FlowVersion)
        .where(
            FlowVersion.tenant_id == tenant.id,
            FlowVersion.name == name,
            FlowVersion.status == FlowStatus.RETIRED,
            FlowVersion.published_at.is_not(None),
            FlowVersion.published_at <= current_row.published_at,
            FlowVersion.id != current_row.id,
        )
        .order_by(FlowVersion.published_at.desc(), FlowVersion.version.desc())
        .limit(1)
    )
    if previous is None:
        return await _to_national(uow, tenant, current_row, by=by, action="flow.rollback")
    await check_source(previous.source, name, tenant)
    before = _snapshot(current_row)
    current_row.status = FlowStatus.RETIRED
    current_row.published_at = None
    previous.status = FlowStatus.PUBLISHED  # keeping its first publication time
    await _audit_version(uow, tenant, previous, before, by=by, action="flow.rollback")
    return previous


async def _to_national(
    uow: UnitOfWork, tenant: Tenant, current_row: FlowVersion, *, by: str, action: str
) -> FlowVersion:
    """Retire the region's live version: new conversations get the national template."""
    template = await national(uow, current_row.name)
    before = _snapshot(current_row)
    current_row.status = FlowStatus.RETIRED
    current_row.published_at = None
    await _flush_and_audit(
        uow,
        tenant,
        by=by,
        action=action,
        entity_id=f"{current_row.name}@national",
        before=before,
        after={"version": None, "source": "national", "checksum": template.checksum},
    )
    return template


async def reset(uow: UnitOfWork, tenant: Tenant, name: str, *, by: str) -> FlowVersion:
    """Back to the national template: the region's live version is retired (kept, and
    publishable again by number); an unpublished draft stays a draft."""
    current_row = await live(uow, tenant.id, name)
    if current_row is None:
        raise NotActive(f"flow {name!r} of this region already follows the national template")
    return await _to_national(uow, tenant, current_row, by=by, action="flow.reset")
