"""`psv-admin appointments ...`: the region's appointments, listed or exported to CSV."""

from __future__ import annotations

import csv
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands import common
from admin_cli.output import Column
from admin_cli.transfer import export_to_file

app = typer.Typer(help="Appointments: list with filters, export to CSV.")


class Status(StrEnum):
    """Appointment statuses to filter on."""

    booked = "booked"
    cancelled = "cancelled"
    attended = "attended"
    no_show = "no_show"
    rescheduled = "rescheduled"


ServiceOpt = Annotated[str | None, typer.Option("--service", help="A service code.")]
StatusOpt = Annotated[Status | None, typer.Option("--status")]
SpecialistOpt = Annotated[int | None, typer.Option("--specialist", help="A specialist's id.")]

COLUMNS = [
    Column("id", "Id", justify="right"),
    Column("start", "When", output.when),
    Column("service", "Service"),
    Column("status", "Status"),
    Column("specialist", "Specialist"),
    Column("first_name", "Citizen"),
    Column("doc_type", "Doc"),
    Column("document", "Number"),
    Column("channel", "Channel"),
]
APPOINTMENTS = common.RegionListing("appointments", COLUMNS, "Appointments of")


def filters(
    since: str | None,
    until: str | None,
    service: str | None,
    status: Status | None,
    specialist: int | None,
) -> dict[str, Any]:
    """The query of the appointment filters (None left out by the client)."""
    return {
        "from": common.iso_day(since, "--from"),
        "to": common.iso_day(until, "--to"),
        "service": service,
        "status": status.value if status else None,
        "specialist": specialist,
    }


@app.command("list")
def list_appointments(
    since: common.FromOpt = None,
    until: common.ToOpt = None,
    service: ServiceOpt = None,
    status: StatusOpt = None,
    specialist: SpecialistOpt = None,
    limit: common.LimitOpt = 50,
    every: common.AllOpt = False,
    tenant: common.TenantOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """List appointments (documents masked)."""
    APPOINTMENTS.show(
        filters(since, until, service, status, specialist), tenant, limit, every, as_json
    )


@app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="The CSV file to write.")],
    since: common.FromOpt = None,
    until: common.ToOpt = None,
    service: ServiceOpt = None,
    status: StatusOpt = None,
    specialist: SpecialistOpt = None,
    tenant: common.TenantOpt = None,
) -> None:
    """Export appointments to a CSV file, streamed with a progress bar."""
    with common.connect() as client:
        code = client.tenant(tenant)
        size = export_to_file(
            client,
            path("tenants", code, "appointments.csv"),
            filters(since, until, service, status, specialist),
            file,
        )
    rows = _count_rows(file)
    noun = "appointment" if rows == 1 else "appointments"
    output.say(f"[green]Wrote {rows} {noun} ({size} bytes) to {escape(str(file))}.[/green]")


def _count_rows(file: Path) -> int:
    with file.open(encoding="utf-8-sig", newline="") as handle:
        return max(0, sum(1 for _ in csv.reader(handle)) - 1)
