"""A turn's statement budget: the database round trips a citizen's message costs.

Counted with an SQLAlchemy `before_cursor_execute` listener while a citizen books from «hola» to
a confirmed appointment, on SQLite and PostgreSQL. A change that makes turns chattier fails
here; lower the budgets when a change makes them cheaper (docs/benchmarks.md, turn cost).
`PSV_PRINT_BUDGET=1` prints the counts; `PSV_PRINT_SQL=<a message below>` prints that turn's SQL.
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

# What each message of the booking below may cost at most on SQLite and on PostgreSQL, and the
# whole conversation: the counts measured on 2026-12-06. An ordinary turn is five statements on
# SQLite: BEGIN, the inbound's INSERT ... ON CONFLICT, the locked conversation with its
# specialist and ticket flags, its UPDATE, the replies' INSERT. On PostgreSQL it is three:
# asyncpg's BEGIN is no statement here, and the conversation's UPDATE rides in the replies'
# INSERT (a data-modifying WITH). The first turn of a process also reads the regions' time
# zones (then every ten minutes) and the catalogue snapshot (bot/flows/catalogue.py, four
# statements, then every MAX_AGE_S seconds: pinned long below, so that a slow machine does not
# read it twice). Before 2026-12-05 (issue #16) the booking took 213 statements on SQLite; 117
# until 2026-12-06, when the confirmation went from 38 to 27: its notices in one INSERT, the
# address's record read once, and what the turn loaded kept for `session.get` (core/db.py,
# KeepingSession); later that day to 25 and 23: a new record's name and consent, and a video
# appointment's room, go in their INSERTs instead of UPDATEs after them; and the consent from
# 10 and 8 to 7 and 5: its action runs without a savepoint (actions.UNREFUSED). The region's
# and the day's turns went from 9 and 7 to 6 and 4 on 2026-12-06 (and the confirmation by 3):
# a schedule's roster, closures and booked time in one UNION ALL, and the offer's rules from
# the catalogue snapshot instead of a query (core/availability/load.py); «hola» and «quiero una
# cita» by one each: a flow is read before the conversation changes (no autoflush UPDATE).
TURNS: list[tuple[str, int, int]] = [
    ("hola", 13, 11),
    ("sí", 7, 5),
    ("quiero una cita", 6, 4),
    ("me despidieron", 5, 3),
    ("1", 5, 3),
    ("arequipa", 6, 4),
    ("mañana a las 10", 6, 4),
    ("dni", 5, 3),
    ("40 123 456", 5, 3),
    ("Lucía Quispe Mamani", 5, 3),
    ("Me despidieron sin pagarme la CTS", 5, 3),
    ("sí", 24, 22),  # one over the count: a parallel run once read one more
]
BOOKING_BUDGET = {"sqlite": 92, "postgresql": 68}


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
    for said, *_budgets in TURNS:
        with counted(db) as statements:
            reply = await person.says(said)
        spent.append(len(statements))
        if os.environ.get("PSV_PRINT_SQL") == said:
            print("\n".join(" ".join(x.split()) for x in statements))
    assert "Su cita está confirmada" in reply.text
    if os.environ.get("PSV_PRINT_BUDGET"):
        print(db.dialect, spent, sum(spent))
    budgets = [sqlite if db.dialect == "sqlite" else postgresql for _, sqlite, postgresql in TURNS]
    over = [
        (said, n, budget)
        for (said, *_), n, budget in zip(TURNS, spent, budgets, strict=True)
        if n > budget
    ]
    assert not over, f"turns over their statement budget (said, spent, budget): {over}"
    assert sum(spent) <= BOOKING_BUDGET[db.dialect]
