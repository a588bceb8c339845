"""Nothing in the repository reads a path outside it: fixtures and glossaries are copied in."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A sibling folder of the clone, an absolute path of a developer's machine, or a climb above
# the repository root from a file's own location.
OUTSIDE = re.compile(
    r"\.\./shared|/work/|ROOT\.parent|parents\[\d\]\.parent|\"shared\"\s*/",
)
# This file names the patterns it looks for.
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()


def _tracked_files() -> list[str]:
    done = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return [name for name in done.stdout.splitlines() if name != SELF]


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for name in _tracked_files():
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [
            f"{name}:{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), 1)
            if OUTSIDE.search(line)
        ]
    assert offenders == []


def test_copied_fixtures_say_where_they_came_from() -> None:
    for name in ("dates_es.tsv", "QUECHUA.md"):
        first = (ROOT / "tests" / "fixtures" / name).read_text(encoding="utf-8").splitlines()[0]
        assert "Copied from shared/" in first


def test_the_detector_finds_an_outside_path() -> None:
    # Built from pieces so that this file names no outside path itself.
    sibling = "ROOT" + ".parent / " + '"sha' + 'red"'
    assert OUTSIDE.search(f'FIXTURE = {sibling} / "fixtures" / "dates_es.tsv"')
    assert OUTSIDE.search("see " + ".." + "/shared/DOMAIN.md")
    assert not OUTSIDE.search("tests/fixtures/dates_es.tsv")
