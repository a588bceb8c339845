"""`psv-admin closures ...`: regional holidays and days the office is closed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands.common import JsonOpt, TenantOpt, connect, iso_day
from admin_cli.output import Column

app = typer.Typer(help="Closures: days the region's offices are closed.")

COLUMNS = [
    Column("id", "Id", justify="right"),
    Column("kind", "Kind", lambda v: "national holiday" if v == "holiday" else str(v or "")),
    Column("national", "National"),
    Column("specialist_id", "Specialist"),
    Column("starts_on", "From"),
    Column("ends_on", "To"),
    Column("reason", "Reason"),
]


@app.command("list")
def list_closures(
    since: Annotated[
        str | None, typer.Option("--since", help="From this day, DD/MM/YYYY or YYYY-MM-DD.")
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the region's closures and the national ones."""
    with connect() as client:
        code = client.tenant(tenant)
        items, _ = client.items(
            path("tenants", code, "closures"), {"since": iso_day(since, "--since")}, limit=None
        )
    output.listing(items, COLUMNS, as_json=as_json, title=f"Closures of {code}")
    if not as_json and any(isinstance(i, dict) and i.get("national") for i in items):
        output.note(
            "National holidays close every region; only the national team changes them "
            "(closures remove works on the region's own closures)."
        )


@app.command("add")
def add(
    starts_on: Annotated[
        str, typer.Option("--from", help="First closed day, DD/MM/YYYY or YYYY-MM-DD.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="e.g. 'Fiesta de la Virgen'.")],
    ends_on: Annotated[
        str | None, typer.Option("--to", help="Last closed day (default: the first).")
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close the region's offices for a day or a span of days; its appointments are followed.

    Appointments booked on those days go to a free colleague, or are cancelled and their
    citizens offered new times; the counts are printed.
    """
    first = iso_day(starts_on, "--from")
    last = iso_day(ends_on, "--to") or first
    with connect() as client:
        code = client.tenant(tenant)
        answer = client.post(
            path("tenants", code, "closures"),
            {"starts_on": first, "ends_on": last, "reason": reason},
        )
    if as_json:
        output.print_json(answer)
        return
    shown = answer.get("id") if isinstance(answer, dict) else None
    output.say(
        f"[green]Closed {code} from {first} to {last} ({escape(reason)}); id {shown}.[/green]"
    )
    followed = answer.get("appointments") if isinstance(answer, dict) else None
    if isinstance(followed, dict):
        output.say(
            f"Appointments in those days: {followed.get('moved', 0)} moved to colleagues, "
            f"{followed.get('cancelled', 0)} cancelled, of which "
            f"{followed.get('reoffered', 0)} citizens were offered new times."
        )


@app.command("remove")
def remove(
    closure: Annotated[int, typer.Argument(help="The closure's id (see closures list).")],
    tenant: TenantOpt = None,
) -> None:
    """Remove one of the region's own closures."""
    with connect() as client:
        code = client.tenant(tenant)
        client.delete(path("tenants", code, "closures", closure))
    output.say(f"[green]Removed closure {closure} of {code}.[/green]")
