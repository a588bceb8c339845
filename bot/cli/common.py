"""What the `psv` commands share: the settings, running a job on the database, first use.

Each command imports what it needs when it runs: `psv --help` or `psv parse-date` must not
pay for the engine, SQLAlchemy, aiohttp and the channels (issue 16).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from core.db import Database
    from core.settings import Settings, SettingsError

T = TypeVar("T")


def settings() -> Settings:
    """The settings, or exit 2 with the wrong one named."""
    # Imported here: pydantic-settings costs about 0.1 s, which `psv --help` must not pay.
    from core.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        fail_setting(exc)


def fail_setting(error: SettingsError) -> NoReturn:
    """Say which setting is wrong and exit 2."""
    typer.echo(f"psv: setting error: {error}", err=True)
    raise typer.Exit(2) from None


def run(job: Callable[[Database], Awaitable[T]]) -> T:
    """Run a job on the configured database; domain and connection errors exit with a line."""
    import asyncio

    from sqlalchemy.engine import make_url

    from core.db import Database
    from core.errors import DomainError

    config = settings()

    async def main() -> T:
        db = Database(config.database_url)
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
        url = make_url(config.database_url).render_as_string(hide_password=True)
        typer.echo(f"psv: cannot reach the database {url}: {exc}", err=True)
        raise typer.Exit(1) from None


async def prepare_embedded(db: Database, config: Settings, *, demo: bool) -> bool:
    """On the embedded SQLite default, migrate and seed on first use; True if it did."""
    from core import catalog, migrate

    if not config.is_sqlite or await migrate.is_current(db):
        return False
    await migrate.upgrade(db)
    async with db.uow() as uow:
        await catalog.seed(uow, demo=demo)
        await uow.commit()
    return True
