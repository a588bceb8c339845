"""Where flows come from: national templates (bot/flows/*.yaml) and regions' own versions.

Every version lives in `flow_version`; a conversation pins the version it started on. The
national templates are written to the table when they change (`sync_templates`), so a
conversation can always find the exact text it runs on, even after a deploy.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.flows.machine import CompiledFlow, checksum, compile_source
from bot.flows.schema import load_valid
from core.models import FlowVersion
from core.states import FlowStatus
from core.uow import UnitOfWork

TEMPLATES = Path(__file__).parent


def template_names() -> frozenset[str]:
    """Names of the national template flows shipped with PSV."""
    return frozenset(path.stem for path in TEMPLATES.glob("*.yaml"))


def template_sources() -> dict[str, str]:
    """The text of each national template by flow name."""
    return {
        path.stem: path.read_text(encoding="utf-8") for path in sorted(TEMPLATES.glob("*.yaml"))
    }


def compiled(version: FlowVersion) -> CompiledFlow:
    """The cached machine of a stored flow version."""
    file = f"{version.name}.yaml@v{version.version}"
    return compile_source(version.source, file, template_names())


async def sync_templates(uow: UnitOfWork, *, now: datetime) -> list[str]:
    """Publish each national template whose text changed; returns the names published."""
    names = template_names()
    published = []
    for name, source in template_sources().items():
        load_valid(source, f"{name}.yaml", known_flows=names)
        digest = checksum(source)
        current = await published_version(uow, name, None)
        if current is not None and current.checksum == digest:
            continue
        if current is not None:
            current.status = FlowStatus.RETIRED
        last = await uow.session.scalar(
            select(func.max(FlowVersion.version)).where(
                FlowVersion.name == name, FlowVersion.tenant_id.is_(None)
            )
        )
        uow.session.add(
            FlowVersion(
                name=name,
                version=(last or 0) + 1,
                source=source,
                checksum=digest,
                status=FlowStatus.PUBLISHED,
                published_at=now,
            )
        )
        published.append(name)
    await uow.session.flush()
    return published


async def published_version(
    uow: UnitOfWork, name: str, tenant_id: int | None
) -> FlowVersion | None:
    """The published version of a flow: a region's own, or the national one (`tenant_id` None)."""
    query = select(FlowVersion).where(
        FlowVersion.name == name, FlowVersion.status == FlowStatus.PUBLISHED
    )
    if tenant_id is None:
        query = query.where(FlowVersion.tenant_id.is_(None))
    else:
        query = query.where(FlowVersion.tenant_id == tenant_id)
    return await uow.session.scalar(query.order_by(FlowVersion.version.desc()).limit(1))


async def in_use(uow: UnitOfWork, name: str, tenant_id: int | None) -> FlowVersion | None:
    """What a new conversation of the region gets: its own published version, else the national.

    None only when the flow has no published national version either.
    """
    own = await published_version(uow, name, tenant_id) if tenant_id is not None else None
    return own or await published_version(uow, name, None)
