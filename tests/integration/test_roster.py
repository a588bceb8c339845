"""Admins' changes to people and calendar: scoped to one tenant, audited, seen by booking."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from core import availability, catalog, roster
from core.db import Database
from core.errors import InvalidTransition, NotFound
from core.models import AuditEntry, Closure
from core.roster import WeeklySpan
from tests.factories import NOW, lima

SERVICE = "consultas-laborales"


async def _slots(db: Database, tenant: str, day: int) -> list[availability.Slot]:
    async with db.uow() as uow:
        return await availability.free_slots(
            uow, tenant, SERVICE, lima(2026, 12, day, 0), lima(2026, 12, day + 1, 0), now=NOW
        )


async def test_hours_day_off_and_closure_shape_the_slots(db: Database) -> None:
    async with db.uow() as uow:
        tenant = await catalog.get_tenant(uow, "PE-ARE")
        spec = await roster.add_specialist(
            uow,
            "PE-ARE",
            name="Carmen Flores",
            services=[SERVICE],
            contact_channel="telegram",
            contact_address="5550001",
            by="admin:are",
        )
        await roster.set_weekly_hours(
            uow,
            tenant.id,
            spec.id,
            hours=[WeeklySpan(2, time(9), time(11))],  # Wednesdays 09:00-11:00
            breaks=[WeeklySpan(2, time(10), time(10, 30))],
            by="admin:are",
        )
        await uow.commit()
    assert [s.start for s in await _slots(db, "PE-ARE", 2)] == [
        lima(2026, 12, 2, 9),
        lima(2026, 12, 2, 9, 30),
        lima(2026, 12, 2, 10, 30),
    ]
    async with db.uow() as uow:
        await roster.add_closure(
            uow,
            tenant.id,
            date(2026, 12, 2),
            date(2026, 12, 2),
            reason="vacaciones",
            by="admin:are",
            specialist_id=spec.id,
        )
        await roster.add_closure(
            uow,
            tenant.id,
            date(2026, 12, 16),
            date(2026, 12, 16),
            reason="mudanza",
            by="admin:are",
        )
        await uow.commit()
    assert await _slots(db, "PE-ARE", 2) == []
    assert await _slots(db, "PE-ARE", 16) == []
    assert len(await _slots(db, "PE-ARE", 23)) == 3
    async with db.uow() as uow:
        entries = list(
            await uow.session.scalars(
                select(AuditEntry).where(AuditEntry.tenant_id == tenant.id).order_by(AuditEntry.id)
            )
        )
        assert [e.action for e in entries] == [
            "specialist.add",
            "specialist.hours",
            "closure.add.day_off",
            "closure.add.regional",
        ]
        hours_change = entries[1]
        assert hours_change.before == {"hours": [], "breaks": []}
        assert hours_change.after == {"hours": ["2:09:00-11:00"], "breaks": ["2:10:00-10:30"]}


async def test_another_regions_people_are_out_of_reach(db: Database) -> None:
    async with db.uow() as uow:
        arequipa = await catalog.get_tenant(uow, "PE-ARE")
        cusco = await catalog.get_tenant(uow, "PE-CUS")
        spec = await roster.add_specialist(
            uow,
            "PE-CUS",
            name="Luis Ccori",
            services=[SERVICE],
            contact_channel="whatsapp",
            contact_address="+51912345678",
            by="admin:cus",
        )
        closure = await roster.add_closure(
            uow, cusco.id, date(2026, 12, 3), date(2026, 12, 3), reason="x", by="admin:cus"
        )
        await uow.commit()
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await roster.deactivate(uow, arequipa.id, spec.id, by="admin:are")
        with pytest.raises(NotFound):
            await roster.set_weekly_hours(uow, arequipa.id, spec.id, hours=[], by="admin:are")
        with pytest.raises(NotFound):
            await roster.add_closure(
                uow,
                arequipa.id,
                date(2026, 12, 4),
                date(2026, 12, 4),
                reason="x",
                by="admin:are",
                specialist_id=spec.id,
            )
        with pytest.raises(NotFound):
            await roster.remove_closure(uow, arequipa.id, closure.id, by="admin:are")
        listed = await roster.closures(uow, arequipa.id, since=date(2026, 12, 1))
        assert closure.id not in [c.id for c in listed]
        assert {c.kind for c in listed} == {"holiday"}


async def test_remove_closure_and_invalid_input(db: Database) -> None:
    async with db.uow() as uow:
        tenant = await catalog.get_tenant(uow, "PE-LMA")
        closure = await roster.add_closure(
            uow,
            tenant.id,
            date(2026, 12, 3),
            date(2026, 12, 4),
            reason="feriado regional",
            by="admin:lma",
        )
        with pytest.raises(InvalidTransition):
            await roster.add_closure(
                uow, tenant.id, date(2026, 12, 5), date(2026, 12, 4), reason="x", by="admin:lma"
            )
        with pytest.raises(InvalidTransition):
            WeeklySpan(7, time(9), time(10)).check()
        await uow.commit()
    async with db.uow() as uow:
        await roster.remove_closure(uow, tenant.id, closure.id, by="admin:lma")
        await uow.commit()
    async with db.uow() as uow:
        assert await uow.session.get(Closure, closure.id) is None
        removal = await uow.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "closure.remove")
        )
        assert removal is not None and removal.before is not None
        assert removal.before["reason"] == "feriado regional"
