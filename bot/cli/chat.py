"""`psv chat` (talk to the bot in the terminal) and `psv parse-date` (what a date phrase means)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from bot.cli.app import app
from bot.cli.common import prepare_embedded, run, settings

if TYPE_CHECKING:
    from core.db import Database

# How often `psv chat` looks for messages that reached the terminal between turns.
CONSOLE_POLL_SECONDS = 1.0


@app.command()
def chat(
    user: Annotated[str, typer.Option(help="Who you are to the bot (a test user id).")] = "local",
    lang: Annotated[str, typer.Option(help="The language your 'phone' says: es, en, qu.")] = "es",
) -> None:
    """Talk to the bot in the terminal, through the same engine and database."""
    import asyncio

    from bot.channels import console
    from bot.conversation.engine import Engine, mark_console_sent

    config = settings()

    async def job(db: Database) -> None:
        if await prepare_embedded(db, config, demo=True):
            typer.echo("(Created the embedded database psv.db with the demo roster.)", err=True)
        engine = Engine(db, config)
        await engine.start()
        typer.echo("(PSV chat: write 'hola' to start; Ctrl-D to leave.)", err=True)
        loop = asyncio.get_running_loop()
        shown = asyncio.create_task(_show_what_arrives(db, user))
        try:
            while True:
                line = await loop.run_in_executor(None, _read_line)
                if line is None:
                    break
                if not line.strip():
                    continue
                for reply in await engine.handle(console.parse(line, user, lang=lang)):
                    typer.echo(console.render(reply))
                    typer.echo("")
                await mark_console_sent(db, user)
        finally:
            shown.cancel()

    run(job)


async def _show_what_arrives(db: Database, user: str) -> None:
    """Print, as they come due, the messages that reach the terminal user between turns."""
    import asyncio

    from bot.channels import console
    from core.types import utcnow

    while True:
        for message in await console.take_due(db, user, utcnow()):
            typer.echo(console.render(message))
            typer.echo("")
        await asyncio.sleep(CONSOLE_POLL_SECONDS)


def _read_line() -> str | None:
    try:
        return input("> ")
    except EOFError:
        return None


@app.command("parse-date")
def parse_date(
    text: Annotated[str, typer.Argument(help="What the citizen wrote.")],
    now: Annotated[str, typer.Option(help="The moment it was written, ISO 8601 with offset.")],
    lang: Annotated[str, typer.Option(help="es, en or qu.")] = "es",
) -> None:
    """Print what the bot understands of a date phrase, as one JSON object."""
    from bot.understanding.dates import read_date

    try:
        moment = datetime.fromisoformat(now)
    except ValueError:
        typer.echo(
            f"psv: --now must be ISO 8601, e.g. 2027-03-15T16:30:00-05:00: {now!r}", err=True
        )
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(settings().timezone))
    reading = read_date(
        text, moment, lang, tz=ZoneInfo(settings().timezone), assume_day_for_time=True
    )
    typer.echo(json.dumps(reading.to_json(), ensure_ascii=False))
