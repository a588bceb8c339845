"""`psv-admin reports`: figures per day and for a period, per region or national."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from admin_cli import output
from admin_cli.client import Client
from admin_cli.commands.common import FromOpt, JsonOpt, TenantOpt, ToOpt, connect, iso_day
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
    rows = report.get("days")
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def scope_of(client: Client, tenant: str | None, national: bool) -> str | None:
    """The `tenant` query: None for national figures, else the region's code."""
    if national and tenant:
        raise CliError("Give --tenant or --national, not both.", ExitCode.USAGE)
    if national:
        own = client.me().get("tenant")
        if own:
            raise CliError(
                f"This token is limited to {own}: national figures need a national token.",
                ExitCode.FORBIDDEN,
            )
        return None
    if tenant:
        return tenant.strip().upper()
    return client.me().get("tenant") or None


def reports(
    since: FromOpt = None,
    until: ToOpt = None,
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
    period = f"{report.get('from', since or '')} to {report.get('to', until or '')}"
    shown = report.get("tenant", scope) or "all regions"
    grid = figures_table(f"Report of {shown}, {period}", "Day")
    for row in days_of(report):
        grid.add_row(str(row.get("date") or ""), *(figure(k, row.get(k)) for k, _ in FIGURES))
    totals = report.get("totals")
    if isinstance(totals, dict):
        grid.add_section()
        grid.add_row("[bold]Total[/bold]", *(figure(k, totals.get(k)) for k, _ in FIGURES))
    output.out().print(grid)
    regions = [r for r in report.get("regions") or [] if isinstance(r, dict)]
    if regions:
        by_region = figures_table("Per region", "Region")
        for row in regions:
            by_region.add_row(str(row.get("tenant")), *(figure(k, row.get(k)) for k, _ in FIGURES))
        output.out().print(by_region)


def figures_table(title: str, first: str) -> Table:
    """An empty table with the report's figure columns."""
    grid = Table(title=title, header_style="bold", title_justify="left")
    grid.add_column(first)
    for _key, header in FIGURES:
        grid.add_column(header, justify="right")
    return grid


def register(app: typer.Typer) -> None:
    """Add `reports` to the root command."""
    app.command("reports")(reports)
