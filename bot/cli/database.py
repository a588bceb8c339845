"""`psv db upgrade`, `psv seed` and `psv slots`: the database and the booking core."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from bot.cli.app import app, db_app
from bot.cli.common import prepare_embedded, run, settings

if TYPE_CHECKING:
    from core import availability, catalog
    from core.db import Database


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations up to the newest revision."""
    from sqlalchemy.engine import make_url

    from core import migrate

    async def job(db: Database) -> None:
        await migrate.upgrade(db)

    run(job)
    url = make_url(settings().database_url).render_as_string(hide_password=True)
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

    report = run(job)
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

    config = settings()

    async def job(db: Database) -> list[availability.Slot]:
        if await prepare_embedded(db, config, demo=True):
            typer.echo("Created the embedded database with the demo roster.", err=True)
        async with db.uow() as uow:
            return await availability.first_free_slots(
                uow, tenant, service, now=datetime.now(UTC), count=count
            )

    found = run(job)
    tz = ZoneInfo(config.timezone)
    if not found:
        typer.echo(f"No free slots for {service} in {tenant} within the booking horizon.")
        return
    typer.echo(f"Next free slots for {service} in {tenant} ({config.timezone}):")
    for slot in found:
        when = format_datetime(slot.start.astimezone(tz), "EEEE d MMMM, HH:mm", locale=lang)
        minutes = (slot.end - slot.start) // timedelta(minutes=1)
        typer.echo(f"  {when}  ({minutes} min, {len(slot.specialist_ids)} free)")
