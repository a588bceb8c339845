"""`psv-admin services ...`: which services a region offers and how they are booked."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from admin_cli import output
from admin_cli.client import path
from admin_cli.commands.common import JsonOpt, TenantOpt, connect
from admin_cli.errors import CliError, ExitCode
from admin_cli.output import Column

app = typer.Typer(help="Services of a region: list, enable, disable, set booking rules.")

CodeArg = Annotated[str, typer.Argument(help="The service code (see services list).")]


def _minutes(values: Any) -> str:
    if not values:
        return output.EMPTY
    return ", ".join(
        f"{v // 60}h" if isinstance(v, int) and v % 60 == 0 else f"{v}m" for v in values
    )


COLUMNS = [
    Column("code", "Code", whole=True),
    Column("name", "Name"),
    Column("enabled", "Enabled"),
    Column("duration_minutes", "Minutes", justify="right"),
    Column("min_notice_minutes", "Notice (min)", justify="right"),
    Column("horizon_days", "Horizon (days)", justify="right"),
    Column("buffer_minutes", "Buffer (min)", justify="right"),
    Column("intake_questions", "Intake"),
    Column("reminder_minutes", "Reminders", _minutes),
]


@app.command("list")
def list_services(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List the region's services with their booking rules."""
    with connect() as client:
        code = client.tenant(tenant)
        items, _ = client.items(path("tenants", code, "services"), limit=None)
    output.listing(items, COLUMNS, as_json=as_json, title=f"Services of {code}")


def _patch(tenant: str | None, service: str, changes: dict[str, Any], as_json: bool) -> None:
    with connect() as client:
        code = client.tenant(tenant)
        answer = client.patch(path("tenants", code, "services", service), changes)
    if as_json:
        output.print_json(answer)
        return
    shown = ", ".join(f"{k}={output.cell(v)}" for k, v in changes.items())
    output.say(f"[green]Service {escape(service)} of {code}: {escape(shown)}.[/green]")


@app.command("enable")
def enable(service: CodeArg, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Offer a service in the region."""
    _patch(tenant, service, {"enabled": True}, as_json)


@app.command("disable")
def disable(service: CodeArg, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Stop offering a service in the region (booked appointments stay)."""
    _patch(tenant, service, {"enabled": False}, as_json)


def parse_reminders(text: str) -> list[int]:
    """Reminder times before the appointment: `24h,1h` or `1440,60` (minutes); `none` for none."""
    if text.strip().lower() in ("none", "-", ""):
        return []
    minutes: list[int] = []
    for part in text.split(","):
        piece = part.strip().lower()
        factor = 1
        if piece.endswith("h"):
            piece, factor = piece[:-1], 60
        elif piece.endswith("d"):
            piece, factor = piece[:-1], 1440
        elif piece.endswith("m"):
            piece = piece[:-1]
        if not piece.isdigit():
            raise CliError(
                f"--reminders takes minutes or hours like 24h,1h (got {part.strip()!r}).",
                ExitCode.USAGE,
            )
        minutes.append(int(piece) * factor)
    return minutes


@app.command("set")
def set_rules(
    service: CodeArg,
    duration: Annotated[
        int | None, typer.Option("--duration", help="Minutes per appointment.")
    ] = None,
    notice: Annotated[
        int | None, typer.Option("--notice", help="Minimum notice before a booking, minutes.")
    ] = None,
    horizon: Annotated[
        int | None, typer.Option("--horizon", help="How many days ahead people may book.")
    ] = None,
    buffer: Annotated[
        int | None, typer.Option("--buffer", help="Minutes kept free between appointments.")
    ] = None,
    intake: Annotated[
        list[str] | None,
        typer.Option("--intake", help="An intake question asked when booking (repeatable)."),
    ] = None,
    no_intake: Annotated[
        bool, typer.Option("--no-intake", help="Ask no intake questions.")
    ] = False,
    reminders: Annotated[
        str | None, typer.Option("--reminders", help="e.g. 24h,1h (or minutes; 'none').")
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a service's booking rules in the region (only the options given)."""
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("duration_minutes", duration),
            ("min_notice_minutes", notice),
            ("horizon_days", horizon),
            ("buffer_minutes", buffer),
        )
        if value is not None
    }
    if intake and no_intake:
        raise CliError("Give --intake or --no-intake, not both.", ExitCode.USAGE)
    if intake or no_intake:
        changes["intake_questions"] = list(intake or [])
    if reminders is not None:
        changes["reminder_minutes"] = parse_reminders(reminders)
    if not changes:
        raise CliError(
            "Nothing to change: give at least one of --duration --notice --horizon --buffer "
            "--intake/--no-intake --reminders.",
            ExitCode.USAGE,
        )
    _patch(tenant, service, changes, as_json)
