"""`psv-admin`: the regional admins' CLI, a thin client of the admin HTTP API."""

from __future__ import annotations

from importlib.metadata import version

import typer

app = typer.Typer(
    help="PSV admin CLI (client of the admin API). Its commands arrive with the admin API.",
    no_args_is_help=True,
)


@app.command("version")
def show_version() -> None:
    """Print the installed PSV version."""
    typer.echo(version("psv"))


def main() -> None:
    """Entry point of the `psv-admin` console script."""
    app()
