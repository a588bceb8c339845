"""A scripted $EDITOR: each run records the text it was opened on and saves the next content.

`editor_env(folder, [text1, text2])` gives the EDITOR value; run N saves text N (or, when the
queue is empty, leaves the file as it is) and exits with status 0.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

SCRIPT = r"""
import sys
from pathlib import Path

folder, target = Path(sys.argv[1]), Path(sys.argv[-1])
runs = sorted(folder.glob("opened-*.yaml"))
number = len(runs) + 1
text = target.read_text(encoding="utf-8")
(folder / f"opened-{number:02d}.yaml").write_text(text, encoding="utf-8")
planned = folder / f"save-{number:02d}.yaml"
if planned.exists():
    target.write_text(planned.read_text(encoding="utf-8"), encoding="utf-8")
"""


def editor_env(folder: Path, saves: list[str]) -> str:
    """Prepare the scripted editor in `folder`; the value for $EDITOR."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "editor.py"
    script.write_text(SCRIPT, encoding="utf-8")
    for number, text in enumerate(saves, start=1):
        (folder / f"save-{number:02d}.yaml").write_text(text, encoding="utf-8")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(folder))}"


def opened(folder: Path) -> list[str]:
    """The texts the editor was opened on, run by run."""
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("opened-*.yaml"))]
