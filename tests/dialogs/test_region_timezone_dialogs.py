"""A region's own time zone: "mañana a las 10" is ten o'clock where the citizen's region is.

All 26 regions are in America/Lima today; the turn must still read and say times in the
chosen region's zone (the `tenant.timezone` column), as the availability search does, so that
a region moved to another zone books the hour the citizen said.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from bot.conversation.engine import Engine
from core.db import Database
from core.models import Appointment, Tenant
from tests.dialogs.support import Clock, Person, make_engine
from tests.factories import NOW, add_specialist

BOOKING = [
    "hola",
    "si",
    "quiero una cita",
    "me despidieron",
    "1",
    "arequipa",
    "mañana a las 10",
    "dni",
    "40 123 456",
    "Lucia Quispe Mamani",
    "Me despidieron sin pagarme la CTS",
    "si",
]


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    async with db.uow() as uow:
        await uow.session.execute(
            update(Tenant).where(Tenant.code == "PE-ARE").values(timezone="America/La_Paz")
        )
        await add_specialist(uow, "PE-ARE", ("consultas-laborales",), name="Ana Ríos")
        await uow.commit()
    engine = make_engine(db, Clock(NOW))
    await engine.start()
    yield engine


async def test_the_hour_said_is_the_regions_hour(engine: Engine, db: Database) -> None:
    person = Person(engine)
    for said in BOOKING[:-1]:
        await person.says(said)
    reply = await person.says(BOOKING[-1])
    assert "confirmada" in reply.text
    assert "10:00" in reply.text
    async with db.uow() as uow:
        start = await uow.session.scalar(select(Appointment.start_utc))
    assert start is not None
    # 10:00 in La Paz (UTC-4) on the day after NOW; Lima's 10:00 would be 15:00 UTC.
    assert start.replace(tzinfo=UTC) == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
