"""flows edit's editor loop and flows graph's renderers, against a fake API on loopback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from aiohttp import web

from admin_cli.errors import ExitCode
from admin_cli.graph import mermaid_to_dot
from tests.admin_cli.conftest import Cli
from tests.admin_cli.fake_api import FakeApi
from tests.admin_cli.fake_editor import editor_env, opened

MENU = "/tenants/PE-ARE/flows/menu"
LIVE = "flow: menu\nstart: main\n"
BROKEN = "flow: menu\nstart: nowhere\n"
FIXED = "flow: menu\nstart: main\n# Arequipa\n"
ERRORS = {"errors": [{"line": 2, "step": None, "message": "start 'nowhere' is not a step"}]}


@pytest.fixture
def menu(fake: FakeApi) -> FakeApi:
    """The fake knows a menu flow with no draft, and validates drafts by their text."""
    fake.on(
        "GET",
        "/tenants/PE-ARE/flows",
        (200, {"items": [{"name": "menu", "live_version": 2, "draft_version": None}]}),
    )
    fake.on(
        "GET",
        MENU,
        (
            200,
            {
                "name": "menu",
                "version": 2,
                "status": "published",
                "source_of": "region",
                "yaml": LIVE,
            },
        ),
    )

    def drafts(request: web.Request, body: bytes) -> web.Response:
        if "nowhere" in body.decode():
            return web.json_response(
                {"error": "invalid", "message": "the flow does not validate", "details": ERRORS},
                status=422,
            )
        return web.json_response({"version": 3, "status": "draft"}, status=201)

    fake.on("POST", MENU + "/drafts", drafts)
    return fake


def test_edit_reopens_on_errors_with_the_text_kept(menu: FakeApi, cli: Cli, tmp_path: Path) -> None:
    editor = editor_env(tmp_path / "ed", [BROKEN, FIXED])
    result = cli("flows", "edit", "menu", input="y\n", EDITOR=editor, PSV_ADMIN_LANG="en")
    assert result.exit_code == 0, result.output
    assert opened(tmp_path / "ed") == [LIVE, BROKEN]  # the second run starts from the broken text
    assert "line 2: start 'nowhere' is not a step" in result.stderr
    assert "Stored draft version 3 of menu for PE-ARE" in result.stdout
    posted = [s.json()["yaml"] for s in menu.requests("POST", MENU + "/drafts")]
    assert posted == [BROKEN, FIXED]


def test_edit_abandoned_stores_nothing(menu: FakeApi, cli: Cli, tmp_path: Path) -> None:
    editor = editor_env(tmp_path / "ed", [BROKEN])
    result = cli("flows", "edit", "menu", input="n\n", EDITOR=editor)
    assert result.exit_code == ExitCode.INVALID
    assert "nothing stored" in result.stderr
    assert len(opened(tmp_path / "ed")) == 1
    assert len(menu.requests("POST", MENU + "/drafts")) == 1  # refused by the server


def test_edit_without_changes_stores_nothing(menu: FakeApi, cli: Cli, tmp_path: Path) -> None:
    result = cli("flows", "edit", "menu", EDITOR=editor_env(tmp_path / "ed", []))
    assert result.exit_code == 0
    assert "No changes" in result.stdout
    assert menu.requests("POST", MENU + "/drafts") == []


def test_edit_starts_from_the_unpublished_draft(menu: FakeApi, cli: Cli, tmp_path: Path) -> None:
    menu.on(
        "GET",
        "/tenants/PE-ARE/flows",
        (200, {"items": [{"name": "menu", "live_version": 2, "draft_version": 5}]}),
    )
    result = cli("flows", "edit", "menu", EDITOR=editor_env(tmp_path / "ed", []))
    assert result.exit_code == 0
    assert [s.query for s in menu.requests("GET", MENU)] == [{"version": "5"}]


def test_a_failing_editor_stores_nothing(menu: FakeApi, cli: Cli) -> None:
    result = cli("flows", "edit", "menu", EDITOR="false")
    assert result.exit_code == ExitCode.FAILURE
    assert "editor exited with status 1" in result.stderr
    assert menu.requests("POST", MENU + "/drafts") == []


def test_a_missing_editor_is_named(menu: FakeApi, cli: Cli) -> None:
    result = cli("flows", "edit", "menu", EDITOR="no-such-editor-psv")
    assert result.exit_code == ExitCode.USAGE
    assert "no-such-editor-psv" in result.stderr


MERMAID = (
    "flowchart TD\n"
    '    n0["main<br/><i>choice</i>"]\n'
    '    n1(["flow:book"])\n'
    "    n0 -->|book| n1\n"
    "    n0 --> n0\n"
)


def test_mermaid_becomes_a_graphviz_digraph() -> None:
    dot = mermaid_to_dot(MERMAID)
    assert 'n0 [label="main\nchoice"];' in dot
    assert 'n1 [label="flow:book", shape=ellipse];' in dot
    assert 'n0 -> n1 [label="book"];' in dot
    assert "n0 -> n0;" in dot
    assert dot.startswith("digraph flow {") and dot.rstrip().endswith("}")


def test_graph_writes_mermaid_and_says_when_no_renderer(
    fake: FakeApi, cli: Cli, tmp_path: Path
) -> None:
    fake.on("GET", MENU + "/graph", (200, {"version": 2, "mermaid": MERMAID}))
    out = tmp_path / "menu.mmd"
    result = cli("flows", "graph", "menu", "--out", str(out), PATH=str(tmp_path / "empty"))
    assert result.exit_code == 0, result.output
    assert out.read_text() == MERMAID
    assert "neither mmdc (Mermaid CLI) nor dot (Graphviz) is installed" in result.stdout
    assert not out.with_suffix(".svg").exists()


def test_graph_renders_svg_with_dot_when_installed(fake: FakeApi, cli: Cli, tmp_path: Path) -> None:
    fake.on("GET", MENU + "/graph", (200, {"version": 2, "mermaid": MERMAID}))
    tools = tmp_path / "bin"
    tools.mkdir()
    dot = tools / "dot"
    # A stand-in for Graphviz: writes what it was given to the -o file, so the test sees the DOT.
    dot.write_text(
        "#!/bin/sh\nout=''\nwhile [ $# -gt 0 ]; do [ \"$1\" = -o ] && out=$2; shift; done\n"
        'cat > "$out"\n'
    )
    dot.chmod(dot.stat().st_mode | stat.S_IXUSR)
    out = tmp_path / "menu.mmd"
    path = f"{tools}{os.pathsep}/usr/bin:/bin"
    result = cli("flows", "graph", "menu", "--out", str(out), PATH=path)
    assert result.exit_code == 0, result.output
    assert "rendered with dot" in result.stdout
    assert 'n0 -> n1 [label="book"];' in out.with_suffix(".svg").read_text()


def test_try_reads_lines_and_numbers_the_options(fake: FakeApi, cli: Cli) -> None:
    turns: list[dict[str, object]] = []

    def turn(request: web.Request, body: bytes) -> web.Response:
        sent = json.loads(body)
        turns.append(sent)
        text = "¿En qué le puedo ayudar?" if "session" not in sent else f"dijo {sent['text']}"
        options = [
            {"payload": "book", "label": "Pedir una cita"},
            {"payload": "h", "label": "Ayuda"},
        ]
        return web.json_response(
            {
                "session": "s3cr3t",
                "version": 4,
                "step": "main",
                "replies": [{"text": text, "options": options}],
            }
        )

    fake.on("POST", MENU + "/try", turn)
    result = cli("flows", "try", "menu", input="2\n\n/quit\nnever sent\n")
    assert result.exit_code == 0, result.output
    assert "¿En qué le puedo ayudar?" in result.stdout and "dijo 2" in result.stdout
    assert "     1. Pedir una cita" in result.stdout and "     2. Ayuda" in result.stdout
    assert "version 4" in result.stderr
    assert turns == [{"text": ""}, {"text": "2", "version": 4, "session": "s3cr3t"}]
