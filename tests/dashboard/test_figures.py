"""The dashboard's newer figures against the database, on each real database.

Training events (registrations, attendance, participants per event), the first free slot
per region and service (from core/availability.py, cached), and the JSON and CSV exports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot import admin_api
from bot.dashboard import first_free, queries
from core import availability, booking, catalog
from core.db import Database
from core.models import EventStatus, GroupEvent, TenantService
from core.settings import Settings
from core.types import utcnow
from tests.admin_api import world
from tests.dashboard.test_pages import page, token
from tests.factories import add_citizen, add_specialist

Client = TestClient[Any, Any]


@pytest.fixture
async def client(db: Database) -> AsyncIterator[Client]:
    app = web.Application()
    admin_api.setup(app, db, Settings(database_url=db.url))
    async with TestClient(TestServer(app)) as running:
        yield running


async def _event(db: Database, region: str, start: datetime, confirmed: int) -> None:
    async with db.uow() as uow:
        tenant = await catalog.get_tenant(uow, region)
        service = await catalog.get_service(uow, "capacitacion-laboral")
        uow.session.add(
            GroupEvent(
                tenant_id=tenant.id,
                service_id=service.id,
                title="Taller",
                start_utc=start,
                duration_minutes=90,
                seats=100,
                status=EventStatus.SCHEDULED,
                confirmed_count=confirmed,
                last_position=confirmed,
            )
        )
        await uow.commit()


async def test_events_attendance_and_participants_per_event_match_the_database(
    db: Database,
) -> None:
    now = datetime(2026, 12, 5, 15, tzinfo=UTC)
    first, after = now - timedelta(days=10), now + timedelta(days=10)
    await _event(db, "PE-CUS", now - timedelta(days=3), 40)  # held
    await _event(db, "PE-CUS", now - timedelta(days=1), 20)  # held
    await _event(db, "PE-CUS", now + timedelta(days=2), 12)  # still to come
    await _event(db, "PE-ARE", now - timedelta(days=2), 90)  # another region
    await _event(db, "PE-CUS", now - timedelta(days=30), 99)  # before the period
    async with db.uow() as uow:
        cusco = (await catalog.get_tenant(uow, "PE-CUS")).id
        found = await queries.group_events(uow, cusco, first, after, 7, now)
        past = select(func.count(), func.sum(GroupEvent.confirmed_count)).where(
            GroupEvent.tenant_id == cusco,
            GroupEvent.start_utc >= first,
            GroupEvent.start_utc <= now,
        )
        held, attended = (await uow.session.execute(past)).one()
        country = await queries.group_events(uow, None, first, after, 0, now)
    assert (found.held, found.past, found.attended) == (3, held, attended) == (3, 2, 60)
    assert found.confirmed == 72 and found.registrations == 7
    assert found.average == 24.0  # 72 confirmed over 3 events, beside 100 in person
    assert (country.held, country.attended, country.average) == (4, 150, 40.5)
    assert found.to_json()["in_person_reference"] == queries.IN_PERSON_EVENT == 100


async def test_the_first_free_slot_is_the_availability_cores(db: Database) -> None:
    now = utcnow()
    async with db.uow() as uow:
        await add_specialist(uow, "PE-CUS", ("consultas-laborales",))
        await uow.commit()
    rows = await first_free.compute(db, now)
    async with db.uow() as uow:
        enabled = await uow.session.scalar(
            select(func.count()).select_from(TenantService).where(TenantService.enabled.is_(True))
        )
        expected = await availability.first_free_slots(
            uow, "PE-CUS", "consultas-laborales", now=now
        )
    by_key = {(r.region, r.service_code): r for r in rows}
    cusco = by_key[("Cusco", "consultas-laborales")]
    assert expected and cusco.days == round((expected[0].start - now).total_seconds() / 86400, 1)
    assert cusco.days is not None and 0 <= cusco.days < 7
    # Offers nobody is competent for are not waits: they are left out.
    assert len(rows) == 1 < int(enabled or 0)
    shown = first_free.longest_first(rows, cusco.tenant_id)
    assert {r.region for r in shown} == {"Cusco"} and cusco in shown
    waits = [r.days for r in shown]  # no free slot first, then the longest waits
    assert waits == sorted(waits, key=lambda d: (d is not None, -(d or 0.0)))


async def test_the_first_free_slot_is_cached_and_refreshed_in_the_background(
    db: Database,
) -> None:
    ticks = [0.0]
    cache = first_free.FirstFreeCache(ttl=60, clock=lambda: ticks[0])
    now = utcnow()
    assert await cache.get(db, now) is None  # searching in the background, never waited for
    await cache.close()
    before = await cache.get(db, now)
    assert before is not None
    async with db.uow() as uow:
        await add_specialist(uow, "PE-CUS", ("consultas-laborales",))
        await uow.commit()
    ticks[0] = 30.0
    assert await cache.get(db, now) is before  # fresh: not computed again
    ticks[0] = 61.0
    assert await cache.get(db, now) is before  # stale: shown while a new one is computed
    await cache.close()
    after = await cache.get(db, now)
    assert after is not before
    assert before == [] and [(r.region, r.service_code) for r in after] == [
        ("Cusco", "consultas-laborales")
    ]


async def test_the_exports_give_the_pages_figures_in_its_scope(
    db: Database, client: Client
) -> None:
    await world.build(db, "PE-CUS")
    async with db.uow() as uow:
        await add_specialist(uow, "PE-ARE")
        citizen = await add_citizen(uow, "Rosa Mamani")
        now = utcnow()
        slots = await availability.first_free_slots(uow, "PE-ARE", "consultas-laborales", now=now)
        await booking.book(
            uow,
            tenant_code="PE-ARE",
            service_code="consultas-laborales",
            citizen_id=citizen.id,
            start=slots[0].start,
            now=now,
        )
        await uow.commit()
    period = "?period=custom&from=2026-11-30&to=" + now.date().isoformat()
    national = await token(db, "national")
    response = await client.get("/dashboard/figures.json" + period, cookies={"token": national})
    assert response.status == 200
    assert (await response.json())["first_free_slot"]["computing"] is True
    await client.app[first_free.CACHE].close()  # the background search ends
    response = await client.get("/dashboard/figures.json" + period, cookies={"token": national})
    data = await response.json()
    assert data["first_free_slot"]["computing"] is False
    status, html = await page(client, "/dashboard" + period, national)
    assert status == 200 and 'id="first-free"' in html and "Arequipa" in html
    assert data["scope"] == "PE" and data["period"]["start"] == "2026-11-30"
    assert data["totals"]["appointments"] == 2  # Cusco's (1 Dec) and Arequipa's (now)
    assert data["events"]["in_person_reference"] == 100
    assert data["tickets_waiting"]["waiting"] == 1
    offers = {(o["region"], o["service"]): o["days"] for o in data["first_free_slot"]["offers"]}
    assert offers[("Arequipa", "consultas-laborales")] is not None
    regional = await token(db, "regional", "PE-ARE")
    response = await client.get("/dashboard/figures.json" + period, cookies={"token": regional})
    data = await response.json()
    assert data["scope"] == "PE-ARE" and set(data["regions"]) <= {"PE-ARE"}
    assert {o["region"] for o in data["first_free_slot"]["offers"]} == {"Arequipa"}
    assert data["totals"]["appointments"] == 1 and data["tickets_waiting"]["waiting"] == 0
    response = await client.get("/dashboard/figures.csv" + period, cookies={"token": national})
    assert response.status == 200 and response.content_type == "text/csv"
    text = await response.text()
    rows = list(csv.DictReader(io.StringIO(text)))
    values = {(r["section"], r["region"], r["figure"]): r["value"] for r in rows}
    assert values[("totals", "PE", "appointments")] == "2"
    assert values[("region", "PE-CUS", "appointments")] == "1"
    assert ("events", "PE", "attendance") in values
    for secret in ("Quispe", "Mamani", "777", "despido"):
        assert secret not in text
    assert (await client.get("/dashboard/figures.csv")).status == 401
