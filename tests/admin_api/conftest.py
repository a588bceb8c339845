"""An admin API on a real aiohttp test server over each real database, and token helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot import admin_api
from bot.admin_api.context import AdminContext
from bot.flows.registry import sync_templates
from core import access
from core.db import Database
from core.models import AuditEntry
from core.settings import Settings
from core.types import utcnow


@dataclass
class Api:
    """A test client of the admin API with tokens per role."""

    client: TestClient[Any, Any]
    db: Database
    ctx: AdminContext

    async def token(
        self,
        role: str,
        tenant: str | None = None,
        *,
        name: str = "tester",
        expires_days: int | None = None,
    ) -> str:
        async with self.db.uow() as uow:
            _, token = await access.create_token(
                uow,
                role=role,
                tenant_code=tenant,
                name=name,
                expires_days=expires_days,
                now=utcnow(),
                by="test",
            )
            await uow.commit()
        return token

    async def call(
        self, method: str, path: str, token: str | None, body: Any = None, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", None) or {})
        response = await self.client.request(
            method, f"/api/admin{path}", json=body, headers=headers, **kwargs
        )
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()

    async def audit_count(self) -> int:
        async with self.db.uow() as uow:
            return int(await uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.fixture
async def api(db: Database) -> AsyncIterator[Api]:
    async with db.uow() as uow:
        await sync_templates(uow, now=utcnow())
        await uow.commit()
    app = web.Application()
    ctx = admin_api.setup(app, db, Settings(database_url=db.url))
    async with TestClient(TestServer(app)) as client:
        yield Api(client, db, ctx)
