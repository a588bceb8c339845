"""The `psv` command: database, seed and the booking core from the terminal."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer

from core.settings import Settings, SettingsError, load_settings

# Each command imports what it needs when it runs: `psv --help` or `psv parse-date` must not
# pay for the engine, SQLAlchemy, aiohttp and the channels (issue 16).
if TYPE_CHECKING:
    from core import catalog
    from core.db import Database

# How often `psv chat` looks for messages that reached the terminal between turns.
CONSOLE_POLL_SECONDS = 1.0

T = TypeVar("T")
app = typer.Typer(
    help="PSV: the Ministry of Labour's citizen assistant.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
flows_app = typer.Typer(help="Conversation flows: check and draw them.", no_args_is_help=True)
app.add_typer(flows_app, name="flows")
telegram_app = typer.Typer(help="Telegram channel set-up.", no_args_is_help=True)
app.add_typer(telegram_app, name="telegram")
admin_token_app = typer.Typer(
    help="Admin API tokens (shown once, stored hashed).", no_args_is_help=True
)
app.add_typer(admin_token_app, name="admin-token")


@flows_app.command("validate")
def flows_validate(
    files: Annotated[list[Path], typer.Argument(help="Flow YAML files to check.")],
) -> None:
    """Check flow files; prints every error with file, line and step."""
    from bot.flows.registry import template_names
    from bot.flows.schema import InvalidFlow, load_valid

    failed = False
    for file in files:
        try:
            load_valid(file.read_text(encoding="utf-8"), file.name, known_flows=template_names())
        except (InvalidFlow, OSError) as exc:
            failed = True
            typer.echo(str(exc), err=True)
        else:
            typer.echo(f"{file.name}: valid")
    if failed:
        raise typer.Exit(1)


@flows_app.command("graph")
def flows_graph(
    name: Annotated[str, typer.Argument(help="A national template, e.g. book.")],
) -> None:
    """Print a Mermaid diagram of a national template flow."""
    from bot.flows.machine import compile_source
    from bot.flows.registry import template_names, template_sources

    sources = template_sources()
    if name not in sources:
        typer.echo(f"psv: no flow {name!r}; known: {', '.join(sorted(sources))}", err=True)
        raise typer.Exit(1)
    typer.echo(compile_source(sources[name], f"{name}.yaml", template_names()).mermaid(), nl=False)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"psv: setting error: {exc}", err=True)
        raise typer.Exit(2) from None


def _run(job: Callable[[Database], Awaitable[T]]) -> T:
    """Run a job on the configured database; domain and connection errors exit with a line."""
    from sqlalchemy.engine import make_url

    from core.db import Database
    from core.errors import DomainError

    settings = _settings()

    async def main() -> T:
        db = Database(settings.database_url)
        try:
            return await job(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        typer.echo(f"psv: {exc.reason}: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        typer.echo(f"psv: cannot reach the database {url}: {exc}", err=True)
        raise typer.Exit(1) from None


async def prepare_embedded(db: Database, settings: Settings, *, demo: bool) -> bool:
    """On the embedded SQLite default, migrate and seed on first use; True if it did."""
    from core import catalog, migrate

    if not settings.is_sqlite or await migrate.is_current(db):
        return False
    await migrate.upgrade(db)
    async with db.uow() as uow:
        await catalog.seed(uow, demo=demo)
        await uow.commit()
    return True


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations up to the newest revision."""
    from sqlalchemy.engine import make_url

    from core import migrate

    async def job(db: Database) -> None:
        await migrate.upgrade(db)

    _run(job)
    url = make_url(_settings().database_url).render_as_string(hide_password=True)
    typer.echo(f"Database {url} is at the newest revision.")


@app.command()
def seed(
    demo: Annotated[
        bool, typer.Option("--demo", help="Also add a demo roster of specialists per region.")
    ] = False,
) -> None:
    """Load tenants, the national catalogue and holidays (idempotent); migrates first."""
    from core import catalog, migrate

    async def job(db: Database) -> catalog.SeedReport:
        await migrate.upgrade(db)
        async with db.uow() as uow:
            report = await catalog.seed(uow, demo=demo)
            await uow.commit()
        return report

    report = _run(job)
    if report.total:
        added = ", ".join(f"{n} {what}" for what, n in sorted(report.added.items()))
        typer.echo(f"Seeded: {added}.")
    else:
        typer.echo("Seed: everything was already there; nothing changed.")


