"""`psv-admin outbox ...`: messages that could not be sent, and sending them again."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands.common import AllOpt, JsonOpt, LimitOpt, TenantOpt, connect, row_limit
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


@app.command("failed")
def failed(
    status: Annotated[
        OutboxStatus | None, typer.Option("--status", help="Only one kind (default: both).")
    ] = None,
    limit: LimitOpt = 50,
    every: AllOpt = False,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List messages of the region that could not go."""
    with connect() as client:
        code = client.tenant(tenant)
        items, more = client.items(
            path("tenants", code, "outbox"),
            {"status": status.value if status else None},
            limit=row_limit(limit, every),
        )
    output.listing(
        items, COLUMNS, as_json=as_json, title=f"Undelivered messages of {code}", more=more
    )


@app.command("retry")
def retry(
    message: Annotated[int, typer.Argument(help="The message's id.")], tenant: TenantOpt = None
) -> None:
    """Send a failed message again (back to pending, attempts reset)."""
    with connect() as client:
        code = client.tenant(tenant)
        client.post(path("tenants", code, "outbox", message, "retry"), {})
    output.say(f"[green]Message {message} of {code} is queued again.[/green]")
