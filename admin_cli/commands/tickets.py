"""`psv-admin tickets ...`: the hand-off queue (people who asked for a person)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands import common
from admin_cli.output import Column

app = typer.Typer(help="Hand-off tickets: list, assign to a specialist.")


class TicketStatus(StrEnum):
    """Ticket statuses."""

    open = "open"
    assigned = "assigned"
    closed = "closed"


COLUMNS = [
    Column("id", "Id", justify="right"),
    Column("created_at", "Since", output.when),
    Column("status", "Status"),
    Column("first_name", "Citizen"),
    Column("service", "Service", whole=True),
    Column("region", "Region"),
    Column("note", "Note"),
    Column("specialist_id", "Specialist"),
    Column("assigned_at", "Assigned", output.when),
]
TICKETS = common.RegionListing("tickets", COLUMNS, "Tickets of")


@app.command("list")
def list_tickets(
    status: Annotated[TicketStatus | None, typer.Option("--status")] = None,
    limit: common.LimitOpt = 50,
    every: common.AllOpt = False,
    tenant: common.TenantOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """List hand-off tickets of the region."""
    TICKETS.show({"status": status.value if status else None}, tenant, limit, every, as_json)


@app.command("assign")
def assign(
    ticket: Annotated[int, typer.Argument(help="The ticket's id.")],
    specialist: Annotated[int, typer.Option("--specialist", help="The specialist's id.")],
    tenant: common.TenantOpt = None,
) -> None:
    """Give a ticket to a specialist."""
    with common.connect() as client:
        code = client.tenant(tenant)
        client.post(
            path("tenants", code, "tickets", ticket, "assign"), {"specialist_id": specialist}
        )
    output.say(f"[green]Ticket {ticket} of {code} assigned to specialist {specialist}.[/green]")
