"""`psv-admin specialists ...`: the people who attend, their services and hours."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands.common import JsonOpt, TenantOpt, connect, iso_day
from admin_cli.csvfile import read_specialists_csv
from admin_cli.errors import CliError, ExitCode
from admin_cli.output import Column
from admin_cli.transfer import upload_json

app = typer.Typer(help="Specialists: list, add, import a CSV, hours, days off, deactivate.")

IdArg = Annotated[int, typer.Argument(help="The specialist's id (see specialists list).")]

COLUMNS = [
    Column("id", "Id", justify="right"),
    Column("name", "Name"),
    Column("contact_channel", "Channel"),
    Column("contact_address", "Address"),
    Column("services", "Services"),
    Column("hours", "Hours"),
    Column("active", "Active"),
]


class Channel(StrEnum):
    """How a specialist is contacted."""

    telegram = "telegram"
    whatsapp = "whatsapp"


def check_hours(values: list[str], option: str) -> list[str]:
    """Weekly spans like `mon 08:30-13:00` with spaces tidied (the server checks them)."""
    cleaned = [" ".join(value.lower().split()) for value in values]
    empty = [value for value in cleaned if not value]
    if empty:
        raise CliError(f"{option}: an empty span; write e.g. 'mon 08:30-13:00'.", ExitCode.USAGE)
    return cleaned


@app.command("list")
def list_specialists(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List the region's specialists."""
    with connect() as client:
        code = client.tenant(tenant)
        items, _ = client.items(path("tenants", code, "specialists"), limit=None)
    output.listing(items, COLUMNS, as_json=as_json, title=f"Specialists of {code}")


@app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    address: Annotated[
        str, typer.Option("--address", help="Telegram chat id or WhatsApp number (+51...).")
    ],
    service: Annotated[
        list[str], typer.Option("--service", "-s", help="A service code (repeatable).")
    ],
    channel: Annotated[Channel, typer.Option("--channel")] = Channel.telegram,
    hours: Annotated[
        list[str] | None, typer.Option("--hours", help="e.g. 'mon 08:30-13:00' (repeatable).")
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a specialist to the region."""
    body: dict[str, Any] = {
        "name": name,
        "contact_channel": channel.value,
        "contact_address": address,
        "services": service,
    }
    if hours:
        body["hours"] = check_hours(hours, "--hours")
    with connect() as client:
        code = client.tenant(tenant)
        answer = client.post(path("tenants", code, "specialists"), body)
    if as_json:
        output.print_json(answer)
        return
    shown = answer.get("id") if isinstance(answer, dict) else None
    output.say(f"[green]Added {escape(name)} (id {shown}) to {code}.[/green]")


@app.command("import")
def import_csv(
    file: Annotated[
        Path, typer.Argument(help="CSV: name,contact_channel,contact_address,services,hours")
    ],
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Import the good rows even if some are bad.")
    ] = False,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import specialists from a CSV file; any bad row imports nothing unless --skip-bad."""
    text, rows = read_specialists_csv(file)
    with connect() as client:
        code = client.tenant(tenant)
        try:
            answer = upload_json(
                client,
                "POST",
                path("tenants", code, "specialists", "import"),
                {"csv": text, "skip_bad": skip_bad},
                f"Sending {rows} rows",
            )
        except CliError as problem:
            if problem.exit_code == ExitCode.INVALID:
                problem.message = problem.message.split(" (fix them", 1)[0]
                problem.hint = (
                    "Every bad line is listed above: fix them all and import again, or import "
                    "the good rows now with --skip-bad."
                )
            raise
    if as_json:
        output.print_json(answer)
        return
    answer = answer if isinstance(answer, dict) else {}
    skipped = answer.get("skipped") or []
    output.say(f"[green]Imported {answer.get('imported', 0)} of {rows} rows into {code}.[/green]")
    if skipped:
        output.say(f"[yellow]Skipped {len(skipped)} bad rows:[/yellow]")
        for line in output.detail_lines({"rows": skipped}):
            output.say(f"  {escape(line)}")


@app.command("set-hours")
def set_hours(
    specialist: IdArg,
    hours: Annotated[list[str], typer.Argument(help="Weekly spans: 'mon 08:30-13:00' ...")],
    breaks: Annotated[
        list[str] | None, typer.Option("--break", help="A weekly break, same form (repeatable).")
    ] = None,
    tenant: TenantOpt = None,
) -> None:
    """Replace a specialist's weekly hours."""
    body: dict[str, Any] = {"hours": check_hours(hours, "hours")}
    if breaks:
        body["breaks"] = check_hours(breaks, "--break")
    with connect() as client:
        code = client.tenant(tenant)
        client.put(path("tenants", code, "specialists", specialist, "hours"), body)
    spans = escape(", ".join(body["hours"]))
    output.say(f"[green]Specialist {specialist} of {code}: hours {spans}.[/green]")


@app.command("day-off")
def day_off(
    specialist: IdArg,
    starts_on: Annotated[
        str, typer.Option("--from", help="First day off, DD/MM/YYYY or YYYY-MM-DD.")
    ],
    ends_on: Annotated[
        str | None, typer.Option("--to", help="Last day off (default: the first).")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")] = "",
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give a specialist days off; their appointments then are moved or the citizens asked."""
    first = iso_day(starts_on, "--from")
    last = iso_day(ends_on, "--to") or first
    with connect() as client:
        code = client.tenant(tenant)
        answer = client.post(
            path("tenants", code, "specialists", specialist, "days-off"),
            {"starts_on": first, "ends_on": last} | ({"reason": reason} if reason.strip() else {}),
        )
    if as_json:
        output.print_json(answer)
        return
    output.say(f"[green]Specialist {specialist} of {code} is off from {first} to {last}.[/green]")
    moved = answer.get("appointments") if isinstance(answer, dict) else None
    if isinstance(moved, dict):
        output.say(
            f"Appointments in those days: {moved.get('moved', 0)} moved to colleagues, "
            f"{moved.get('cancelled', 0)} citizens asked to choose new times."
        )


@app.command("deactivate")
def deactivate(specialist: IdArg, tenant: TenantOpt = None) -> None:
    """Stop assigning a specialist (history stays)."""
    with connect() as client:
        code = client.tenant(tenant)
        client.post(path("tenants", code, "specialists", specialist, "deactivate"), {})
    output.say(f"[green]Specialist {specialist} of {code} is deactivated.[/green]")
