"""Pages, CSV export with progress, CSV import with bad rows (fake API on loopback)."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from admin_cli.errors import ExitCode
from tests.admin_cli.conftest import Cli
from tests.admin_cli.fake_api import FakeApi

APPTS = "/tenants/PE-ARE/appointments"
HEADER = "name,contact_channel,contact_address,services,hours\n"


def _pages(request: web.Request, body: bytes) -> web.Response:
    """120 items served at most 50 at a time with a cursor."""
    start = int(request.query.get("cursor", "0"))
    limit = min(50, int(request.query.get("limit", "50")))  # the server caps pages
    items = [{"id": i, "status": "booked"} for i in range(start, min(start + limit, 120))]
    more = start + limit < 120
    return web.json_response({"items": items, "next_cursor": str(start + limit) if more else None})


def test_lists_follow_cursors_up_to_the_limit(fake: FakeApi, cli: Cli) -> None:
    fake.on("GET", APPTS, _pages)
    result = cli("appointments", "list", "--limit", "70", "--json")
    assert result.exit_code == 0, result.output
    assert [item["id"] for item in json.loads(result.stdout)] == list(range(70))
    assert [s.query.get("limit") for s in fake.requests("GET", APPTS)] == ["70", "20"]
    every = cli("appointments", "list", "--all", "--json")
    assert len(json.loads(every.stdout)) == 120


def test_a_table_says_when_rows_were_left_out(fake: FakeApi, cli: Cli) -> None:
    fake.on("GET", APPTS, _pages)
    result = cli("appointments", "list")
    assert result.exit_code == 0
    assert "More rows exist" in result.stderr
    assert "booked" in result.stdout


def test_filters_reach_the_query(fake: FakeApi, cli: Cli) -> None:
    fake.on("GET", APPTS, (200, {"items": [], "next_cursor": None}))
    result = cli(
        "appointments", "list", "--from", "2025-03-01", "--to", "2025-03-31",
        "--service", "legal", "--status", "no_show", "--specialist", "7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [seen] = fake.requests("GET", APPTS)
    assert seen.query == {
        "from": "2025-03-01",
        "to": "2025-03-31",
        "service": "legal",
        "status": "no_show",
        "specialist": "7",
        "limit": "50",
    }
    assert "No appointments" in result.stdout


def test_export_streams_the_csv_into_the_file(fake: FakeApi, cli: Cli, tmp_path: Path) -> None:
    rows = "".join(f"{i},2025-03-10T09:00:00-05:00,legal,booked\n" for i in range(5000))
    body = ("id,start,service,status\n" + rows).encode()

    async def stream(request: web.Request, _: bytes) -> web.StreamResponse:
        answer = web.StreamResponse(headers={"Content-Type": "text/csv"})
        answer.content_length = len(body)
        await answer.prepare(request)
        for start in range(0, len(body), 10_000):
            await answer.write(body[start : start + 10_000])
        await answer.write_eof()
        return answer

    fake.on("GET", APPTS + ".csv", stream)
    target = tmp_path / "out.csv"
    result = cli("appointments", "export", str(target), "--status", "booked")
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == body
    assert "Wrote 5000 appointments" in result.stdout
    assert fake.requests("GET", APPTS + ".csv")[0].query == {"status": "booked"}


def test_a_failed_export_leaves_no_file(fake: FakeApi, cli: Cli, tmp_path: Path) -> None:
    fake.on("GET", APPTS + ".csv", (403, {"error": "forbidden", "message": "viewers cannot"}))
    target = tmp_path / "out.csv"
    result = cli("appointments", "export", str(target))
    assert result.exit_code == ExitCode.FORBIDDEN
    assert not target.exists()
    assert list(tmp_path.glob(".psv-export-*")) == []


def test_import_reports_each_bad_row_by_line(fake: FakeApi, cli: Cli, tmp_path: Path) -> None:
    details = {"rows": [{"line": 3, "message": "unknown service 'magia'"}]}
    fake.on(
        "POST",
        "/tenants/PE-ARE/specialists/import",
        (422, {"error": "invalid", "message": "1 bad row; nothing imported", "details": details}),
    )
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(HEADER + "Ana,telegram,1,legal,mon 08:30-13:00\nLuis,telegram,2,magia,\n")
    result = cli("specialists", "import", str(csv_file))
    assert result.exit_code == ExitCode.INVALID
    assert "line 3: unknown service 'magia'" in result.stderr
    [seen] = fake.requests("POST", "/tenants/PE-ARE/specialists/import")
    assert seen.json() == {"csv": csv_file.read_text(), "skip_bad": False}
    assert seen.headers["Content-Length"] == str(len(seen.body))


def test_import_with_skip_bad_lists_what_was_skipped(
    fake: FakeApi, cli: Cli, tmp_path: Path
) -> None:
    fake.on(
        "POST",
        "/tenants/PE-ARE/specialists/import",
        (200, {"imported": 1, "skipped": [{"line": 3, "message": "unknown service 'magia'"}]}),
    )
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(HEADER + "Ana,telegram,1,legal,\nLuis,telegram,2,magia,\n")
    result = cli("specialists", "import", str(csv_file), "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "Imported 1 of 2 rows" in result.stdout
    assert "line 3: unknown service 'magia'" in result.stdout
    assert fake.requests("POST", "/tenants/PE-ARE/specialists/import")[0].json()["skip_bad"]


def test_import_refuses_a_file_without_the_columns(fake: FakeApi, cli: Cli, tmp_path: Path) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("nombre,telefono\nAna,1\n")
    result = cli("specialists", "import", str(csv_file))
    assert result.exit_code == ExitCode.INVALID
    assert "line 1: the header lacks name, contact_channel, contact_address, services." in (
        result.stderr.replace("\n", " ")
    )
    assert fake.requests("POST", "/tenants/PE-ARE/specialists/import") == []


def test_import_takes_a_file_without_hours(fake: FakeApi, cli: Cli, tmp_path: Path) -> None:
    fake.on("POST", "/tenants/PE-ARE/specialists/import", (200, {"imported": 1, "skipped": []}))
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("Name,Contact_Channel,Contact_Address,Services\nAna,telegram,1,legal\n")
    result = cli("specialists", "import", str(csv_file))
    assert result.exit_code == 0, result.output
    assert "Imported 1 of 1 rows" in result.stdout
    [seen] = fake.requests("POST", "/tenants/PE-ARE/specialists/import")
    assert seen.json()["csv"] == csv_file.read_text()
