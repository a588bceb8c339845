"""Editing text in the admin's own editor ($EDITOR, else $VISUAL, else vi)."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from admin_cli.errors import CliError, ExitCode

# Editors that understand `+LINE FILE` (open at a line).
LINE_AWARE = {"vi", "vim", "nvim", "view", "nano", "emacs", "emacsclient", "micro", "kak", "joe"}


def editor_command() -> list[str]:
    """The editor to run, split like a shell would: $EDITOR, else $VISUAL, else vi."""
    chosen = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    return shlex.split(chosen)


def edit_text(text: str, *, suffix: str = ".yaml", line: int | None = None) -> str:
    """Open text in the editor (a private temporary file); the text as saved."""
    command = editor_command()
    if not command:
        raise CliError("$EDITOR is set but empty.", ExitCode.USAGE)
    fd, name = tempfile.mkstemp(prefix="psv-flow-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        args = [*command]
        if line and Path(command[0]).name in LINE_AWARE:
            args.append(f"+{line}")
        try:
            done = subprocess.run([*args, str(path)], check=False)
        except FileNotFoundError as exc:
            raise CliError(
                f"Cannot run the editor {command[0]!r}.",
                ExitCode.USAGE,
                hint="Set $EDITOR to an installed editor, e.g. export EDITOR=nano.",
            ) from exc
        if done.returncode != 0:
            raise CliError(
                f"The editor exited with status {done.returncode}; nothing stored.",
                ExitCode.FAILURE,
            )
        return path.read_text(encoding="utf-8")
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
