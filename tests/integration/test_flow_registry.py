"""Flow versions in use: the region's published version, else the national one (one place)."""

from __future__ import annotations

from sqlalchemy import select

from bot.admin_api import flow_store
from bot.flows import catalogue, registry
from core.db import Database
from core.models import FlowVersion, Tenant
from core.states import FlowStatus
from tests.conftest import reset
from tests.factories import NOW


async def test_a_region_gets_its_own_published_flow_else_the_national_one(db: Database) -> None:
    await reset(db)
    async with db.uow() as uow:
        await registry.sync_templates(uow, now=NOW)
        tenant = (await uow.session.scalars(select(Tenant).order_by(Tenant.id))).first()
        assert tenant is not None
        national = await registry.published_version(uow, "menu", None)
        assert national is not None and national.tenant_id is None
        assert await registry.in_use(uow, "menu", tenant.id) is national
        assert await catalogue.flow_version_id(uow, "menu", tenant.code) == national.id
        assert await flow_store.current(uow, tenant.id, "menu") is national

        draft = FlowVersion(
            tenant_id=tenant.id,
            name="menu",
            version=1,
            source=national.source,
            checksum=national.checksum,
            status=FlowStatus.DRAFT,
            published_at=None,
        )
        uow.session.add(draft)
        await uow.session.flush()
        assert await registry.in_use(uow, "menu", tenant.id) is national  # a draft is not used
        draft.status = FlowStatus.PUBLISHED
        draft.published_at = NOW
        await uow.session.flush()
        assert await registry.in_use(uow, "menu", tenant.id) is draft
        assert await catalogue.flow_version_id(uow, "menu", tenant.code) == draft.id
        assert await catalogue.flow_version_id(uow, "menu", "XX-NONE") == national.id
        assert await flow_store.current(uow, tenant.id, "menu") is draft
        assert await flow_store.live(uow, tenant.id, "menu") is draft
        assert await registry.in_use(uow, "no_such_flow", tenant.id) is None
