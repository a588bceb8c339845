"""Error bodies become readable messages and distinct exit codes (fake API on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin_cli.errors import ExitCode
from admin_cli.output import detail_lines
from tests.admin_cli.conftest import TOKEN, Cli
from tests.admin_cli.fake_api import FakeApi

FLOWS = "/tenants/PE-ARE/flows"


@pytest.mark.parametrize(
    ("status", "code", "exit_code"),
    [
        (400, "bad_request", ExitCode.INVALID),
        (401, "unauthorized", ExitCode.UNAUTHORIZED),
        (403, "forbidden", ExitCode.FORBIDDEN),
        (404, "not_found", ExitCode.NOT_FOUND),
        (409, "conflict", ExitCode.CONFLICT),
        (422, "invalid", ExitCode.INVALID),
        (429, "too_many_requests", ExitCode.UNAUTHORIZED),
        (500, "error", ExitCode.SERVER),
        (503, "error", ExitCode.SERVER),
    ],
)
def test_each_error_status_has_its_exit_code_and_message(
    fake: FakeApi, cli: Cli, status: int, code: str, exit_code: ExitCode
) -> None:
    fake.on("GET", FLOWS, (status, {"error": code, "message": f"refused with {status}"}))
    result = cli("flows", "list")
    assert result.exit_code == exit_code
    assert f"refused with {status}" in result.stderr
    assert f"({code})" in result.stderr
    assert result.stdout == ""


def test_exit_codes_are_distinct() -> None:
    values = [int(code) for code in ExitCode]
    assert len(values) == len(set(values))


def test_flow_errors_are_shown_line_by_line(fake: FakeApi, cli: Cli, tmp_path: Path) -> None:
    details = {
        "errors": [
            {"line": 12, "step": "notice", "message": "unknown step kind 'yesno'"},
            {"line": 30, "step": None, "message": "step 'declined' is unreachable"},
        ]
    }
    fake.on(
        "POST",
        FLOWS + "/menu/validate",
        (422, {"error": "invalid", "message": "the flow does not validate", "details": details}),
    )
    flow = tmp_path / "menu.yaml"
    flow.write_text("flow: menu\n")
    result = cli("flows", "validate", "menu", str(flow), "--lang", "en")
    assert result.exit_code == ExitCode.INVALID
    assert "line 12: unknown step kind 'yesno' (step notice)" in result.stderr
    assert "line 30: step 'declined' is unreachable" in result.stderr
    [seen] = fake.requests("POST", FLOWS + "/menu/validate")
    assert seen.json() == {"yaml": "flow: menu\n"}


def test_a_valid_flow_file_says_so(fake: FakeApi, cli: Cli, tmp_path: Path) -> None:
    fake.on("POST", FLOWS + "/menu/validate", (200, {"ok": True}))
    flow = tmp_path / "menu.yaml"
    flow.write_text("flow: menu\n")
    result = cli("flows", "validate", "menu", str(flow), PSV_ADMIN_LANG="en")
    assert result.exit_code == 0
    assert "is a valid menu flow" in result.stdout
    assert "es un flujo menu válido" in cli("flows", "validate", "menu", str(flow)).stdout


def test_a_missing_file_is_a_usage_error(cli: Cli) -> None:
    result = cli("flows", "validate", "menu", "/nonexistent/menu.yaml")
    assert result.exit_code == ExitCode.USAGE
    assert "Cannot read /nonexistent/menu.yaml" in result.stderr


def test_a_non_json_error_page_still_gives_a_clear_message(fake: FakeApi, cli: Cli) -> None:
    fake.on("GET", FLOWS, (502, "<html>Bad Gateway</html>"))
    result = cli("flows", "list")
    assert result.exit_code == ExitCode.SERVER
    assert "HTTP 502" in result.stderr


def test_an_unreachable_server_is_a_network_error(cli: Cli) -> None:
    result = cli("flows", "list", PSV_ADMIN_URL="http://127.0.0.1:9")
    assert result.exit_code == ExitCode.SERVER
    assert "Cannot reach the server at http://127.0.0.1:9" in result.stderr


def test_a_non_json_answer_is_a_server_error(fake: FakeApi, cli: Cli) -> None:
    fake.on("GET", FLOWS, (200, "not json"))
    result = cli("flows", "list")
    assert result.exit_code == ExitCode.SERVER
    assert "not JSON" in result.stderr


def test_usage_errors_exit_with_2(cli: Cli) -> None:
    assert cli("flows", "diff", "menu", "--against", "yesterday").exit_code == ExitCode.USAGE
    assert cli("closures", "add", "--from", "31/02/2025", "--reason", "x").exit_code == 2
    assert cli("closures", "add", "--from", "mañana", "--reason", "x").exit_code == 2
    assert cli("services", "set", "legal").exit_code == ExitCode.USAGE


def test_a_national_token_must_name_the_region(fake: FakeApi, cli: Cli) -> None:
    fake.on("GET", "/me", (200, {"name": "Lima", "role": "national", "tenant": None}))
    result = cli("flows", "list")
    assert result.exit_code == ExitCode.USAGE
    assert "--tenant" in result.stderr
    assert fake.requests("GET", FLOWS) == []


def test_the_region_defaults_to_the_tokens_own(fake: FakeApi, cli: Cli) -> None:
    fake.on("GET", FLOWS, (200, {"items": [], "next_cursor": None}))
    fake.on("GET", "/tenants/PE-CUS/flows", (403, {"error": "forbidden", "message": "not yours"}))
    assert cli("flows", "list").exit_code == 0
    result = cli("flows", "list", "--tenant", "pe-cus")
    assert result.exit_code == ExitCode.FORBIDDEN
    assert "not yours" in result.stderr


def test_errors_never_print_the_token(fake: FakeApi, cli: Cli) -> None:
    fake.on("GET", FLOWS, (401, {"error": "unauthorized", "message": "expired"}))
    result = cli("flows", "list")
    assert TOKEN not in result.output
    assert "login again" in result.stderr


def test_detail_lines_show_csv_rows_and_fields() -> None:
    lines = detail_lines(
        {
            "rows": [{"line": 3, "message": "unknown service 'x'"}],
            "field": "duration_minutes",
        }
    )
    assert lines == ["line 3: unknown service 'x'", "field: duration_minutes"]
    assert detail_lines(None) == []
