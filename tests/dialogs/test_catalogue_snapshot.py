"""The per-process catalogue snapshot: this process's writes show at once, others' in its age."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.flows import catalogue, registry
from bot.flows.machine import checksum
from core.db import Database
from core.models import FlowVersion
from core.states import FlowStatus
from tests.factories import NOW, offer


async def offered(db: Database, region: str) -> set[str]:
    async with db.uow() as uow:
        return {s.code for s in await catalogue.offered_services(uow, region)}


async def test_a_write_of_this_process_drops_the_snapshot_at_once(db: Database) -> None:
    assert "consultas-laborales" in await offered(db, "PE-ARE")
    async with db.uow() as uow:
        await offer(uow, "PE-ARE", "consultas-laborales", enabled=False)
        await uow.commit()
    assert "consultas-laborales" not in await offered(db, "PE-ARE")


async def test_another_process_s_change_shows_once_the_snapshot_is_older_than_its_age(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.uow() as uow:
        before = (await catalogue.tenant(uow, "PE-ARE")).name
    async with db.engine.begin() as conn:  # plain SQL, as psv-admin in another process would
        await conn.execute(
            text("UPDATE tenant SET name = 'Arequipa (renamed)' WHERE code = 'PE-ARE'")
        )
    async with db.uow() as uow:
        assert (await catalogue.tenant(uow, "PE-ARE")).name == before  # still the snapshot
    monkeypatch.setattr(catalogue, "MAX_AGE_S", 0.0)
    async with db.uow() as uow:
        assert (await catalogue.tenant(uow, "PE-ARE")).name == "Arequipa (renamed)"
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE tenant SET name = :name WHERE code = 'PE-ARE'"), {"name": before}
        )
    catalogue.invalidate()


async def test_a_region_s_own_published_flow_wins_over_the_national_one(db: Database) -> None:
    async with db.uow() as uow:
        await registry.sync_templates(uow, now=NOW)
        national = await catalogue.flow_version_id(uow, "menu", "PE-ARE")
        source = registry.template_sources()["menu"]
        tenant = await catalogue.tenant(uow, "PE-ARE")
        own = FlowVersion(
            tenant_id=tenant.id,
            name="menu",
            version=1,
            source=source,
            checksum=checksum(source),
            status=FlowStatus.PUBLISHED,
            published_at=NOW,
        )
        uow.session.add(own)
        await uow.session.flush()
        assert await catalogue.flow_version_id(uow, "menu", "PE-ARE") == own.id
        assert await catalogue.flow_version_id(uow, "menu", "PE-CUS") == national
        assert await catalogue.flow_version_id(uow, "menu", None) == national
