"""`psv serve`, `psv inbox` and `psv worker`: the long-running processes.

All three are assembled by the composition root (bot/bootstrap.py): `psv serve` through the
server, the other two directly.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import app
from bot.cli.common import prepare_embedded, run, settings

if TYPE_CHECKING:
    from core.db import Database


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
    """Run the webhooks, health and metrics (and the outbox worker unless --no-worker).

    On PostgreSQL the turns run in PSV_INBOX_PROCESSES `psv inbox --idle` children (2).
    """
    from aiohttp import web

    from bot import logs
    from bot.server import Server
    from core.db import Database

    config = settings()
    logs.configure(config.log_level)
    db = Database(config.database_url)

    async def prepare() -> None:
        if await prepare_embedded(db, config, demo=True):
            logging.getLogger("psv.server").info("created the embedded database with a demo roster")

    server = Server(
        config,
        db,
        run_worker=not no_worker,
        run_inbox=not no_inbox,
        turn_processes=0 if no_inbox else config.inbox_processes,
        prepare=prepare,
    )
    web.run_app(
        server.app,
        host=host,
        port=port,
        print=None,
        access_log=None,
        # aiohttp's keep-alive timer also runs before a connection's first request: the
        # header read timeout (a request's headers must arrive within it).
        keepalive_timeout=config.header_timeout_seconds,
    )


@app.command()
def worker() -> None:
    """Run the outbox worker alone (several may run on several hosts)."""
    import asyncio

    from bot import logs, pg_events
    from bot.bootstrap import bootstrap
    from bot.outbox.scheduler import run_with_scheduler

    config = settings()
    logs.configure(config.log_level)

    async def job(db: Database) -> None:
        parts = bootstrap(config, db, role="worker")
        outbox = parts.worker
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, outbox.stop)
        listener = None
        if db.is_postgres:  # turn processes say when they have queued replies
            listener = pg_events.Listener(db.url, {pg_events.OUTBOX: lambda _p: outbox.wake.set()})
            listener.start()
        try:
            await run_with_scheduler(outbox, db, config)
        finally:
            if listener is not None:
                await listener.stop()
            await parts.close()

    run(job)


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
    import asyncio

    from bot import logs, pg_events
    from bot.bootstrap import bootstrap

    config = settings()
    logs.configure(config.log_level)
    if idle:
        idle_priority()

    async def job(db: Database) -> None:
        parts = bootstrap(config, db, role="inbox", processors=processors)
        await parts.engine.start()
        runner = parts.inbox
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, runner.request_stop)
        listener = notifier = None
        if db.is_postgres:  # woken by webhooks; wakes the outbox worker after its turns
            wake = runner.wake.set  # one processor per message queued
            listener = pg_events.Listener(
                db.url, {pg_events.INBOX: lambda p: wake(pg_events.poke_count(p))}
            )
            listener.start()
            notifier = pg_events.Notifier(db.url, pg_events.OUTBOX)
            runner.on_replies = notifier.poke
        try:
            await runner.run()
        finally:
            if listener is not None and notifier is not None:
                await listener.stop()
                await notifier.close()
            await parts.close()

    run(job)


def idle_priority() -> None:
    """Lower this process to SCHED_IDLE, or say plainly that the system cannot."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError) as exc:
        raise typer.BadParameter(f"--idle needs Linux SCHED_IDLE: {exc}") from exc
