"""`psv-admin reports`: figures per day and for a period, per region or national."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from admin_cli import output
from admin_cli.client import Client
from admin_cli.commands.common import JsonOpt, TenantOpt, connect, iso_day
from admin_cli.errors import CliError, ExitCode

FIGURES = [
    ("requests", "Requests"),
    ("appointments", "Appts"),
    ("attended", "Attended"),
    ("no_shows", "No-shows"),
    ("cancelled", "Cancelled"),
    ("event_registrations", "Event regs"),
    ("median_wait_hours", "Wait (h, median)"),
    ("satisfaction", "Satisfaction"),
]


def figure(key: str, value: Any) -> str:
    """One figure for a table cell (satisfaction as `4.2 (n=17)`)."""
    if key == "satisfaction" and isinstance(value, dict):
        mean = value.get("mean")
        if mean is None:
            return output.EMPTY
        return f"{float(mean):.1f} (n={value.get('n', 0)})"
    if isinstance(value, float):
        return f"{value:.1f}"
    return output.cell(value)


def days_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-day rows of a report answer."""
    for key in ("days", "per_day", "items"):
        rows = report.get(key)
        if isinstance(rows, list):
            return [row for row in rows if isinstance(row, dict)]
    return []


def scope_of(client: Client, tenant: str | None, national: bool) -> str | None:
    """The `tenant` query: None for national figures, else the region's code."""
    if national and tenant:
        raise CliError("Give --tenant or --national, not both.", ExitCode.USAGE)
    if national:
        return None
    if tenant:
        return tenant.strip().upper()
    return client.me().get("tenant") or None


def reports(
    since: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    national: Annotated[
        bool, typer.Option("--national", help="All regions (national roles only).")
    ] = False,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Requests, appointments, attendance, events, waiting time and satisfaction per day."""
    with connect() as client:
        scope = scope_of(client, tenant, national)
        answer = client.get(
            "/reports",
            tenant=scope,
            **{"from": iso_day(since, "--from"), "to": iso_day(until, "--to")},
        )
    if as_json:
        output.print_json(answer)
        return
    report = answer if isinstance(answer, dict) else {}
    grid = Table(title=f"Report: {scope or 'national'}", header_style="bold", title_justify="left")
    grid.add_column("Day")
    for _key, header in FIGURES:
        grid.add_column(header, justify="right")
    for row in days_of(report):
        grid.add_row(
            str(row.get("date") or row.get("day") or ""),
            *(figure(k, row.get(k)) for k, _ in FIGURES),
        )
    totals = report.get("totals")
    if isinstance(totals, dict):
        grid.add_section()
        grid.add_row("[bold]Total[/bold]", *(figure(k, totals.get(k)) for k, _ in FIGURES))
    output.out().print(grid)


def register(app: typer.Typer) -> None:
    """Add `reports` to the root command."""
    app.command("reports")(reports)