@app.command()
def slots(
    tenant: Annotated[str, typer.Option(help="Region code, e.g. PE-LMA.")] = "PE-LMA",
    service: Annotated[str, typer.Option(help="Service code.")] = "consultas-laborales",
    count: Annotated[int, typer.Option(min=1, max=100, help="How many slots.")] = 10,
    lang: Annotated[str, typer.Option(help="Locale for dates: es, en, qu.")] = "es",
) -> None:
    """List the next free slots of a region's service."""
    from babel.dates import format_datetime

    from core import availability

    settings = _settings()

    async def job(db: Database) -> list[availability.Slot]:
        if await prepare_embedded(db, settings, demo=True):
            typer.echo("Created the embedded database with the demo roster.", err=True)
        async with db.uow() as uow:
            return await availability.first_free_slots(
                uow, tenant, service, now=datetime.now(UTC), count=count
            )

    found = _run(job)
    tz = ZoneInfo(settings.timezone)
    if not found:
        typer.echo(f"No free slots for {service} in {tenant} within the booking horizon.")
        return
    typer.echo(f"Next free slots for {service} in {tenant} ({settings.timezone}):")
    for slot in found:
        when = format_datetime(slot.start.astimezone(tz), "EEEE d MMMM, HH:mm", locale=lang)
        minutes = (slot.end - slot.start) // timedelta(minutes=1)
        typer.echo(f"  {when}  ({minutes} min, {len(slot.specialist_ids)} free)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run the outbox worker in this process.")
    ] = False,
    no_inbox: Annotated[
        bool,
        typer.Option("--no-inbox", help="Only queue messages; `psv inbox` runs the turns."),
    ] = False,
) -> None:
    """Run the webhooks, health and metrics (and the outbox worker unless --no-worker)."""
    from aiohttp import web

    from bot import logs
    from bot.server import Server
    from core.db import Database

    settings = _settings()
    logs.configure(settings.log_level)
    db = Database(settings.database_url)

    async def prepare() -> None:
        if await prepare_embedded(db, settings, demo=True):
            logging.getLogger("psv.server").info("created the embedded database with a demo roster")

    server = Server(settings, db, run_worker=not no_worker, run_inbox=not no_inbox, prepare=prepare)
    web.run_app(
        server.app,
        host=host,
        port=port,
        print=None,
        access_log=None,
        # aiohttp's keep-alive timer also runs before a connection's first request: the
        # header read timeout (a request's headers must arrive within it).
        keepalive_timeout=settings.header_timeout_seconds,
    )


@app.command()
def worker() -> None:
    """Run the outbox worker alone (several may run on several hosts)."""
    from bot import logs
    from bot.outbox.scheduler import run_with_scheduler
    from bot.outbox.worker import OutboxWorker
    from bot.server import build_channels, build_pacers

    settings = _settings()
    logs.configure(settings.log_level)

    async def job(db: Database) -> None:
        channels = build_channels(settings)
        outbox = OutboxWorker(
            db,
            channels,
            build_pacers(settings),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            retry_for=timedelta(seconds=settings.outbox_retry_seconds),
            name=settings.outbox_worker_name or "worker",
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, outbox.stop)
        try:
            await run_with_scheduler(outbox, db, settings)
        finally:
            for channel in channels.values():
                await channel.close()

    _run(job)


@app.command()
def inbox(
    processors: Annotated[int, typer.Option(min=1, max=64, help="Turns run at once.")] = 4,
    idle: Annotated[
        bool,
        typer.Option(
            "--idle",
            help="Run only on CPU time nothing else wants (Linux SCHED_IDLE): on a host shared "
            "with `psv serve`, the webhooks keep their latency and turns use what is left.",
        ),
    ] = False,
) -> None:
    """Run the conversation turns of queued messages (with `psv serve --no-inbox`)."""
    from bot import logs
    from bot.conversation.engine import Engine
    from bot.inbox import Inbox

    settings = _settings()
    logs.configure(settings.log_level)
    if idle:
        _idle_priority()

    async def job(db: Database) -> None:
        engine = Engine(db, settings)
        await engine.start()
        runner = Inbox(engine, concurrency=1 if db.dialect == "sqlite" else processors)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, runner.request_stop)
        try:
            await runner.run()
        finally:
            await runner.close()

    _run(job)


