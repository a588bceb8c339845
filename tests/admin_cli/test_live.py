"""psv-admin against the real `psv serve` (subprocess, SQLite file): no mock of the API.

The server is the one of tests/e2e/stack.py (fake Telegram and Twilio APIs on loopback), the
tokens come from `psv admin-token create`, and the CLI runs in-process through CliRunner with
PSV_ADMIN_URL and PSV_ADMIN_TOKEN pointing at it.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from admin_cli.errors import ExitCode
from tests.admin_cli.conftest import Cli
from tests.admin_cli.fake_editor import editor_env, opened
from tests.e2e.stack import PSV, Stack

OLD_PROMPT = "¿En qué le puedo ayudar?"
NEW_PROMPT = "¿En qué le puedo ayudar en Arequipa?"
NEWER_PROMPT = "¿Cómo le ayudamos hoy en Arequipa?"


class Live:
    """The running server, a token per role, and the CLI pointed at it."""

    def __init__(self, stack: Stack, tokens: dict[str, str]) -> None:
        self.stack = stack
        self.tokens = tokens

    async def run(self, *args: str, role: str = "regional", **env: str) -> Result:
        """Run psv-admin with a role's token (in a thread: the fake Telegram keeps answering)."""
        cli = Cli({"PSV_ADMIN_URL": self.stack.base, "PSV_ADMIN_TOKEN": self.tokens[role]})
        return await asyncio.to_thread(cli, *args, **env)

    async def json(self, *args: str, role: str = "regional") -> Any:
        result = await self.run(*args, "--json", role=role)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def sql(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        path = self.stack.database_url.split("///", 1)[1]
        with sqlite3.connect(path) as conn:
            return conn.execute(query, params).fetchall()


def _token(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [PSV, "admin-token", "create", *args],
        env=stack.env(),
        cwd=stack.tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("psv_"), "psv admin-token create printed no token"
    return token


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    async with Stack(tmp_path_factory.mktemp("live")) as stack:
        tokens = {
            "regional": _token(stack, "--role", "regional", "--tenant", "PE-ARE", "--name", "ana"),
            "cusco": _token(stack, "--role", "regional", "--tenant", "PE-CUS", "--name", "cusi"),
            "national": _token(stack, "--role", "national", "--name", "lima"),
            "viewer": _token(stack, "--role", "viewer", "--tenant", "PE-ARE", "--name", "ver"),
        }
        yield Live(stack, tokens)


# ---- a citizen on Telegram ----------------------------------------------------------------


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    markup = message.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = (markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text", "")) for m in messages)


async def _say(stack: Stack, chat: int, text: str) -> list[dict[str, Any]]:
    before = len(stack.tg_sent(chat))
    assert await stack.tg_post(stack.tg_text(chat, text)) == 200
    return await stack.tg_wait(chat, before)


async def _tap(
    stack: Stack, chat: int, message: dict[str, Any], label: str
) -> list[dict[str, Any]]:
    data = _buttons(message)[label]
    before = len(stack.tg_sent(chat))
    assert await stack.tg_post(stack.tg_button(chat, data, 1)) == 200
    return await stack.tg_wait(chat, before)


async def _to_menu(stack: Stack, chat: int) -> list[dict[str, Any]]:
    """A new citizen of Arequipa (deep link) accepts the notice and reaches the menu."""
    replies = await _say(stack, chat, "/start PE-ARE")
    assert "¿Acepta?" in _text(replies), _text(replies)
    return await _tap(stack, chat, replies[-1], "Sí")


def _error_line(stderr: str) -> int:
    """The line number the CLI shows for the unknown step kind."""
    found = re.search(r"^  line (\d+): unknown step kind 'chioce'", stderr, re.MULTILINE)
    assert found, stderr
    return int(found.group(1))


# ---- the tests ----------------------------------------------------------------------------


async def test_login_and_whoami_against_the_server(live: Live, private_config: Path) -> None:
    cli = Cli()
    token = live.tokens["regional"]
    result = await asyncio.to_thread(cli, "login", "--url", live.stack.base, "--token", token)
    assert result.exit_code == 0, result.output
    assert token not in result.output
    assert (private_config / "config.json").stat().st_mode & 0o777 == 0o600
    shown = json.loads((await asyncio.to_thread(cli, "whoami", "--json")).stdout)
    assert shown["role"] == "regional" and shown["tenant"] == "PE-ARE" and shown["name"] == "ana"
    assert shown["token"] == token[:8] + "…"
    refused = await asyncio.to_thread(cli, "login", "--url", live.stack.base, "--token", "psv_nope")
    assert refused.exit_code == ExitCode.UNAUTHORIZED
    assert json.loads((private_config / "config.json").read_text())["token"] == token


async def test_edit_validate_publish_pin_and_rollback(live: Live, tmp_path: Path) -> None:
    stack = live.stack
    national = await live.json("flows", "show", "menu")
    assert national["source_of"] == "national"
    template = national["yaml"]
    assert f'es: "{OLD_PROMPT}"' in template
    lines = template.splitlines(keepends=True)
    kind_line = next(i for i, line in enumerate(lines, 1) if "kind: choice" in line)
    broken = "".join(
        line.replace("kind: choice", "kind: chioce") if i == kind_line else line
        for i, line in enumerate(lines, 1)
    )
    fixed = template.replace(f'es: "{OLD_PROMPT}"', f'es: "{NEW_PROMPT}"')

    # An older conversation reaches the menu before anything is published.
    older = await _to_menu(stack, 9100001)
    assert OLD_PROMPT in _text(older)

    # edit: the first save does not validate; the editor reopens on the same text; fixed; kept.
    editor = tmp_path / "editor"
    result = await live.run(
        "flows",
        "edit",
        "menu",
        input="y\n",
        EDITOR=editor_env(editor, [broken, fixed]),
        PSV_ADMIN_LANG="en",
    )
    assert result.exit_code == 0, result.output
    assert _error_line(result.stderr) in (kind_line - 1, kind_line)  # the step's or kind's line
    assert opened(editor) == [template, broken]
    assert "Stored draft version 1 of menu for PE-ARE" in result.stdout
    flows = {f["name"]: f for f in await live.json("flows", "list")}
    assert flows["menu"]["draft_version"] == 1 and flows["menu"]["live_version"] is None

    # validate a file, with line-numbered errors; diff against the national template.
    (tmp_path / "broken.yaml").write_text(broken, encoding="utf-8")
    (tmp_path / "fixed.yaml").write_text(fixed, encoding="utf-8")
    refused = await live.run(
        "flows", "validate", "menu", str(tmp_path / "broken.yaml"), "--lang", "en"
    )
    assert refused.exit_code == ExitCode.INVALID
    assert _error_line(refused.stderr) in (kind_line - 1, kind_line)
    assert (
        await live.run("flows", "validate", "menu", str(tmp_path / "fixed.yaml"))
    ).exit_code == 0
    diff = await live.run("flows", "diff", "menu", "--against", "national")
    assert diff.exit_code == 0, diff.output
    assert f'+      es: "{NEW_PROMPT}"' in diff.stdout
    assert f'-      es: "{OLD_PROMPT}"' in diff.stdout

    # try the draft in the sandbox before publishing.
    tried = await live.run("flows", "try", "menu", "--version", "1", "--say", "7")
    assert tried.exit_code == 0, tried.output
    assert NEW_PROMPT in tried.stdout
    assert "1. Pedir una cita" in tried.stdout

    # publish: new conversations take it, the older one finishes on its version.
    assert (await live.run("flows", "rollback", "menu")).exit_code == ExitCode.CONFLICT
    published = await live.run("flows", "publish", "menu")
    assert published.exit_code == 0, published.output
    assert "Published version 1 of menu for PE-ARE" in published.stdout
    newer = await _to_menu(stack, 9100002)
    assert NEW_PROMPT in _text(newer)
    again = await _tap(stack, 9100001, older[-1], "Ayuda")
    assert OLD_PROMPT in _text(again) and NEW_PROMPT not in _text(again)
    pinned = dict(
        live.sql(
            "SELECT c.user_ref, f.tenant_id IS NULL FROM conversation c "
            "JOIN flow_version f ON f.id = c.flow_version_id WHERE c.channel = 'telegram'"
        )
    )
    assert pinned == {"9100001": 1, "9100002": 0}

    # a second version, published, then rolled back: version 1 is live again.
    second = await live.run(
        "flows",
        "edit",
        "menu",
        EDITOR=editor_env(tmp_path / "editor2", [fixed.replace(NEW_PROMPT, NEWER_PROMPT)]),
    )
    assert "Stored draft version 2" in second.stdout, second.output
    assert (await live.run("flows", "publish", "menu", "--version", "2")).exit_code == 0
    assert NEWER_PROMPT in _text(await _to_menu(stack, 9100003))
    rolled = await live.run("flows", "rollback", "menu")
    assert rolled.exit_code == 0, rolled.output
    assert "version 1 is live again" in rolled.stdout
    assert NEW_PROMPT in _text(await _to_menu(stack, 9100004))
    versions = {v["version"]: v["status"] for v in await live.json("flows", "versions", "menu")}
    assert versions == {1: "published", 2: "retired"}
    audit = await live.json("audit", "list", "--action", "flow.rollback")
    assert len(audit) == 1


async def test_csv_import_reports_bad_rows_and_imports_none_unless_skip_bad(
    live: Live, tmp_path: Path
) -> None:
    before = await live.json("specialists", "list")
    people = tmp_path / "people.csv"
    with people.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "contact_channel", "contact_address", "services", "hours"])
        writer.writerow(
            ["Nilda Apaza", "telegram", "5550001", "consultas-laborales", "mon 08:30-13:00"]
        )
        writer.writerow(["Luis Mamani", "telegram", "5550002", "magia-negra", "tue 08:30-13:00"])
        writer.writerow(
            [
                "Eva Ccori",
                "whatsapp",
                "+51987654321",
                "consultas-laborales",
                "wed 09:00-12:00;thu 09:00-12:00",
            ]
        )
        writer.writerow(["Sin Horas", "fax", "123", "consultas-laborales", "lun 25:00-26:00"])
    refused = await live.run("specialists", "import", str(people))
    assert refused.exit_code == ExitCode.INVALID
    assert "line 3:" in refused.stderr and "magia-negra" in refused.stderr
    assert "line 5:" in refused.stderr
    assert "line 2:" not in refused.stderr and "line 4:" not in refused.stderr
    assert len(await live.json("specialists", "list")) == len(before)

    taken = await live.run("specialists", "import", str(people), "--skip-bad")
    assert taken.exit_code == 0, taken.output
    assert "Imported 2 of 4 rows" in taken.stdout
    assert "line 3:" in taken.stdout and "line 5:" in taken.stdout
    after = await live.json("specialists", "list")
    assert len(after) == len(before) + 2
    assert {p["name"] for p in after} - {p["name"] for p in before} == {"Nilda Apaza", "Eva Ccori"}


async def test_a_regional_admin_is_refused_other_regions(live: Live) -> None:
    refused = await live.run("flows", "list", "--tenant", "PE-CUS")
    assert refused.exit_code == ExitCode.FORBIDDEN
    assert "(forbidden)" in refused.stderr
    viewer = await live.run("specialists", "list", role="viewer")
    assert viewer.exit_code == ExitCode.FORBIDDEN
    assert (await live.run("specialists", "list", role="cusco")).exit_code == 0


async def test_services_are_changed_and_audited(live: Live) -> None:
    code = "consultas-laborales"
    changed = await live.run(
        "services", "set", code, "--duration", "45", "--notice", "60", "--reminders", "24h,2h"
    )
    assert changed.exit_code == 0, changed.output
    assert (await live.run("services", "disable", code)).exit_code == 0
    service = {s["code"]: s for s in await live.json("services", "list")}[code]
    assert service["duration_minutes"] == 45 and service["min_notice_minutes"] == 60
    assert service["reminder_minutes"] == [1440, 120] and service["enabled"] is False
    assert (await live.run("services", "enable", code)).exit_code == 0
    bad = await live.run("services", "set", code, "--duration", "0")
    assert bad.exit_code == ExitCode.INVALID
    assert (await live.run("services", "set", "no-such-service", "--buffer", "5")).exit_code in (
        ExitCode.NOT_FOUND,
        ExitCode.INVALID,
    )
    table = await live.run("services", "list")
    assert code in table.stdout and "24h, 2h" in table.stdout
    entries = await live.json("audit", "list", "--entity", "tenant_service", "--all")
    assert len(entries) >= 3 and all(e["actor"].endswith(":ana") for e in entries)


async def test_specialists_closures_and_events(live: Live) -> None:
    added = await live.json(
        "specialists", "add", "--name", "Julia Ticona", "--address", "5550777",
        "--service", "consultas-laborales", "--hours", "mon 08:30-13:00",
    )  # fmt: skip
    ident = str(added["id"])
    hours = await live.run("specialists", "set-hours", ident, "tue 09:00-12:00", "fri 14:00-17:00")
    assert hours.exit_code == 0, hours.output
    person = {str(p["id"]): p for p in await live.json("specialists", "list")}[ident]
    assert "tue" in json.dumps(person["hours"]) and "mon" not in json.dumps(person["hours"])
    bad_hours = await live.run("specialists", "set-hours", ident, "someday 25:00-26:00")
    assert bad_hours.exit_code == ExitCode.INVALID
    off = await live.run(
        "specialists", "day-off", ident, "--from", "2031-03-02", "--to", "2031-03-03",
        "--reason", "capacitación",
    )  # fmt: skip
    assert off.exit_code == 0, off.output
    assert "0 moved to colleagues" in off.stdout
    assert (await live.run("specialists", "deactivate", ident)).exit_code == 0
    person = {str(p["id"]): p for p in await live.json("specialists", "list")}[ident]
    assert person["active"] is False
    assert (await live.run("specialists", "deactivate", "999999")).exit_code == ExitCode.NOT_FOUND

    closure = await live.json(
        "closures", "add", "--from", "2031-08-15", "--reason", "Aniversario de Arequipa"
    )
    listed = await live.json("closures", "list", "--since", "2031-01-01")
    assert any(c["id"] == closure["id"] and c["national"] is False for c in listed)
    assert (await live.run("closures", "remove", str(closure["id"]))).exit_code == 0
    assert closure["id"] not in [c["id"] for c in await live.json("closures", "list")]
    national = next(c for c in await live.json("closures", "list") if c["national"])
    refused = await live.run("closures", "remove", str(national["id"]))
    assert refused.exit_code in (ExitCode.FORBIDDEN, ExitCode.NOT_FOUND)

    event = await live.json(
        "events", "create", "--title", "Derechos laborales básicos", "--service",
        "capacitacion-laboral", "--start", "2031-06-12T10:00", "--seats", "20",
    )  # fmt: skip
    assert event["start"].startswith("2031-06-12T15:00") or "10:00:00-05:00" in event["start"]
    table = await live.run("events", "list")
    assert "Derechos laborales básicos" in table.stdout and "2031-06-12 10:00" in table.stdout
    assert await live.json("events", "attendees", str(event["id"])) == []
    cancelled = await live.run("events", "cancel", str(event["id"]), "--yes")
    assert cancelled.exit_code == 0, cancelled.output
    assert "0 registrants are being told" in cancelled.stdout
    again = await live.run("events", "cancel", str(event["id"]), "--yes")
    assert again.exit_code == ExitCode.CONFLICT
    status = {e["id"]: e["status"] for e in await live.json("events", "list")}[event["id"]]
    assert status == "cancelled"


async def _book(stack: Stack, chat: int) -> str:
    """A citizen of Arequipa books the first free time; the confirmation text."""
    replies = await _to_menu(stack, chat)
    replies = await _tap(stack, chat, replies[-1], "Pedir una cita")
    replies = await _say(stack, chat, "me despidieron")
    replies = await _tap(stack, chat, replies[-1], "Consultas laborales")
    if "región" in _text(replies[-1:]):  # asked only when the deep link did not set it
        replies = await _say(stack, chat, "Arequipa")
    replies = await _tap(stack, chat, replies[-1], "Lo antes posible")
    first_time = next(iter(_buttons(replies[-1])))
    replies = await _tap(stack, chat, replies[-1], first_time)
    replies = await _tap(stack, chat, replies[-1], "DNI")
    replies = await _say(stack, chat, "40123456")
    replies = await _say(stack, chat, "Lucía Quispe")
    replies = await _say(stack, chat, "Me despidieron sin liquidación")
    replies = await _tap(stack, chat, replies[-1], "Sí")
    return _text(replies)


async def test_appointments_tickets_outbox_reports_and_tenants(live: Live, tmp_path: Path) -> None:
    assert "Su cita está confirmada" in await _book(live.stack, 9100040)
    [booked] = await live.json("appointments", "list", "--status", "booked")
    assert booked["document"] == "****3456" and booked["first_name"] == "Lucía"
    assert "40123456" not in (await live.run("appointments", "list")).stdout
    assert await live.json("appointments", "list", "--status", "cancelled") == []
    target = tmp_path / "appointments.csv"
    exported = await live.run("appointments", "export", str(target), "--status", "booked")
    assert exported.exit_code == 0, exported.output
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["id"], r["document"], r["status"]) for r in rows] == [
        (str(booked["id"]), "40123456", "booked")
    ]
    assert "Wrote 1 appointment " in exported.stdout
    exports = await live.json("audit", "list", "--action", "appointments.export")
    assert len(exports) == 1
    assert (await live.run("appointments", "list", "--from", "yesterday")).exit_code == 2

    assert await live.json("tickets", "list", "--status", "open") == []
    missing = await live.run("tickets", "assign", "999999", "--specialist", "1")
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert await live.json("outbox", "failed") == []
    assert await live.json("outbox", "failed", "--status", "needs_template") == []
    assert (await live.run("outbox", "retry", "999999")).exit_code == ExitCode.NOT_FOUND

    report = await live.json("reports", "--from", "2031-01-01", "--to", "2031-01-07")
    assert report["tenant"] == "PE-ARE" and len(report["days"]) == 7
    shown = await live.run("reports", "--from", "2031-01-01", "--to", "2031-01-03")
    assert "2031-01-02" in shown.stdout and "Total" in shown.stdout
    assert (await live.run("reports", "--national")).exit_code == ExitCode.FORBIDDEN
    country = await live.json("reports", "--national", role="national")
    assert country["tenant"] is None and isinstance(country["regions"], list)
    assert (await live.json("reports", role="viewer"))["tenant"] == "PE-ARE"

    assert [t["code"] for t in await live.json("tenants", "list")] == ["PE-ARE"]
    assert len(await live.json("tenants", "list", role="national")) >= 20
    refused = await live.run("tenants", "onboard", "PE-MDD", "--admin-name", "Rocío")
    assert refused.exit_code == ExitCode.FORBIDDEN
    onboarded = await live.run(
        "tenants", "onboard", "PE-MDD", "--admin-name", "Rocío", role="national"
    )
    assert onboarded.exit_code == 0, onboarded.output
    token = onboarded.stdout.strip().splitlines()[-1]
    assert token.startswith("psv_")
    first = Cli({"PSV_ADMIN_URL": live.stack.base, "PSV_ADMIN_TOKEN": token})
    me = json.loads((await asyncio.to_thread(first, "whoami", "--json")).stdout)
    assert me["tenant"] == "PE-MDD" and me["role"] == "regional"


