"""Flow errors and warnings for people: in Spanish (or English), at the line, quoting the text.

The admin API sends each problem with its line, column, step, the English and Spanish sentence,
the offending text and what is allowed instead (`details.errors`, `warnings`); this module lays
them out under the file's own line with a caret at the column.
"""

from __future__ import annotations

import os
from typing import Any

from rich.markup import escape

from admin_cli import output
from admin_cli.errors import CliError, ExitCode

LANGS = ("es", "en")
WORDS = {
    "es": {
        "line": "línea",
        "column": "columna",
        "step": "paso",
        "allowed": "Se puede escribir",
        "invalid": "el flujo no es válido; nada se guardó",
        "warning": "Aviso",
        "valid": "{file} es un flujo {name} válido.",
    },
    "en": {
        "line": "line",
        "column": "column",
        "step": "step",
        "allowed": "Allowed",
        "invalid": "the flow does not validate; nothing was stored",
        "warning": "Warning",
        "valid": "{file} is a valid {name} flow.",
    },
}
MAX_ALLOWED = 30


def language(chosen: str | None) -> str:
    """The language of flow messages: --lang, else PSV_ADMIN_LANG, else Spanish."""
    lang = (chosen or os.environ.get("PSV_ADMIN_LANG") or "es").strip().lower()[:2]
    if lang not in LANGS:
        raise CliError(f"--lang must be one of {', '.join(LANGS)}.", ExitCode.USAGE)
    return lang


def word(lang: str, key: str, **values: str) -> str:
    """One fixed phrase of these reports."""
    return WORDS[lang][key].format(**values)


def entries(problem: CliError) -> list[dict[str, Any]]:
    """The flow errors of a refusal (`details.errors`), or [] when it carries none."""
    details = problem.details if isinstance(problem.details, dict) else {}
    found = details.get("errors")
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def lines(entry: dict[str, Any], lang: str, source: str | None) -> list[str]:
    """The lines that show one error or warning."""
    message = entry.get("message_es") if lang == "es" else entry.get("message")
    message = str(message or entry.get("message") or "")
    where = []
    if isinstance(entry.get("line"), int):
        where.append(f"{word(lang, 'line')} {entry['line']}")
    if isinstance(entry.get("column"), int):
        where.append(f"{word(lang, 'column')} {entry['column']}")
    head = ", ".join(where)
    if entry.get("step"):
        message = f"{message} ({word(lang, 'step')} {entry['step']})"
    shown = [f"{head}: {message}" if head else message]
    number = entry.get("line")
    written = None
    if source is not None and isinstance(number, int) and 0 < number <= len(source.splitlines()):
        written = source.splitlines()[number - 1]
    elif isinstance(entry.get("text"), str) and "\n" not in entry["text"]:
        written = entry["text"]
    if written is not None and isinstance(number, int):
        gutter = f"{number:>6} | "
        shown.append(gutter + written)
        column = entry.get("column")
        if isinstance(column, int) and 0 < column <= len(written) + 1:
            shown.append(" " * (len(gutter) - 2) + "| " + " " * (column - 1) + "^")
    elif isinstance(entry.get("text"), str):
        shown.append(f"    «{entry['text']}»")
    allowed = [str(a) for a in entry.get("allowed") or []]
    if allowed:
        more = len(allowed) - MAX_ALLOWED
        listed = ", ".join(allowed[:MAX_ALLOWED]) + (f", … (+{more})" if more > 0 else "")
        shown.append(f"    {word(lang, 'allowed')}: {listed}")
    return shown


def refused(problem: CliError, lang: str, source: str | None) -> CliError:
    """A refused flow as an error whose details are already laid out (or the error as it is)."""
    found = entries(problem)
    if not found:
        return problem
    laid: list[str] = []
    for entry in found:
        laid.extend(lines(entry, lang, source))
    message = word(lang, "invalid") if problem.exit_code == ExitCode.INVALID else problem.message
    return CliError(
        message, problem.exit_code, code=problem.code, status=problem.status, details=laid
    )


def warn(answer: Any, lang: str, source: str | None) -> int:
    """Print the warnings of an answer on stderr; how many there were."""
    found = answer.get("warnings") if isinstance(answer, dict) else None
    if not isinstance(found, list):
        return 0
    console = output.err()
    for entry in found:
        if not isinstance(entry, dict):
            continue
        first, *rest = lines(entry, lang, source)
        console.print(f"[yellow]{word(lang, 'warning')}:[/yellow] {escape(first)}")
        for line in rest:
            console.print(f"  {escape(line)}")
    return len(found)
