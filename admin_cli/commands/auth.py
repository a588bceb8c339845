"""`login`, `logout` and `whoami`: which server and token psv-admin uses."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from admin_cli import config, output
from admin_cli.client import Client
from admin_cli.commands.common import JsonOpt
from admin_cli.errors import CliError, ExitCode


def login(
    url: Annotated[
        str | None, typer.Option("--url", help="The psv server, e.g. https://psv.example.gob.pe")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="The admin token (default: $PSV_ADMIN_TOKEN, else asked without echo).",
        ),
    ] = None,
) -> None:
    """Check a token against the server (GET /me) and store URL and token (file mode 0600)."""
    url = url or os.environ.get(config.ENV_URL) or config.read_file().get("url")
    if not url:
        raise CliError("Name the server with --url URL.", ExitCode.USAGE)
    url = config.normalise_url(url)
    token = token or os.environ.get(config.ENV_TOKEN)
    if not token:
        token = typer.prompt("Admin token", hide_input=True)
    token = token.strip()
    if not token:
        raise CliError("The token is empty.", ExitCode.USAGE)
    with Client(url, token) as client:
        me = client.me()
    path = config.save(url, token)
    scope = me.get("tenant") or "all regions"
    output.say(
        f"Logged in to {url} as [bold]{me.get('name', '?')}[/bold] "
        f"({me.get('role', '?')}, {scope}); token {config.mask_token(token)} "
        f"stored in {path} (mode 0600)."
    )


def logout() -> None:
    """Forget the stored URL and token."""
    path = config.config_path()
    if config.delete():
        output.say(f"Logged out: removed {path}.")
    else:
        output.say("Not logged in: nothing to remove.")
    if os.environ.get(config.ENV_TOKEN):
        output.note(f"${config.ENV_TOKEN} is still set in this shell and will be used.")


def whoami(as_json: JsonOpt = False) -> None:
    """Show the server, the token's name, role, region and expiry (token masked)."""
    settings = config.load()
    with Client(settings.url, settings.token) as client:
        me = client.me()
    shown = {
        "url": settings.url,
        "name": me.get("name"),
        "role": me.get("role"),
        "tenant": me.get("tenant"),
        "expires_at": me.get("expires_at"),
        "token": config.mask_token(settings.token),
        "from": settings.source,
    }
    if not as_json:
        shown["expires_at"] = output.when(shown["expires_at"]) if me.get("expires_at") else "never"
        shown["tenant"] = shown["tenant"] or "all regions"
    output.fields(shown, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add login, logout and whoami to the root command."""
    app.command("login")(login)
    app.command("logout")(logout)
    app.command("whoami")(whoami)
