"""`psv-admin events ...`: training events with seats and waitlists."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands.common import JsonOpt, TenantOpt, confirm_or_abort, connect, iso_day
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


DAY_FIRST_START = re.compile(r"(\d{1,2}[/.-]\d{1,2}[/.-]\d{4})[ T]+(\d{1,2})(?::(\d{2}))?\s*h?")


def local_start(text: str) -> str:
    """An ISO 8601 start with offset; a time without one is taken as America/Lima."""
    written = text.strip()
    day_first = DAY_FIRST_START.fullmatch(written)
    if day_first:  # 12/06/2025 10:00, as Peruvians write it
        day = iso_day(day_first.group(1), "--start")
        written = f"{day}T{int(day_first.group(2)):02d}:{day_first.group(3) or '00'}"
    try:
        moment = datetime.fromisoformat(written.replace(" ", "T", 1))
    except ValueError as exc:
        raise CliError(
            "--start must be a date and time like 12/06/2025 10:00 or 2025-06-12T10:00 "
            f"(got {text!r}).",
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
    start: Annotated[
        str, typer.Option("--start", help="e.g. 12/06/2025 10:00 or 2025-06-12T10:00 (Lima time).")
    ],
    seats: Annotated[int, typer.Option("--seats", min=1)],
    duration: Annotated[int, typer.Option("--duration", min=1, help="Minutes.")] = 60,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Create it even on a national holiday or a closure of the region."
        ),
    ] = False,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a training event (a session link is made).

    On a national holiday or a day the region is closed it is refused unless --force.
    """
    body: dict[str, Any] = {
        "title": title,
        "service": service,
        "start": local_start(start),
        "duration_minutes": duration,
        "seats": seats,
    }
    if force:
        body["force"] = True
    with connect() as client:
        code = client.tenant(tenant)
        try:
            answer = client.post(path("tenants", code, "events"), body)
        except CliError as problem:
            if problem.exit_code == ExitCode.CONFLICT and not problem.hint:
                problem.hint = "Pass --force to create it on that day anyway."
                problem.message = problem.message.replace(
                    ": send force to create the event anyway", ""
                )
            raise
    for warning in (answer.get("warnings") if isinstance(answer, dict) else None) or []:
        output.note(f"[yellow]Warning:[/yellow] {escape(str(warning))}; created anyway (--force).")
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
