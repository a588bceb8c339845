"""What `psv-admin` prints: Rich tables for people, JSON for scripts, errors on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from admin_cli.errors import CliError

SHOWN_ZONE = ZoneInfo(os.environ.get("PSV_TIMEZONE", "America/Lima"))
EMPTY = "—"
PIPE_WIDTH = 160  # tables piped to a file or `less` are not cut at 80 columns


def out() -> Console:
    """A console on the current stdout (made per call: tests swap the streams)."""
    wide = None if sys.stdout.isatty() else PIPE_WIDTH
    return Console(highlight=False, width=wide)


def err() -> Console:
    """A console on the current stderr."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Print data as indented JSON on stdout (for scripts: no colours, no wrapping)."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False))


def say(message: str) -> None:
    """A plain line for the admin on stdout (Rich markup allowed)."""
    out().print(message)


def note(message: str) -> None:
    """A side remark on stderr (keeps stdout clean for pipes)."""
    err().print(message)


def when(value: Any) -> str:
    """An ISO 8601 time as local wall time (America/Lima), e.g. `2025-03-10 09:30`."""
    if not value:
        return EMPTY
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(SHOWN_ZONE).strftime("%Y-%m-%d %H:%M")


def cell(value: Any) -> str:
    """A table cell for any JSON value."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    return str(value)


@dataclass(frozen=True)
class Column:
    """One table column: the item's key, its header, how to show the value."""

    key: str
    header: str
    show: Callable[[Any], str] = cell
    justify: str = "left"
    whole: bool = False  # never cut or wrapped (codes people type back)


def table(
    items: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    more: bool = False,
) -> None:
    """Print items as a Rich table (or say there are none)."""
    if not items:
        say(f"[dim]No {title.lower() if title else 'items'}.[/dim]")
        return
    grid = Table(title=title, header_style="bold", title_justify="left")
    for column in columns:
        widest = max([len(column.header)] + [len(column.show(i.get(column.key))) for i in items])
        grid.add_column(
            column.header,
            justify=column.justify,  # type: ignore[arg-type]
            no_wrap=column.whole,
            min_width=widest if column.whole else None,
        )
    for item in items:
        grid.add_row(*(escape(column.show(item.get(column.key))) for column in columns))
    out().print(grid)
    if more:
        note("[dim]More rows exist: raise --limit or pass --all.[/dim]")


def listing(
    items: list[dict[str, Any]],
    columns: Sequence[Column],
    *,
    as_json: bool,
    title: str,
    more: bool = False,
) -> None:
    """A list for people (table) or scripts (JSON array)."""
    if as_json:
        print_json(items)
    else:
        table(items, columns, title=title, more=more)


def fields(item: dict[str, Any], *, as_json: bool, title: str | None = None) -> None:
    """One object as `key: value` lines (or JSON)."""
    if as_json:
        print_json(item)
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in item.items():
        grid.add_row(escape(key), escape(cell(value)))
    if title:
        say(f"[bold]{escape(title)}[/bold]")
    out().print(grid)


def detail_lines(details: Any) -> list[str]:
    """Readable lines of an error's `details`: `line 12: ...` for flow and CSV errors."""
    lines: list[str] = []
    if isinstance(details, dict):
        for key, value in details.items():
            if key in ("errors", "rows") and isinstance(value, list):
                lines.extend(_entry(entry) for entry in value)
            elif isinstance(value, list):
                lines.extend(f"{key}: {_entry(entry)}" for entry in value)
            elif isinstance(value, dict):
                lines.extend(f"{key}.{k}: {cell(v)}" for k, v in value.items())
            else:
                lines.append(f"{key}: {cell(value)}")
    elif isinstance(details, list):
        lines.extend(_entry(entry) for entry in details)
    elif details:
        lines.append(str(details))
    return lines


def _entry(entry: Any) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    message = str(entry.get("message", ""))
    rest = {k: v for k, v in entry.items() if k not in ("line", "message") and v is not None}
    where = f"line {entry['line']}" if entry.get("line") is not None else ""
    if "field" in rest:
        where = f"{where} {rest.pop('field')}".strip()
    step = rest.pop("step", None)
    notes = ([f"step {step}"] if step else []) + [f"{k} {cell(v)}" for k, v in rest.items()]
    extra = f" ({', '.join(notes)})" if notes else ""
    return f"{where}: {message}{extra}" if where else f"{message}{extra}"


def error(problem: CliError) -> None:
    """Print an error on stderr: message, code, details line by line, then a hint."""
    console = err()
    code = f" [dim]({problem.code})[/dim]" if problem.code else ""
    console.print(f"[bold red]Error:[/bold red] {escape(problem.message)}{code}")
    for line in detail_lines(problem.details):
        console.print(f"  {escape(line)}")
    if problem.hint:
        console.print(f"[dim]{escape(problem.hint)}[/dim]")
