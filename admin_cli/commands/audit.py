"""`psv-admin audit list`: who changed what, when, before and after."""

from __future__ import annotations

from typing import Annotated

import typer

from admin_cli import output
from admin_cli.commands import common
from admin_cli.output import Column

app = typer.Typer(help="Audit log: every change made through the admin API.")

COLUMNS = [
    Column("id", "Id", justify="right"),
    Column("at", "When", output.when),
    Column("actor", "Who"),
    Column("tenant", "Region"),
    Column("action", "Action"),
    Column("entity", "Entity"),
    Column("entity_id", "Entity id"),
]


@app.command("list")
def list_audit(
    actor: Annotated[str | None, typer.Option("--actor", help="A token's name.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. flow.publish")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="e.g. flow_version")] = None,
    since: common.FromOpt = None,
    until: common.ToOpt = None,
    limit: common.LimitOpt = 50,
    every: common.AllOpt = False,
    tenant: common.TenantOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """List audit entries, newest first (--json shows before and after)."""
    query = {
        "tenant": tenant.strip().upper() if tenant else None,
        "actor": actor,
        "action": action,
        "entity": entity,
        "from": common.iso_day(since, "--from"),
        "to": common.iso_day(until, "--to"),
    }
    with common.connect() as client:
        items, more = client.items("/audit", query, limit=common.row_limit(limit, every))
    output.listing(items, COLUMNS, as_json=as_json, title="Audit log", more=more)
