"""core/ is the service layer under the bot: it imports nothing of bot/ or admin_cli/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import core

FORBIDDEN = ("bot", "admin_cli")


def imported_modules(tree: ast.AST) -> list[str]:
    """Every absolute module a tree imports, at any depth (inside functions too)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
    return names


def test_core_imports_neither_bot_nor_admin_cli() -> None:
    package = Path(core.__file__).parent
    sources = sorted(package.rglob("*.py"))
    offenders = [
        f"{source.relative_to(package)}: {name}"
        for source in sources
        for name in imported_modules(ast.parse(source.read_text(encoding="utf-8")))
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []
    assert len(sources) > 20  # the scan saw the package, its subpackages and migrations
    assert any(source.parent.name == "versions" for source in sources)


@pytest.mark.parametrize(
    "source",
    [
        "from bot import engine",
        "import admin_cli.main",
        "def later():\n    from bot.flows import registry\n",
        "import importlib\nimportlib.import_module('bot.cli')",
    ],
)
def test_the_scan_sees_every_kind_of_import(source: str) -> None:
    names = imported_modules(ast.parse(source))
    assert any(name.split(".")[0] in FORBIDDEN for name in names)
