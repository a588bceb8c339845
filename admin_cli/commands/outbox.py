"""`psv-admin outbox ...`: messages that could not be sent, and sending them again."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands import common
from admin_cli.output import Column

app = typer.Typer(help="Outbox: messages that failed, and retrying them.")


class OutboxStatus(StrEnum):
    """Statuses of messages that did not go."""

    failed = "failed"
    needs_template = "needs_template"


COLUMNS = [
    Column("id", "Id", justify="right"),
    Column("created_at", "Queued", output.when),
    Column("channel", "Channel"),
    Column("address", "To"),
    Column("kind", "Kind"),
    Column("status", "Status"),
    Column("attempts", "Tries", justify="right"),
    Column("last_error", "Last error"),
]
OUTBOX = common.RegionListing("outbox", COLUMNS, "Undelivered messages of")


@app.command("failed")
def failed(
    status: Annotated[
        OutboxStatus | None, typer.Option("--status", help="Only one kind (default: both).")
    ] = None,
    limit: common.LimitOpt = 50,
    every: common.AllOpt = False,
    tenant: common.TenantOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """List messages of the region that could not go."""
    OUTBOX.show({"status": status.value if status else None}, tenant, limit, every, as_json)


@app.command("retry")
def retry(
    message: Annotated[int, typer.Argument(help="The message's id.")],
    tenant: common.TenantOpt = None,
) -> None:
    """Send a failed message again (back to pending, attempts reset)."""
    with common.connect() as client:
        code = client.tenant(tenant)
        client.post(path("tenants", code, "outbox", message, "retry"), {})
    output.say(f"[green]Message {message} of {code} is queued again.[/green]")
