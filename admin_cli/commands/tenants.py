"""`psv-admin tenants ...`: the regions, and onboarding a new one (national admins)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands.common import JsonOpt, connect
from admin_cli.output import Column

app = typer.Typer(help="Regions: list, onboard a new one.")

COLUMNS = [
    Column("code", "Code"),
    Column("name", "Name"),
    Column("display_name", "Shown as"),
    Column("active", "Active"),
]


@app.command("list")
def list_tenants(as_json: JsonOpt = False) -> None:
    """List the regions within the token's scope."""
    with connect() as client:
        items, _ = client.items("/tenants", limit=None)
    output.listing(items, COLUMNS, as_json=as_json, title="Regions")


@app.command("onboard")
def onboard(
    code: Annotated[str, typer.Argument(help="The region's code, e.g. PE-ARE.")],
    admin_name: Annotated[
        str, typer.Option("--admin-name", help="Who gets the region's first admin token.")
    ],
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="The token's lifetime in days.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a region: its services, default hours and a first regional admin token (shown once)."""
    body: dict[str, object] = {"admin_name": admin_name}
    if expires_days is not None:
        body["expires_days"] = expires_days
    region = code.strip().upper()
    with connect() as client:
        answer = client.post(path("tenants", region, "onboard"), body)
    if as_json:
        output.print_json(answer)
        return
    answer = answer if isinstance(answer, dict) else {}
    token = answer.get("token")
    shown = {k: v for k, v in answer.items() if k != "token"}
    output.say(f"[green]Region {escape(region)} is onboarded.[/green]")
    if shown:
        output.fields(shown, as_json=False)
    if token:
        output.say(
            f"\nFirst admin token for {escape(admin_name)} (shown only this once; hand it over "
            "privately, e.g. for psv-admin login):"
        )
        typer.echo(str(token))