async def test_a_hand_off_ticket_is_listed_and_assigned(live: Live) -> None:
    stack = live.stack
    chat = 9100020
    menu = await _to_menu(stack, chat)
    replies = await _tap(stack, chat, menu[-1], "Hablar con una persona")
    if "¿en qué necesita ayuda?" in _text(replies):
        replies = await _say(stack, chat, "Me despidieron sin pagarme la liquidación")
    tickets = await live.json("tickets", "list")
    assert len(tickets) == 1, _text(replies)
    [ticket] = tickets
    table = await live.run("tickets", "list")
    assert str(ticket["id"]) in table.stdout
    assert ticket["first_name"] is None or isinstance(ticket["first_name"], str)
    assert ticket["region"] == "PE-ARE"
    # Another specialist to hand the ticket to, added here: the test must not depend on one
    # that an earlier test of the file added (alone, or on another xdist worker, it failed).
    other = await live.json(
        "specialists", "add", "--name", "Rosa Quispe", "--address", "5550888",
        "--service", "consultas-laborales", "--hours", "mon 08:30-13:00",
    )  # fmt: skip
    people = [p for p in await live.json("specialists", "list") if p["active"]]
    chosen = next(p for p in people if p["id"] == other["id"])
    assert chosen["id"] != ticket["specialist_id"]
    assert chosen["contact_channel"] in ("telegram", "whatsapp")
    assigned = await live.run(
        "tickets", "assign", str(ticket["id"]), "--specialist", str(chosen["id"])
    )
    assert assigned.exit_code == 0, assigned.output
    [after] = await live.json("tickets", "list", "--status", "assigned")
    assert after["id"] == ticket["id"] and after["specialist_id"] == chosen["id"]
    refused = await live.run("tickets", "assign", str(ticket["id"]), "--specialist", "999999")
    assert refused.exit_code == ExitCode.INVALID


