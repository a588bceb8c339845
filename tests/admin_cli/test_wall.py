"""admin_cli speaks HTTP only: it imports neither core nor bot (DESIGN.md, walls)."""

from __future__ import annotations

import ast
from pathlib import Path

import admin_cli

FORBIDDEN = ("core", "bot", "sqlalchemy", "aiosqlite", "asyncpg")


def test_admin_cli_imports_neither_core_nor_bot() -> None:
    package = Path(admin_cli.__file__).parent
    offenders = []
    for source in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{source.name}: {name}" for name in names if name.split(".")[0] in FORBIDDEN
            ]
    assert offenders == []
    assert len(list(package.rglob("*.py"))) > 10  # the scan saw the package
