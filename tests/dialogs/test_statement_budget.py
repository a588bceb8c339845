"""A turn's statement budget: the database round trips a citizen's message costs.

Counted with an SQLAlchemy `before_cursor_execute` listener while a citizen books from «hola» to
a confirmed appointment, on SQLite and PostgreSQL. A change that makes turns chattier fails
here; lower the budgets when a change makes them cheaper (docs/benchmarks.md, turn cost).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from bot.conversation.engine import Engine
from bot.flows import catalogue
from core.db import Database
from tests.dialogs.support import Clock, Person, make_engine
from tests.factories import NOW, add_specialist

# What each message of the booking below may cost at most, and the whole conversation: the
# counts measured on SQLite on 2026-12-05 (PostgreSQL runs one or two fewer per turn). The
# first turn of a process also reads the regions' time zones (then every ten minutes).
TURNS: list[tuple[str, int]] = [
    ("hola", 19),
    ("sí", 12),
    ("quiero una cita", 9),
    ("me despidieron", 7),
    ("1", 7),
    ("arequipa", 13),
    ("mañana a las 10", 15),
    ("dni", 7),
    ("40 123 456", 7),
    ("Lucía Quispe Mamani", 7),
    ("Me despidieron sin pagarme la CTS", 7),
    ("sí", 40),
]
BOOKING_BUDGET = 150


@pytest.fixture
async def engine(db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Engine]:
    # The catalogue snapshot is read on the first turn only, however slow the machine is.
    monkeypatch.setattr(catalogue, "MAX_AGE_S", 3600.0)
    async with db.uow() as uow:
        await add_specialist(uow, "PE-ARE", ("consultas-laborales",), name="Ana Ríos")
        await uow.commit()
    engine = make_engine(db, Clock(NOW))
    await engine.start()
    yield engine


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """Collect the SQL statements run on `db` while the block runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    target = db.engine.sync_engine
    event.listen(target, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(target, "before_cursor_execute", record)


async def test_a_booking_stays_within_its_statement_budget(engine: Engine, db: Database) -> None:
    person = Person(engine)
    spent: list[int] = []
    for said, _budget in TURNS:
        with counted(db) as statements:
            reply = await person.says(said)
        spent.append(len(statements))
    assert "Su cita está confirmada" in reply.text
    if os.environ.get("PSV_PRINT_BUDGET"):
        print(db.dialect, spent, sum(spent))
    over = [(said, n, budget) for (said, budget), n in zip(TURNS, spent, strict=True) if n > budget]
    assert not over, f"turns over their statement budget (said, spent, budget): {over}"
    assert sum(spent) <= BOOKING_BUDGET
