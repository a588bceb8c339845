"""Hostile input to the admin API: refused with a clear 4xx naming the limit, nothing changed."""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.admin_api.bodies import MAX_DEPTH, MAX_INT_DIGITS
from bot.flows.registry import template_sources
from bot.flows.schema import MAX_BYTES
from core.models import Citizen, FlowVersion, Specialist
from tests.admin_api import world
from tests.admin_api.conftest import Api

BILLION_LAUGHS = """\
flow: menu
languages: [es]
start: a
description: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
steps: {a: {kind: message, prompt: {es: *i}, next: end}}
"""
UNICODE_DIGITS = ("²", "³", "٣", "３")


async def _flow_rows(api: Api) -> int:
    async with api.db.uow() as uow:
        return len(list(await uow.session.scalars(select(FlowVersion.id))))


async def _region_flows(api: Api) -> int:
    async with api.db.uow() as uow:
        query = select(FlowVersion.id).where(FlowVersion.tenant_id.is_not(None))
        return len(list(await uow.session.scalars(query)))


@pytest.mark.parametrize("route", ["validate", "drafts"])
async def test_billion_laughs_is_refused_not_expanded(api: Api, route: str) -> None:
    token = await api.token("regional", "PE-ARE")
    before = await _flow_rows(api)
    status, body = await api.call(
        "POST", f"/tenants/PE-ARE/flows/menu/{route}", token, {"yaml": BILLION_LAUGHS}
    )
    assert status == 422
    assert body["error"] == "invalid"
    assert "aliases" in body["details"]["errors"][0]["message"]
    assert await _flow_rows(api) == before


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("flow: menu\nsteps: " + "[" * 20_000 + "\n", "nested deeper than 16"),
        ("flow: menu\nsteps:\n" + "".join("  " * i + "-\n" for i in range(1, 40)), "nested"),
        ("flow: menu\nmax: " + "9" * 5000 + "\n", "longer than 12 characters"),
        ("flow: menu\nmax: !!int '" + "9" * 5000 + "'\n", "longer than 12 characters"),
        ("flow: menu\nsteps: [" + ",".join(["1"] * 6000) + "]\n", "more than 5000 values"),
        (template_sources()["menu"] + "\nexec: os.system\n", "unknown top-level field 'exec'"),
        (
            "flow: menu\nsteps:\n  a: {kind: [1], save: {x: 1}, next: [{goto: b, if: [1]}]}\n",
            "save",
        ),
    ],
    ids=["flow-depth", "block-depth", "integer", "tagged-integer", "values", "exec", "types"],
)
async def test_hostile_flow_documents_get_422_naming_the_problem(
    api: Api, source: str, named: str
) -> None:
    token = await api.token("regional", "PE-ARE")
    status, body = await api.call(
        "POST", "/tenants/PE-ARE/flows/menu/drafts", token, {"yaml": source}
    )
    assert status == 422, body
    messages = " | ".join(e["message"] for e in body["details"]["errors"])
    assert named in messages
    assert await _region_flows(api) == 0


async def test_a_flow_over_the_byte_limit_gets_413(api: Api) -> None:
    token = await api.token("regional", "PE-ARE")
    huge = "flow: menu\nmax: " + "9" * 150_000 + "\n"
    status, body = await api.call(
        "POST", "/tenants/PE-ARE/flows/menu/validate", token, {"yaml": huge}
    )
    assert status == 413
    assert body["error"] == "too_large" and str(MAX_BYTES) in body["message"]


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ('{"version": ' + "[" * 100_000 + "]" * 100_000 + "}", f"deeper than {MAX_DEPTH}"),
        ('{"version": ' + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "}", "deeper"),
        ('{"version": 1' + "0" * 150_000 + "}", f"more than {MAX_INT_DIGITS} digits"),
        ('{"version": NaN}', "NaN"),
        ('{"version": 1, "reason": "a\\u0000b"}', "NUL"),
        (b'{"version": "\xff"}', "UTF-8"),
    ],
    ids=["deep", "just-too-deep", "huge-integer", "nan", "nul", "not-utf8"],
)
async def test_hostile_json_bodies_get_400_naming_the_limit(
    api: Api, raw: str | bytes, named: str
) -> None:
    token = await api.token("regional", "PE-ARE")
    status, body = await api.call(
        "POST",
        "/tenants/PE-ARE/flows/menu/publish",
        token,
        data=raw,
        headers={"Content-Type": "application/json"},
    )
    assert status == 400, body
    assert body["error"] == "bad_request" and named in body["message"]


async def test_a_body_over_one_mebibyte_gets_413(api: Api) -> None:
    token = await api.token("regional", "PE-ARE")
    csv_text = "name,contact_channel,contact_address,services\n" + "x" * (1024 * 1024)
    status, body = await api.call(
        "POST", "/tenants/PE-ARE/specialists/import", token, {"csv": csv_text}
    )
    assert status == 413 and body["error"] == "too_large"


