"""Database fixtures: a real SQLite file and a real PostgreSQL database, migrated and seeded.

On CI (CI=true) PostgreSQL must be reachable: the tests fail instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from bot.flows import catalogue
from core import catalog, migrate
from core.db import Database

PG_ADMIN_DSN = os.environ.get("PSV_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
ON_CI = os.environ.get("CI", "").lower() == "true"

# Rows the tests make; the seeded catalogue, tenants and holidays stay for the session.
MUTABLE_TABLES = (
    "admin_token",
    "survey_response",
    "handoff_request",
    "provider_message",
    "outbox_message",
    "inbound_message",
    "conversation",
    "flow_version",
    "audit_entry",
    "event_registration",
    "group_event",
    "appointment",
    "appointment_daily",
    "appointment_wait_daily",
    "channel_identity",
    "citizen",
    "weekly_break",
    "working_hours",
    "specialist_service",
    "closure",
    "specialist",
)


async def _prepare(db: Database) -> None:
    await migrate.upgrade(db)
    async with db.uow() as uow:
        await catalog.seed(uow)
        await uow.commit()


async def reset(db: Database) -> None:
    """Remove what tests made and restore every region's default offer."""
    async with db.engine.begin() as conn:
        for table in MUTABLE_TABLES:
            where = " WHERE kind <> 'holiday'" if table == "closure" else ""
            await conn.execute(text(f"DELETE FROM {table}{where}"))
        await conn.execute(
            text(
                "UPDATE tenant_service SET enabled = true, duration_minutes = NULL, "
                "min_notice_minutes = 120, horizon_days = 30, buffer_minutes = 0, "
                "reminder_minutes = '[1440, 60]'"
            )
        )
        await conn.execute(
            text("UPDATE tenant SET active = true, office_hours = NULL, timezone = 'America/Lima'")
        )
    catalogue.invalidate()  # written with plain SQL, which the snapshot's session hooks miss


@pytest.fixture(scope="session")
async def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    path: Path = tmp_path_factory.mktemp("sqlite") / "psv.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await _prepare(db)
    yield db
    await db.dispose()


@contextlib.asynccontextmanager
async def _fresh_pg(prefix: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database named `prefix_<hex>`, dropped on the way out.

    Unreachable PostgreSQL fails on CI (its tests must run there) and skips elsewhere.
    """
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL not reachable at {PG_ADMIN_DSN} ({exc.__class__.__name__})"
        if ON_CI:
            pytest.fail(f"{message}: on CI the PostgreSQL tests must run", pytrace=False)
        pytest.skip(message)
    name = f"{prefix}_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for this run, dropped at the end."""
    async with _fresh_pg("psv_test") as url:
        yield url


@pytest.fixture(scope="session")
async def postgresql_db(pg_url: str) -> AsyncIterator[Database]:
    db = Database(pg_url, pool_size=5)
    await _prepare(db)
    yield db
    await db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    """The migrated, seeded database of each backend (state left by earlier tests)."""
    db: Database = request.getfixturevalue(f"{request.param}_db")
    return db


@pytest.fixture
async def db(database: Database) -> Database:
    """Each backend, cleaned of what earlier tests made."""
    await reset(database)
    return database


@pytest.fixture
async def scratch_pg() -> AsyncIterator[str]:
    """An empty PostgreSQL database for one `psv serve`, dropped at the end."""
    async with _fresh_pg("psv_live") as url:
        yield url
