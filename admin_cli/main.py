"""`psv-admin`: the regional admins' CLI, a thin client of the admin HTTP API."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from admin_cli import output
from admin_cli.commands import (
    appointments,
    audit,
    auth,
    closures,
    events,
    flows,
    outbox,
    reports,
    services,
    specialists,
    tenants,
    tickets,
)
from admin_cli.errors import CliError


class PsvGroup(TyperGroup):
    """The root command: turns a CliError from any command into a message and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; report a CliError on stderr and exit with its code."""
        try:
            return super().invoke(ctx)
        except CliError as problem:
            output.error(problem)
            raise typer.Exit(int(problem.exit_code)) from None


app = typer.Typer(
    cls=PsvGroup,
    help="PSV admin CLI: manage a region's flows, services, specialists and events "
    "through the admin API of a psv server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help (click's formatter): typer's rich help costs about 0.1 s of imports per run.
    rich_markup_mode=None,
)


@app.command("version")
def show_version() -> None:
    """Print the installed PSV version."""
    from importlib.metadata import version

    typer.echo(version("psv"))


auth.register(app)
app.add_typer(flows.app, name="flows")
app.add_typer(services.app, name="services")
app.add_typer(specialists.app, name="specialists")
app.add_typer(closures.app, name="closures")
app.add_typer(events.app, name="events")
app.add_typer(appointments.app, name="appointments")
app.add_typer(tickets.app, name="tickets")
app.add_typer(outbox.app, name="outbox")
reports.register(app)
app.add_typer(tenants.app, name="tenants")
app.add_typer(audit.app, name="audit")


def main() -> None:
    """Entry point of the `psv-admin` console script."""
    app()
