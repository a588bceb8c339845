"""The migrations build what the models describe, and the database itself refuses overlaps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core import catalog, migrate
from core.db import Database
from core.models import Appointment, Base, Citizen, DocumentType
from tests.factories import NOW, add_citizen, add_specialist, lima


async def test_migrations_match_the_models(database: Database) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(context, Base.metadata)

    async with database.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []
    assert await migrate.is_current(database)


async def test_upgrade_and_seed_twice_change_nothing(db: Database) -> None:
    await migrate.upgrade(db)
    async with db.uow() as uow:
        report = await catalog.seed(uow, demo=True)
        await uow.commit()
    assert report.added["specialists"] == 78
    async with db.uow() as uow:
        again = await catalog.seed(uow, demo=True)
        await uow.commit()
    assert again.total == 0
    async with db.engine.connect() as conn:
        tenants = await conn.scalar(text("SELECT count(*) FROM tenant"))
        services = await conn.scalar(text("SELECT count(*) FROM service"))
        virtual = await conn.scalar(text("SELECT count(*) FROM service WHERE virtual"))
        holidays = await conn.scalar(text("SELECT count(*) FROM closure WHERE kind = 'holiday'"))
    assert tenants == 26 and services >= 25 and virtual >= 19 and holidays == 32


@pytest.mark.postgres
async def test_postgres_refuses_overlap_without_python(postgresql_db: Database) -> None:
    """A raw insert overlapping a booked range fails: the guarantee is the database's."""
    async with postgresql_db.uow() as uow:
        spec = await add_specialist(uow)
        citizen = await add_citizen(uow)
        start = lima(2026, 12, 2, 10)
        common = {
            "tenant_id": spec.tenant_id,
            "service_id": 1,
            "specialist_id": spec.id,
            "citizen_id": citizen.id,
            "created_at": NOW,
        }
        uow.session.add(
            Appointment(
                start_utc=start,
                end_utc=start + timedelta(minutes=30),
                busy_until=start + timedelta(minutes=40),
                **common,
            )
        )
        await uow.session.flush()
        later = start + timedelta(minutes=35)  # starts inside the buffer of the first
        uow.session.add(
            Appointment(
                start_utc=later,
                end_utc=later + timedelta(minutes=30),
                busy_until=later + timedelta(minutes=30),
                **common,
            )
        )
        with pytest.raises(IntegrityError, match="ex_appointment_specialist_overlap"):
            await uow.session.flush()


async def test_database_errors_never_carry_personal_data(db: Database) -> None:
    """Errors (and so logs of them) show the SQL, not the bound values."""
    async with db.uow() as uow:
        uow.session.add(Citizen(document_type=DocumentType.DNI, document_number="41234567"))
        await uow.session.flush()
        uow.session.add(Citizen(document_type=DocumentType.DNI, document_number="41234567"))
        with pytest.raises(IntegrityError) as error:
            await uow.session.flush()
    assert "41234567" not in str(error.value)
