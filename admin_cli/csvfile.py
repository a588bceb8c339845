"""Reading specialist CSV files before they are sent (the server checks each row)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from admin_cli.errors import CliError, ExitCode

SPECIALIST_COLUMNS = ("name", "contact_channel", "contact_address", "services", "hours")


def read_specialists_csv(file: Path) -> tuple[str, int]:
    """The CSV text of a specialists file and its number of data rows; refuses a wrong header."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise CliError(f"Cannot read {file}: {exc.strerror}.", ExitCode.USAGE) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CliError(
            f"{file} is not UTF-8 text (line {line}).",
            ExitCode.INVALID,
            hint="Save it from the spreadsheet as 'CSV UTF-8'.",
        ) from exc
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise CliError(f"{file} is empty.", ExitCode.INVALID)
    names = [column.strip().lower() for column in header]
    # `hours` may be left out (as the server allows): the specialists get hours later.
    missing = [column for column in SPECIALIST_COLUMNS[:4] if column not in names]
    if missing:
        raise CliError(
            f"{file}, line 1: the header lacks {', '.join(missing)}.",
            ExitCode.INVALID,
            hint="Columns: " + ",".join(SPECIALIST_COLUMNS) + " (services and hours ;-separated).",
        )
    rows = sum(1 for row in reader if any(cell.strip() for cell in row))
    return text, rows
