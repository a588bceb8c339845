"""A unit of work's session keeps what it loaded or added: `get` answers it without SQL."""

from __future__ import annotations

import gc

from sqlalchemy import event, select

from core.db import Database
from core.models import Citizen, Tenant
from tests.conftest import reset
from tests.factories import add_citizen


async def test_get_answers_from_memory_what_the_turn_loaded_or_added(db: Database) -> None:
    """Loaded early, no longer referenced, asked again later in the same transaction."""
    await reset(db)
    async with db.uow() as uow:
        await add_citizen(uow)
        await uow.commit()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    async with db.uow() as uow:
        tenant_id = (await uow.session.scalars(select(Tenant).limit(1))).one().id
        citizen_id = (await uow.session.scalars(select(Citizen).limit(1))).one().id
        added = Citizen(name="Rosa Huamán")
        uow.session.add(added)
        await uow.session.flush()
        added_id = added.id
        del added
        gc.collect()  # nothing of this test holds the objects any more
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            tenant = await uow.session.get(Tenant, tenant_id)
            citizen = await uow.session.get(Citizen, citizen_id)
            again = await uow.session.get(Citizen, added_id)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        assert tenant is not None and citizen is not None and again is not None
        assert again.name == "Rosa Huamán"
    assert statements == []
