"""Options and helpers shared by the command groups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import typer

from admin_cli import config, output
from admin_cli.client import Client, path
from admin_cli.errors import CliError, ExitCode
from admin_cli.output import Column

TenantOpt = Annotated[
    str | None,
    typer.Option("--tenant", "-t", help="Region code (e.g. PE-ARE); default: the token's region."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
LimitOpt = Annotated[
    int, typer.Option("--limit", min=1, help="At most this many rows (pages are followed).")
]
AllOpt = Annotated[bool, typer.Option("--all", help="Every row, however many.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day, DD/MM/YYYY or YYYY-MM-DD.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, DD/MM/YYYY or YYYY-MM-DD.")]


def connect() -> Client:
    """A client for the server and token of the config file or environment."""
    settings = config.load()
    return Client(settings.url, settings.token)


def row_limit(limit: int, every: bool) -> int | None:
    """The `limit` argument of Client.items for --limit/--all."""
    return None if every else limit


@dataclass(frozen=True)
class RegionListing:
    """One listing of a region's items: where the server keeps them, the columns, the title."""

    resource: str
    columns: list[Column]
    title: str

    def show(
        self, query: dict[str, Any], tenant: str | None, limit: int, every: bool, as_json: bool
    ) -> None:
        """Fetch the listing for --tenant, --limit/--all and print it (--json for scripts)."""
        with connect() as client:
            code = client.tenant(tenant)
            items, more = client.items(
                path("tenants", code, self.resource), query, limit=row_limit(limit, every)
            )
        title = f"{self.title} {code}"
        output.listing(items, self.columns, as_json=as_json, title=title, more=more)


# Dates as Peruvians write them: day first (07/12/2026, 7-12-2026, 07.12.2026).
DAY_FIRST = re.compile(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*")


def iso_day(value: str | None, option: str) -> str | None:
    """A date option as `YYYY-MM-DD`, read from that or from `DD/MM/YYYY` (None passes)."""
    if value is None:
        return None
    found = DAY_FIRST.fullmatch(value)
    try:
        if found:
            day, month, year = (int(found.group(i)) for i in (1, 2, 3))
            return date(year, month, day).isoformat()
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError as exc:
        raise CliError(
            f"{option} must be a date as DD/MM/YYYY or YYYY-MM-DD (got {value!r}).",
            ExitCode.USAGE,
        ) from exc


def confirm_or_abort(question: str, yes: bool) -> None:
    """Ask before a change that is hard to undo, unless --yes was given."""
    if not yes and not typer.confirm(question, default=False):
        raise CliError("Nothing changed.", ExitCode.FAILURE)
