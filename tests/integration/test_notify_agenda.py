"""The specialists' agenda of a day (bot/outbox/notify/agenda.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.messages import Outbound
from bot.outbox import notify
from core.db import Database
from tests.factories import NOW, add_specialist, lima
from tests.integration.notify_support import book, person, stored

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_the_agenda_lists_the_day_in_order_with_links(db: Database) -> None:
    async with db.uow() as uow:
        spec = await add_specialist(uow)
        await uow.commit()
    one = await person(db, address="7001", name="Rosa Mamani")
    two = await person(db, address="7002", name="Lucía Quispe")
    late = await book(db, one.id, lima(2026, 12, 2, 15))
    early = await book(db, two.id, lima(2026, 12, 2, 9))
    async with db.uow() as uow:
        agenda = await notify.agenda_text(uow, spec.id, date(2026, 12, 2), now=NOW)
        empty = await notify.agenda_text(uow, spec.id, date(2026, 12, 3), now=NOW)
    lines = agenda.text.splitlines()
    assert "miércoles 2 de diciembre" in lines[0] and "(2)" in lines[0]
    assert "Lucía" in lines[1] and "9:00" in lines[1]
    assert lines[2] == (await stored(db, early.id)).session_link
    assert "Rosa" in lines[3] and "3:00" in lines[3]
    assert lines[4] == (await stored(db, late.id)).session_link
    assert isinstance(empty, Outbound) and "No tiene citas" in empty.text
