"""The built package stands alone: a wheel and an sdist, installed in a fresh virtual environment
outside the source tree, give working `psv` and `psv-admin` commands.

`python -m build` makes the sdist and then the wheel from that sdist, so a file missing from the
sdist fails here too. The fresh environment installs PSV's dependencies from the package index.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
CHAT = 7790001


class Installed:
    """A fresh virtual environment with the built wheel installed, and a work folder beside it."""

    def __init__(self, dist: Path, venv: Path, work: Path) -> None:
        self.dist = dist
        self.venv = venv
        self.work = work

    def bin(self, name: str) -> str:
        """The path of a command installed in the environment."""
        return str(self.venv / "bin" / name)

    def env(self) -> dict[str, str]:
        """The environment of a fresh shell: no PSV settings, no source tree on the path."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PSV_")}
        env.pop("PYTHONPATH", None)
        env["PSV_DATABASE_URL"] = f"sqlite+aiosqlite:///{self.work / 'psv.db'}"
        return env

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command of the environment in the work folder; fail with its output if it fails."""
        done = subprocess.run(
            list(args),
            input=stdin,
            env=self.env(),
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    dist, venv, work = base / "dist", base / "venv", base / "work"
    work.mkdir()
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], cwd=base)
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    (wheel,) = dist.glob("psv-*.whl")
    _run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], cwd=base)
    yield Installed(dist, venv, work)


def _data_files(names: list[str]) -> set[str]:
    suffixes = (".po", ".yaml", ".mako", ".tsv")
    return {
        n.split("/", 1)[1] if n.startswith("psv-") else n for n in names if n.endswith(suffixes)
    }


def test_wheel_and_sdist_carry_translations_flows_migrations_and_seed_data(
    installed: Installed,
) -> None:
    (wheel,) = installed.dist.glob("psv-*.whl")
    (sdist,) = installed.dist.glob("psv-*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = _data_files(archive.namelist())
    with tarfile.open(sdist) as archive:
        in_sdist = _data_files(archive.getnames())
    expected = {
        str(p.relative_to(ROOT))
        for folder in ("bot/locales", "bot/flows", "core/data", "core/migrations")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in (".po", ".yaml", ".mako", ".tsv")
    }
    assert {"bot/locales/qu/LC_MESSAGES/psv.po", "bot/flows/book.yaml"} <= expected
    assert expected <= in_wheel
    assert expected <= in_sdist
    migrations = {p.name for p in (ROOT / "core" / "migrations" / "versions").glob("*.py")}
    with zipfile.ZipFile(wheel) as archive:
        packed = {Path(n).name for n in archive.namelist() if "/migrations/versions/" in n}
    assert migrations <= packed


def test_installed_package_runs_from_outside_the_source_tree(installed: Installed) -> None:
    where = installed.run(installed.bin("python"), "-c", "import bot, core; print(bot.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(installed.venv)
    assert not Path(where.stdout.strip()).is_relative_to(ROOT)
    assert "serve" in installed.run(installed.bin("psv"), "--help").stdout
    assert "flows" in installed.run(installed.bin("psv-admin"), "--help").stdout
    installed.run(installed.bin("psv"), "db", "upgrade")
    seeded = installed.run(installed.bin("psv"), "seed", "--demo").stdout
    assert "26 tenants" in seeded
    flows = sorted(p.name for p in (ROOT / "bot" / "flows").glob("*.yaml"))
    valid = installed.run(
        installed.bin("psv"), "flows", "validate", *(str(ROOT / "bot" / "flows" / f) for f in flows)
    )
    assert valid.stdout.strip()


@pytest.mark.parametrize(
    ("lang", "turns", "expected"),
    [
        ("es", "hola\n", "¿Acepta?"),
        ("en", "hello\n2\n", "Do you agree?"),
        ("qu", "napaykullayki\n3\n", "Arí nikunkichu?"),
    ],
)
def test_installed_chat_speaks_each_language(
    installed: Installed, lang: str, turns: str, expected: str
) -> None:
    installed.run(installed.bin("psv"), "db", "upgrade")
    installed.run(installed.bin("psv"), "seed")
    chat = installed.run(
        installed.bin("psv"), "chat", "--user", f"w-{lang}", "--lang", lang, stdin=turns
    )
    assert expected in chat.stdout


async def test_installed_server_answers_a_telegram_citizen(installed: Installed) -> None:
    serve_dir = installed.work / "serve"
    serve_dir.mkdir(exist_ok=True)
    async with Stack(serve_dir, psv=installed.bin("psv")) as stack:
        before = len(stack.tg_sent(CHAT))
        assert await stack.tg_post(stack.tg_text(CHAT, "hola")) == 200
        replies = await stack.tg_wait(CHAT, before)
    assert any("¿Acepta?" in str(m.get("text", "")) for m in replies)