async def test_graph_export_and_show_of_the_national_template(live: Live, tmp_path: Path) -> None:
    graph = await live.run("flows", "graph", "book", "--out", str(tmp_path / "book.mmd"))
    assert graph.exit_code == 0, graph.output
    mermaid = (tmp_path / "book.mmd").read_text(encoding="utf-8")
    assert mermaid.startswith("flowchart TD") and "-->" in mermaid
    exported = await live.run("flows", "export", "book", str(tmp_path / "book.yaml"))
    assert exported.exit_code == 0, exported.output
    shown = await live.run("flows", "show", "book")
    assert shown.stdout == (tmp_path / "book.yaml").read_text(encoding="utf-8")
    assert "national template" in shown.stderr
    assert (await live.run("flows", "show", "no_such_flow")).exit_code in (
        ExitCode.NOT_FOUND,
        ExitCode.INVALID,
    )
    assert (await live.run("flows", "publish", "book")).exit_code == ExitCode.CONFLICT  # no draft


async def test_every_national_flow_is_drawn(live: Live, tmp_path: Path) -> None:
    """Mermaid for each flow; an SVG too where Graphviz (dot) or mmdc is installed."""
    renderer = shutil.which("mmdc") or shutil.which("dot")
    names = [f["name"] for f in await live.json("flows", "list", role="cusco")]
    assert {"menu", "book"} <= set(names)
    for name in names:
        out = tmp_path / f"{name}.mmd"
        drawn = await live.run("flows", "graph", name, "--out", str(out), role="cusco")
        assert drawn.exit_code == 0, drawn.output
        assert out.read_text(encoding="utf-8").startswith("flowchart TD")
        svg = out.with_suffix(".svg")
        if renderer:  # the real tool read what the CLI made of the Mermaid text
            assert "<svg" in svg.read_text(encoding="utf-8"), name
            assert f"rendered with {Path(renderer).name}" in drawn.stdout
        else:
            assert not svg.exists() and "is installed" in drawn.stdout


