"""docs/guia-admin.md is executed: every `$ psv-admin ...` line of its console blocks runs, in
order, against the real `psv serve`, so the guide cannot go stale.

The guide's server URL is replaced by the test server's; the token is typed at the hidden
prompt of `login`; a question (`flows push`) is answered «n», as the guide says. The greeting
change is the guide's two yaml blocks («antes», «después») applied to the exported file.
"""

from __future__ import annotations

import asyncio
import csv
import re
import shlex
from pathlib import Path

import pytest

from tests.admin_cli.conftest import Cli
from tests.admin_cli.test_live import _tap, _text, _token
from tests.e2e.stack import Stack

GUIDE = Path(__file__).parents[2] / "docs" / "guia-admin.md"
GUIDE_URL = "https://psv.trabajo.gob.pe"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _steps() -> list[tuple[str, list[str]]]:
    """The guide in order: ("run", argv) per command, ("edit", [before, after]) per change."""
    found: list[tuple[str, list[str]]] = []
    before: str | None = None
    for kind, info, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        if kind == "console":
            for line in body.splitlines():
                if line.startswith("$ "):
                    argv = shlex.split(line[2:], comments=True)
                    assert argv[0] == "psv-admin", line
                    found.append(("run", argv[1:]))
        elif kind == "yaml" and info.strip() == "antes":
            before = body
        elif kind == "yaml" and info.strip() == "después":
            assert before is not None, "a «después» block without its «antes»"
            found.append(("edit", [before, body]))
    return found


def test_the_guide_has_the_first_day() -> None:
    commands = [" ".join(argv[:2]) for kind, argv in _steps() if kind == "run"]
    for needed in (
        "login --url",
        "flows list",
        "flows export",
        "flows validate",
        "flows push",
        "flows try",
        "flows publish",
        "closures add",
        "reports",
        "appointments export",
    ):
        assert any(c.startswith(needed) for c in commands), needed
    assert any(kind == "edit" for kind, _ in _steps())


async def test_every_command_of_the_guide_runs(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_config: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    cli = Cli()
    async with Stack(tmp_path_factory.mktemp("guide")) as stack:
        token = _token(stack, "--role", "regional", "--tenant", "PE-CUS", "--name", "Rosa")
        greeting = ""
        for kind, argv in _steps():
            if kind == "edit":
                before, after = argv
                menu = tmp_path / "menu.yaml"
                text = menu.read_text(encoding="utf-8")
                assert before in text, "the guide's «antes» line is not in the exported flow"
                menu.write_text(text.replace(before, after, 1), encoding="utf-8")
                greeting = re.findall(r'"(.*)"', after)[0].split("{")[0].strip()
                continue
            args = [stack.base if a == GUIDE_URL else a for a in argv]
            answer = token + "\n" if args[0] == "login" else "n\n"
            result = await asyncio.to_thread(cli, *args, input=answer)
            assert result.exit_code == 0, (argv, result.output)
            if args[:2] == ["flows", "push"]:
                assert "Not published" in result.stdout, result.output
            if args[:2] == ["closures", "list"]:
                assert "Inti Raymi" in result.stdout
        assert greeting == "Hola"
        # What the guide published is what a new citizen of Cusco reads.
        chat = 9300001
        assert await stack.tg_post(stack.tg_text(chat, "/start PE-CUS")) == 200
        replies = await stack.tg_wait(chat, 0)
        menu_text = _text(await _tap(stack, chat, replies[-1], "Sí"))
        assert "Hola vecino(a), bienvenido(a) a la Dirección de Trabajo del Cusco" in menu_text
    with (tmp_path / "citas.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert "document" in (csv.DictReader(handle).fieldnames or [])
    assert not (private_config / "config.json").exists()  # logout
