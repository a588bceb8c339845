"""`psv-admin events ...`: training events with seats and waitlists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands.common import JsonOpt, TenantOpt, confirm_or_abort, connect
from admin_cli.errors import CliError, ExitCode
from admin_cli.output import SHOWN_ZONE, Column

app = typer.Typer(help="Training events: create, list, attendees, cancel.")

IdArg = Annotated[int, typer.Argument(help="The event's id (see events list).")]

COLUMNS = [
    Column("id", "Id", justify="right"),
    Column("title", "Title"),
    Column("service", "Service"),
    Column("start", "Start", output.when),
    Column("duration_minutes", "Minutes", justify="right"),
    Column("seats", "Seats", justify="right"),
    Column("confirmed", "Confirmed", justify="right"),
    Column("waitlisted", "Waitlist", justify="right"),
    Column("status", "Status"),
]
ATTENDEES = [
    Column("position", "#", justify="right"),
    Column("status", "Status"),
    Column("first_name", "First name"),
    Column("doc_type", "Doc"),
    Column("document", "Number"),
    Column("channel", "Channel"),
]


def local_start(text: str) -> str:
    """An ISO 8601 start with offset; a time without one is taken as America/Lima."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError as exc:
        raise CliError(
            f"--start must be a date and time like 2025-06-12T10:00 (got {text!r}).",
            ExitCode.USAGE,
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHOWN_ZONE)
    return moment.isoformat()


@app.command("list")
def list_events(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List the region's events with seats taken and waitlists."""
    with connect() as client:
        code = client.tenant(tenant)
        items, _ = client.items(path("tenants", code, "events"), limit=None)
    output.listing(items, COLUMNS, as_json=as_json, title=f"Events of {code}")


@app.command("create")
def create(
    title: Annotated[str, typer.Option("--title")],
    service: Annotated[str, typer.Option("--service", help="The service code it belongs to.")],
    start: Annotated[str, typer.Option("--start", help="e.g. 2025-06-12T10:00 (Lima time).")],
    seats: Annotated[int, typer.Option("--seats", min=1)],
    duration: Annotated[int, typer.Option("--duration", min=1, help="Minutes.")] = 60,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a training event (a session link is made)."""
    body = {
        "title": title,
        "service": service,
        "start": local_start(start),
        "duration_minutes": duration,
        "seats": seats,
    }
    with connect() as client:
        code = client.tenant(tenant)
        answer = client.post(path("tenants", code, "events"), body)
    if as_json:
        output.print_json(answer)
        return
    answer = answer if isinstance(answer, dict) else {}
    output.say(
        f"[green]Created event {answer.get('id')} «{escape(title)}» in {code} on "
        f"{output.when(body['start'])}.[/green]"
    )


@app.command("attendees")
def attendees(event: IdArg, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List an event's registrations and waitlist (documents masked)."""
    with connect() as client:
        code = client.tenant(tenant)
        items, _ = client.items(path("tenants", code, "events", event, "attendees"), limit=None)
    output.listing(items, ATTENDEES, as_json=as_json, title=f"Attendees of event {event}")


@app.command("cancel")
def cancel(
    event: IdArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    tenant: TenantOpt = None,
) -> None:
    """Cancel an event; everyone registered is told."""
    confirm_or_abort(f"Cancel event {event} and tell everyone registered?", yes)
    with connect() as client:
        code = client.tenant(tenant)
        answer = client.post(path("tenants", code, "events", event, "cancel"), {})
    told = answer.get("told") if isinstance(answer, dict) else None
    shown = f"{told} registrants are being told" if told is not None else "registrants are told"
    output.say(f"[green]Cancelled event {event} of {code}; {shown}.[/green]")