def _id_routes(w: world.World, raw: str) -> list[tuple[str, str, Any]]:
    t = f"/tenants/{w.tenant}"
    return [
        ("DELETE", f"{t}/closures/{raw}", None),
        ("GET", f"{t}/events/{raw}/attendees", None),
        ("POST", f"{t}/events/{raw}/cancel", {}),
        ("POST", f"{t}/specialists/{raw}/deactivate", {}),
        ("PUT", f"{t}/specialists/{raw}/hours", {"hours": ["mon 08:30-13:00"]}),
        (
            "POST",
            f"{t}/specialists/{raw}/days-off",
            {"starts_on": "2027-01-05", "ends_on": "2027-01-05"},
        ),
        ("POST", f"{t}/outbox/{raw}/retry", {}),
        ("POST", f"{t}/tickets/{raw}/assign", {"specialist_id": w.specialist_id}),
    ]


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
async def test_unicode_digits_in_ids_are_404_and_change_nothing(api: Api, digit: str) -> None:
    w = await world.build(api.db)
    tokens = (await api.token("national"), await api.token("regional", w.tenant))
    before = await world.snapshot(api.db)
    for token in tokens:
        for method, path, body in _id_routes(w, digit):
            status, answer = await api.call(method, path, token, body)
            assert status == 404, (method, path, answer)
            assert answer["error"] == "not_found"
    assert await world.snapshot(api.db) == before


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
async def test_unicode_digits_in_query_numbers_are_422(api: Api, digit: str) -> None:
    w = await world.build(api.db)
    token = await api.token("regional", w.tenant)
    t = f"/tenants/{w.tenant}"
    for path in (
        f"{t}/flows/menu?version={digit}",
        f"{t}/flows/menu/graph?version={digit}",
        f"{t}/appointments?specialist={digit}",
        f"{t}/appointments?limit={digit}",
        f"{t}/specialists?limit=1{digit}",
    ):
        status, answer = await api.call("GET", path, token)
        assert status == 422, (path, answer)
        assert answer["error"] == "invalid"


async def test_a_forged_cursor_with_a_huge_number_is_422(api: Api) -> None:
    token = await api.token("national")
    import base64

    cursor = base64.urlsafe_b64encode(b'{"after": ' + b"9" * 500 + b"}").decode()
    status, answer = await api.call("GET", f"/tenants/PE-ARE/specialists?cursor={cursor}", token)
    assert status == 422 and "cursor" in answer["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/tenants/PE-ARE%00/flows",
        "/tenants/PE-ARE%00/specialists",
        "/tenants/PE-ARE/appointments?service=x%00y",
        "/tenants/PE-ARE/appointments.csv?x=%00",
        "/audit?actor=%00",
        "/tenants/PE-ARE/services/consultas%00",
    ],
)
async def test_nul_and_control_characters_are_400_for_both_roles(api: Api, path: str) -> None:
    for token in (await api.token("national"), await api.token("regional", "PE-ARE")):
        status, answer = await api.call("GET", path, token)
        if path.startswith("/tenants/PE-ARE/services/"):
            status, answer = await api.call("PATCH", path, token, {"enabled": True})
        assert status == 400, (path, answer)
        assert "control character" in answer["message"]


@pytest.mark.parametrize(
    "code", ["pe-are", "PE-ARE' OR '1'='1", "PE-ARE;DROP TABLE tenant", "x" * 300, "PE-ÁRE"]
)
async def test_malformed_region_codes_are_404_for_both_roles(api: Api, code: str) -> None:
    for token in (await api.token("national"), await api.token("regional", "PE-ARE")):
        status, answer = await api.call("GET", f"/tenants/{code}/flows", token)
        assert status == 404, (code, answer)
        assert answer["error"] == "not_found"


async def test_injection_strings_in_filters_are_data(api: Api) -> None:
    w = await world.build(api.db)
    token = await api.token("regional", w.tenant)
    for value in ("' OR 1=1 --", "%", "_", "\\", "<script>alert(1)</script>", "{{7*7}}"):
        status, answer = await api.call(
            "GET", f"/tenants/{w.tenant}/appointments", token, params={"service": value}
        )
        # Compared as a whole code, not a pattern: no service has that code (422 naming them).
        assert status == 422 and "consultas-laborales" in answer["message"], answer
        status, answer = await api.call("GET", "/audit", token, params={"actor": value})
        assert status == 200 and answer["items"] == []