async def _until(probe: Any, what: str) -> Any:
    """Poll `probe()` until it answers something truthy (the worker runs in the server)."""
    for _ in range(150):
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def _settled(live: Live, chat: int) -> list[str]:
    """Statuses of the replies to a chat once none is waiting any more (else [])."""
    found = [status for (status,) in live.sql(
        "SELECT status FROM outbox_message WHERE channel = 'telegram' AND address = ?", str(chat)
    )]  # fmt: skip
    return found if found and "pending" not in found else []


async def test_a_reply_that_failed_is_listed_and_retried(live: Live) -> None:
    stack = live.stack
    # The person has blocked the bot: Telegram refuses the reply for good (403). The fake
    # refuses the next sendMessage of any chat: should a message of an earlier test still be
    # on its way and take the refusal, a new person tries again.
    for chat in range(9100070, 9100075):
        stack.telegram.reset()
        stack.telegram.fail_next_recorded("error_403_blocked", method="sendMessage")
        assert await stack.tg_post(stack.tg_text(chat, "/start PE-ARE")) == 200
        settled = functools.partial(asyncio.to_thread, _settled, live, chat)
        statuses = await _until(settled, "the replies are sent or failed")
        if "failed" in statuses:
            break
    else:
        raise AssertionError("no reply was refused")

    async def failed() -> list[dict[str, Any]]:
        items = await live.json("outbox", "failed", "--status", "failed")
        return [m for m in items if m["address"] == "****" + str(chat)[-4:]]

    stuck = await failed()
    first = stuck[0]
    assert first["channel"] == "telegram" and first["kind"] == "reply"
    assert "blocked" in first["last_error"] and str(chat) not in json.dumps(stuck)
    tried = len(stack.tg_sent(chat))  # the refused attempt
    table = await live.run("outbox", "failed")
    assert str(first["id"]) in table.stdout and str(chat) not in table.stdout
    # Cusco's admin does not see it, and cannot retry it.
    assert first["id"] not in [m["id"] for m in await live.json("outbox", "failed", role="cusco")]
    other = await live.run("outbox", "retry", str(first["id"]), "--tenant", "PE-ARE", role="cusco")
    assert other.exit_code == ExitCode.FORBIDDEN
    assert (await live.run("outbox", "retry", str(first["id"]), role="viewer")).exit_code == (
        ExitCode.FORBIDDEN
    )

    # The person unblocked the bot; the admin retries every stuck reply, oldest first.
    for message in sorted(stuck, key=lambda m: m["id"]):
        retried = await live.run("outbox", "retry", str(message["id"]))
        assert retried.exit_code == 0, retried.output
        assert f"Message {message['id']} of PE-ARE is queued again" in retried.stdout

    async def delivered() -> list[dict[str, Any]]:
        return stack.tg_sent(chat)[tried:]

    sent = await _until(delivered, "the retried reply reaches Telegram")
    assert first["text"].split("\n")[0] in _text(sent)
    assert await failed() == []
    assert live.sql("SELECT status FROM outbox_message WHERE id = ?", first["id"]) == [("sent",)]
    again = await live.run("outbox", "retry", str(first["id"]))
    assert again.exit_code == ExitCode.CONFLICT
    entries = await live.json("audit", "list", "--action", "outbox.retry")
    assert {e["entity_id"] for e in entries} == {str(m["id"]) for m in stuck}
    assert all(e["actor"].endswith(":ana") and e["before"]["status"] == "failed" for e in entries)
