"""`psv CHANNEL set-webhook`: one command group per registered channel.

The groups come from the registry's names (bot/channels/registry.py `BUILT_IN`), so listing
them imports no channel; a command loads its channel when it runs.
"""

from __future__ import annotations

import typer

from bot.channels.registry import BUILT_IN
from bot.cli.app import app
from bot.cli.common import fail_setting, settings


def set_webhook(name: str) -> None:
    """Register the channel's webhook with its platform (where the platform allows it)."""
    import asyncio

    from bot.channels.registry import load
    from core.settings import SettingsError

    config = settings()
    plugin = load()[name]
    if plugin.set_webhook is None:
        urls = ", ".join(
            f"{route.method} {config.public_url}{route.path}" for route in plugin.routes
        )
        typer.echo(f"psv: {name} takes its webhook in the platform's console: {urls}", err=True)
        raise typer.Exit(1)
    try:
        url = asyncio.run(plugin.set_webhook(config))
    except SettingsError as exc:
        fail_setting(exc)
    typer.echo(f"{name.capitalize()} webhook set to {url}")


def _group(name: str) -> typer.Typer:
    group = typer.Typer(help=f"{name.capitalize()} channel set-up.", no_args_is_help=True)

    @group.command("set-webhook")
    def command() -> None:
        """Register PSV_PUBLIC_URL's webhook of this channel with its platform."""
        set_webhook(name)

    return group


for _name in BUILT_IN:
    app.add_typer(_group(_name), name=_name)