FORMULAS = ('=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx")


async def test_csv_export_neutralises_formulas(api: Api) -> None:
    w = await world.build(api.db)
    token = await api.token("regional", w.tenant)
    for formula in FORMULAS:
        async with api.db.uow() as uow:
            citizen = await uow.session.get(Citizen, w.citizen_id)
            assert citizen is not None
            citizen.name = formula
            await uow.commit()
        status, text = await api.call("GET", f"/tenants/{w.tenant}/appointments.csv", token)
        assert status == 200
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["citizen_name"] for r in rows] == ["'" + formula]
        # Other cells are untouched: the specialist's name and the dates read as before.
        assert not rows[0]["start"].startswith("'") and rows[0]["specialist"][0] != "'"


async def test_a_chat_address_is_a_specialist_in_one_region_only(api: Api) -> None:
    w = await world.build(api.db, "PE-CUS")
    async with api.db.uow() as uow:
        cusco = await uow.session.get(Specialist, w.specialist_id)
        assert cusco is not None
        address, name = cusco.contact_address, cusco.name
    token = await api.token("regional", "PE-ARE")
    new = {
        "name": "Otra Persona",
        "contact_channel": "telegram",
        "contact_address": address,
        "services": ["consultas-laborales"],
    }
    status, answer = await api.call("POST", "/tenants/PE-ARE/specialists", token, new)
    assert status == 409 and answer["error"] == "conflict"
    assert "another region" in answer["message"]
    assert name not in str(answer) and "PE-CUS" not in str(answer)
    rows = (
        "name,contact_channel,contact_address,services\n"
        f"Otra,telegram,{address},consultas-laborales\n"
    )
    status, answer = await api.call(
        "POST", "/tenants/PE-ARE/specialists/import", token, {"csv": rows}
    )
    assert status == 422 and "another region" in answer["details"]["rows"][0]["message"]
    assert name not in str(answer)
    async with api.db.uow() as uow:
        same = list(
            await uow.session.scalars(
                select(Specialist.id).where(Specialist.contact_address == address)
            )
        )
    assert same == [w.specialist_id]
    # Once Cusco deactivates it, Arequipa may register the address.
    cusco_token = await api.token("regional", "PE-CUS")
    status, _ = await api.call(
        "POST", f"/tenants/PE-CUS/specialists/{w.specialist_id}/deactivate", cusco_token, {}
    )
    assert status == 200
    status, answer = await api.call("POST", "/tenants/PE-ARE/specialists", token, new)
    assert status == 201, answer


@pytest.mark.parametrize("address", ["٣٣٣٣٣٣", "12 34 56", "+５１987654321"])
async def test_contact_addresses_take_ascii_digits_only(api: Api, address: str) -> None:
    token = await api.token("regional", "PE-ARE")
    channel = "whatsapp" if address.startswith("+") else "telegram"
    new = {
        "name": "Persona",
        "contact_channel": channel,
        "contact_address": address,
        "services": ["consultas-laborales"],
    }
    status, answer = await api.call("POST", "/tenants/PE-ARE/specialists", token, new)
    assert status == 422, answer


@pytest.mark.parametrize("span", ["mon ٠٨:30-13:00", "mon 08:30-1３:00", "mon\u00a008:30-13:00x"])
async def test_hours_take_ascii_digits_only(api: Api, span: str) -> None:
    w = await world.build(api.db)
    token = await api.token("regional", w.tenant)
    status, answer = await api.call(
        "PUT", f"/tenants/{w.tenant}/specialists/{w.specialist_id}/hours", token, {"hours": [span]}
    )
    assert status == 422, answer


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValueError("invalid literal for int() with base 10: 'Lucía 40123456'"), 500),
        (OperationalError("SELECT ...", {"doc": "40123456"}, OSError("refused")), 503),
    ],
    ids=["bug", "database-down"],
)
async def test_an_unexpected_failure_logs_no_input(
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    status: int,
) -> None:
    def broken() -> frozenset[str]:
        raise error

    monkeypatch.setattr("bot.admin_api.flows.template_names", broken)
    token = await api.token("regional", "PE-ARE")
    caplog.set_level(logging.DEBUG)
    answer_status, answer = await api.call("GET", "/tenants/PE-ARE/flows", token)
    assert answer_status == status
    assert set(answer) == {"error", "message"}
    logged = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    assert "GET /tenants/{t}/flows" in logged or "/api/admin/tenants/{t}/flows" in logged
    assert "40123456" not in logged and "Lucía" not in logged


@pytest.mark.parametrize(
    ("channel", "address"),
    [("telegram", "٣٣٣٣٣٣"), ("telegram", "³³³"), ("whatsapp", "+５１987654321")],
)
async def test_rebind_addresses_take_ascii_digits_only(
    api: Api, channel: str, address: str
) -> None:
    token = await api.token("regional", "PE-ARE")
    body = {
        "document_type": "dni",
        "document_number": "45678912",
        "channel": channel,
        "address": address,
        "reason": "Cambio de numero; identidad comprobada",
    }
    status, answer = await api.call("POST", "/tenants/PE-ARE/citizens/rebind", token, body)
    assert status == 422 and "address" in answer["message"], answer