def _idle_priority() -> None:
    """Lower this process to SCHED_IDLE, or say plainly that the system cannot."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError) as exc:
        raise typer.BadParameter(f"--idle needs Linux SCHED_IDLE: {exc}") from exc


@telegram_app.command("set-webhook")
def telegram_set_webhook() -> None:
    """Register PSV_PUBLIC_URL/webhooks/telegram with Telegram, with the secret token."""
    from bot.channels import telegram

    settings = _settings()
    if not settings.telegram_token or not settings.telegram_secret:
        typer.echo(
            "psv: setting error: PSV_TELEGRAM_TOKEN and PSV_TELEGRAM_SECRET are needed", err=True
        )
        raise typer.Exit(2)
    url = f"{settings.public_url}/webhooks/telegram"

    async def register() -> None:
        channel = telegram.TelegramChannel(settings.telegram_token or "", settings.telegram_api_url)
        try:
            await channel.set_webhook(url, settings.telegram_secret or "")
        finally:
            await channel.close()

    asyncio.run(register())
    typer.echo(f"Telegram webhook set to {url}")


@app.command()
def chat(
    user: Annotated[str, typer.Option(help="Who you are to the bot (a test user id).")] = "local",
    lang: Annotated[str, typer.Option(help="The language your 'phone' says: es, en, qu.")] = "es",
) -> None:
    """Talk to the bot in the terminal, through the same engine and database."""
    from bot.channels import console
    from bot.conversation.engine import Engine, mark_console_sent

    settings = _settings()

    async def job(db: Database) -> None:
        if await prepare_embedded(db, settings, demo=True):
            typer.echo("(Created the embedded database psv.db with the demo roster.)", err=True)
        engine = Engine(db, settings)
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

    _run(job)


async def _show_what_arrives(db: Database, user: str) -> None:
    """Print, as they come due, the messages that reach the terminal user between turns."""
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
        moment = moment.replace(tzinfo=ZoneInfo(_settings().timezone))
    reading = read_date(
        text, moment, lang, tz=ZoneInfo(_settings().timezone), assume_day_for_time=True
    )
    typer.echo(json.dumps(reading.to_json(), ensure_ascii=False))


@admin_token_app.command("create")
def admin_token_create(
    role: Annotated[str, typer.Option(help="national, regional or viewer.")],
    tenant: Annotated[
        str | None, typer.Option(help="Region code, e.g. PE-ARE (regional; optional for viewer).")
    ] = None,
    name: Annotated[str, typer.Option(help="Who or what uses it (shown in the audit log).")] = (
        "admin"
    ),
    expires: Annotated[
        int | None, typer.Option(help="Days until it expires (default: never).")
    ] = None,
) -> None:
    """Make an admin token and print it once (only its SHA-256 is kept)."""
    from core import access

    async def job(db: Database) -> tuple[int, str]:
        async with db.uow() as uow:
            row, token = await access.create_token(
                uow,
                role=role,
                tenant_code=tenant,
                name=name,
                expires_days=expires,
                now=datetime.now(UTC),
                by="psv admin-token",
            )
            await uow.commit()
        return row.id, token

    token_id, token = _run(job)
    typer.echo(f"Admin token {token_id} ({role}{' ' + tenant if tenant else ''}), shown once:")
    typer.echo(token)


@admin_token_app.command("list")
def admin_token_list() -> None:
    """List admin tokens (prefix, role, region, expiry, revocation, last use)."""
    from core import access

    async def job(db: Database) -> list[tuple[object, ...]]:
        async with db.uow() as uow:
            return [
                (
                    t.id,
                    t.prefix,
                    t.role,
                    code or "-",
                    t.name,
                    t.expires_at,
                    t.revoked_at,
                    t.last_used_at,
                )
                for t, code in await access.list_tokens(uow)
            ]

    rows = _run(job)
    if not rows:
        typer.echo("No admin tokens.")
        return
    typer.echo("id\tprefix\trole\ttenant\tname\texpires\trevoked\tlast used")
    for row in rows:
        typer.echo("\t".join("-" if v is None else str(v) for v in row))


@admin_token_app.command("revoke")
def admin_token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see list).")],
) -> None:
    """Revoke an admin token at once."""
    from core import access

    async def job(db: Database) -> None:
        async with db.uow() as uow:
            await access.revoke_token(uow, token_id, now=datetime.now(UTC), by="psv admin-token")
            await uow.commit()

    _run(job)
    typer.echo(f"Admin token {token_id} revoked.")


def main() -> None:
    """Entry point of the `psv` console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
