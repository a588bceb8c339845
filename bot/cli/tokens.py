"""`psv admin-token`: make, list and revoke admin API tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import admin_token_app
from bot.cli.common import run

if TYPE_CHECKING:
    from core.db import Database


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

    token_id, token = run(job)
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

    rows = run(job)
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

    run(job)
    typer.echo(f"Admin token {token_id} revoked.")
