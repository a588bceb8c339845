"""The dashboard's pages over each real database: sign-in, scope, period, figures, stream."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import admin_api
from core import access, booking
from core.db import Database
from core.models import AppointmentStatus
from core.settings import Settings
from core.types import utcnow
from tests.admin_api import world
from tests.factories import NOW, add_citizen, add_specialist, lima

PERIOD = "?period=custom&from=2026-11-30&to=2026-12-05"
Client = TestClient[Any, Any]


@pytest.fixture
async def client(db: Database) -> AsyncIterator[Client]:
    app = web.Application()
    admin_api.setup(app, db, Settings(database_url=db.url))
    async with TestClient(TestServer(app)) as running:
        yield running


async def token(db: Database, role: str, tenant: str | None = None) -> str:
    async with db.uow() as uow:
        _, made = await access.create_token(
            uow, role=role, tenant_code=tenant, name="t", expires_days=None, now=utcnow(), by="t"
        )
        await uow.commit()
    return made


async def page(client: Client, path: str, made: str) -> tuple[int, str]:
    response = await client.get(path, cookies={"token": made})
    return response.status, await response.text()


def totals(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-total="(\w+)">(\d+)<', html)}


async def test_sign_in_keeps_the_token_in_a_strict_http_only_cookie(
    db: Database, client: Client
) -> None:
    good = await token(db, "national")
    response = await client.post("/dashboard/login", data={"token": "psv_nope"})
    assert response.status == 401 and "unknown admin token" in await response.text()
    response = await client.post("/dashboard/login", data={"token": good}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/dashboard"
    cookie = response.headers["Set-Cookie"]
    assert f"token={good}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/dashboard" in cookie
    response = await client.post("/dashboard/logout", allow_redirects=False)
    assert response.status == 303 and 'token=""' in response.headers["Set-Cookie"]
    # A revoked token sends the browser back to the form.
    async with db.uow() as uow:
        found = await access.authenticate(uow, good, now=utcnow())
        await access.revoke_token(uow, found.token_id, now=utcnow(), by="t")
        await uow.commit()
    status, html = await page(client, "/dashboard", good)
    assert status == 401 and "revoked" in html and 'id="token"' in html


async def test_figures_match_the_reports_api_and_the_database(
    db: Database, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    cusco = await world.build(db, "PE-CUS")
    async with db.uow() as uow:
        await booking.set_outcome(
            uow, cusco.appointment_id, AppointmentStatus.ATTENDED, by="t", now=lima(2026, 12, 2, 11)
        )
        await uow.commit()
    national = await token(db, "national")
    monkeypatch.setenv("PSV_SAVING_SOLES", "10")
    status, html = await page(client, "/dashboard" + PERIOD + "&region=PE-CUS", national)
    assert status == 200
    response = await client.get(
        "/api/admin/reports?tenant=PE-CUS&from=2026-11-30&to=2026-12-05",
        headers={"Authorization": f"Bearer {national}"},
    )
    report = (await response.json())["totals"]
    shown = totals(html)
    for key in ("requests", "appointments", "attended", "no_shows", "cancelled"):
        assert shown[key] == report[key], key
    assert shown["appointments"] == 1 and shown["attended"] == 1
    assert shown["event_registrations"] == report["event_registrations"] == 1
    # One attended video consultation: S/ 10 (setting) and 4 hours (default) saved.
    assert "S/ 10.00" in html and "4.0 horas" in html
    # Booked at 09:00 on 1 Dec for 10:00 on 2 Dec: 25 hours, 1.0 day (medians by each backend).
    assert "<td>25.0</td>" in html
    assert "<td>Cusco</td><td>Consultas laborales</td><td>1.0</td><td>1</td>" in html
    # The open hand-off ticket is waiting.
    assert re.search(r'id="tickets">\s*<dt>[^<]+</dt><dd>1</dd>', html)
    # Only Cusco's row when Cusco is picked; every region for the country.
    assert html.count('data-key="appointments"') == 2  # its bar and its row
    status, html = await page(client, "/dashboard" + PERIOD, national)
    assert "Nacional" in html and html.count("<tr><td>") >= 26
    status, html = await page(client, "/dashboard" + PERIOD + "&lang=en", national)
    assert "Appointments booked" in html and "Citizens&#39; savings" in html


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("?period=custom&from=2026-12-05&to=2026-12-01", "ends before it starts"),
        ("?period=custom&from=2025-01-01&to=2026-12-01", "at most 366 days"),
        ("?period=custom&from=ayer&to=2026-12-01", "from must be a date"),
        ("?period=month&month=2026-13", "month must look like"),
        ("?period=siempre", "period must be one of"),
    ],
)
async def test_a_bad_period_is_explained(
    db: Database, client: Client, query: str, why: str
) -> None:
    status, html = await page(client, "/dashboard" + query, await token(db, "viewer"))
    assert status == 200 and "Periodo no válido" in html and why in html
    assert 'value="7d" selected' in html  # the default period is shown instead


async def test_a_month_is_the_whole_calendar_month(db: Database, client: Client) -> None:
    status, html = await page(
        client, "/dashboard?period=month&month=2026-02", await token(db, "viewer")
    )
    assert status == 200 and "2026-02-01 → 2026-02-28" in html


async def _next_change(stream: Any) -> str:
    while True:
        line = (await stream.content.readline()).decode()
        if line.startswith("data: "):
            return line


async def test_the_stream_sends_changes_in_the_callers_scope_only(
    db: Database, client: Client
) -> None:
    async with db.uow() as uow:
        await add_specialist(uow, "PE-ARE")
        await add_specialist(uow, "PE-CUS")
        citizen = await add_citizen(uow)
        other = await add_citizen(uow, "Rosa Mamani")
        await uow.commit()
    assert (await client.get("/dashboard/events")).status == 401
    national = await client.get("/dashboard/events", cookies={"token": await token(db, "national")})
    regional = await client.get(
        "/dashboard/events", cookies={"token": await token(db, "regional", "PE-CUS")}
    )
    assert national.headers["Content-Type"] == "text/event-stream"
    for who, region, day in ((citizen, "PE-ARE", 2), (other, "PE-CUS", 3)):
        async with db.uow() as uow:
            await booking.book(
                uow,
                tenant_code=region,
                service_code="consultas-laborales",
                citizen_id=who.id,
                start=lima(2026, 12, day, 10),
                now=NOW,
            )
            await uow.commit()
    first = await asyncio.wait_for(_next_change(national), timeout=5)
    second = await asyncio.wait_for(_next_change(national), timeout=5)
    assert '"region": "PE-ARE"' in first and '"kind": "booked"' in first
    assert '"region": "PE-CUS"' in second
    only = await asyncio.wait_for(_next_change(regional), timeout=5)
    assert '"region": "PE-CUS"' in only  # Arequipa's booking never reached it
    for line in (first, second, only):
        assert "Quispe" not in line and "Mamani" not in line and "citizen" not in line
    national.close()
    regional.close()
