"""Admin tokens, roles and tenant scope for the admin API.

A token is `psv_` + 43 url-safe characters, shown once; only its SHA-256 is stored. Roles:
`national` (every region), `regional` (one region), `viewer` (figures only, national or one
region). Refusals are typed errors the API turns into 401 and 403.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core import audit, catalog
from core.errors import DomainError, InvalidTransition, NotFound
from core.models import AdminToken, Tenant
from core.uow import UnitOfWork

NATIONAL = "national"
REGIONAL = "regional"
VIEWER = "viewer"
ROLES = (NATIONAL, REGIONAL, VIEWER)
TOKEN_PREFIX = "psv_"
PREFIX_LENGTH = 8
# last_used_at is refreshed at most this often, so a busy token does not write on every call.
TOUCH_EVERY = timedelta(minutes=1)
MAX_EXPIRY_DAYS = 3650


class Unauthorized(DomainError):
    """No token, or an unknown, revoked or expired one."""

    reason = "unauthorized"


class Forbidden(DomainError):
    """A valid token asking for something outside its role or region."""

    reason = "forbidden"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an authenticated, unexpired, unrevoked token."""

    token_id: int
    name: str
    role: str
    tenant_id: int | None
    tenant_code: str | None
    expires_at: datetime | None
    last_used_at: datetime | None

    @property
    def actor(self) -> str:
        """How the caller appears in the audit log (token name and id)."""
        return f"token:{self.token_id}:{self.name}"[:80]

    @property
    def is_national(self) -> bool:
        """Whether the token's scope is every region."""
        return self.tenant_id is None

    def may_read(self, tenant_id: int) -> bool:
        """Whether the token's scope covers this region."""
        return self.tenant_id is None or self.tenant_id == tenant_id

    def require_admin(self) -> None:
        """Refuse viewers: they see figures only."""
        if self.role not in (NATIONAL, REGIONAL):
            raise Forbidden("viewer tokens may only read /me, /tenants and /reports")

    def require_national_admin(self) -> None:
        """Refuse everyone but national admins."""
        if self.role != NATIONAL:
            raise Forbidden("only a national admin may do this")

    def require_tenant(self, tenant_id: int, code: str) -> None:
        """Refuse a region outside the token's scope."""
        if not self.may_read(tenant_id):
            raise Forbidden(f"this token is limited to {self.tenant_code}, not {code}")


def new_token() -> str:
    """A fresh random token (shown once, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256 hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_role(role: str, tenant: Tenant | None) -> None:
    if role not in ROLES:
        raise InvalidTransition(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == NATIONAL and tenant is not None:
        raise InvalidTransition("a national token covers every region: give no tenant")
    if role == REGIONAL and tenant is None:
        raise InvalidTransition("a regional token needs a tenant (region code)")


def _snapshot(token: AdminToken) -> dict[str, object]:
    return {
        "name": token.name,
        "role": token.role,
        "tenant_id": token.tenant_id,
        "prefix": token.prefix,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


async def create_token(
    uow: UnitOfWork,
    *,
    role: str,
    tenant_code: str | None,
    name: str,
    expires_days: int | None,
    now: datetime,
    by: str,
) -> tuple[AdminToken, str]:
    """Make a token; returns the row and the token itself (the only time it is known)."""
    tenant = await catalog.get_tenant(uow, tenant_code) if tenant_code else None
    _check_role(role, tenant)
    name = name.strip()
    if not name or len(name) > 80:
        raise InvalidTransition("a token name must have 1 to 80 characters")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise InvalidTransition(f"expiry must be 1 to {MAX_EXPIRY_DAYS} days")
    token = new_token()
    row = AdminToken(
        name=name,
        role=role,
        tenant_id=tenant.id if tenant else None,
        token_hash=hash_token(token),
        prefix=token[:PREFIX_LENGTH],
        created_by=by[:80],
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    uow.session.add(row)
    await uow.session.flush()
    await audit.record(
        uow,
        actor=by,
        action="admin_token.create",
        entity="admin_token",
        entity_id=row.id,
        tenant_id=row.tenant_id,
        after=_snapshot(row),
    )
    return row, token


async def list_tokens(uow: UnitOfWork) -> list[tuple[AdminToken, str | None]]:
    """Every token with its region code (None for national scope), oldest first."""
    rows = await uow.session.execute(
        select(AdminToken, Tenant.code)
        .outerjoin(Tenant, Tenant.id == AdminToken.tenant_id)
        .order_by(AdminToken.id)
    )
    return [(token, code) for token, code in rows]


async def revoke_token(uow: UnitOfWork, token_id: int, *, now: datetime, by: str) -> AdminToken:
    """Revoke a token at once (revoking twice keeps the first time)."""
    row = await uow.session.get(AdminToken, token_id)
    if row is None:
        raise NotFound(f"no admin token {token_id}", entity="admin_token")
    if row.revoked_at is None:
        before = _snapshot(row)
        row.revoked_at = now
        await uow.session.flush()
        await audit.record(
            uow,
            actor=by,
            action="admin_token.revoke",
            entity="admin_token",
            entity_id=row.id,
            tenant_id=row.tenant_id,
            before=before,
            after=_snapshot(row),
        )
    return row


async def authenticate(uow: UnitOfWork, token: str | None, *, now: datetime) -> Principal:
    """The principal of a presented token, or Unauthorized (unknown, revoked or expired)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthorized("a valid admin token is required")
    found = await uow.session.execute(
        select(AdminToken, Tenant.code)
        .outerjoin(Tenant, Tenant.id == AdminToken.tenant_id)
        .where(AdminToken.token_hash == hash_token(token))
    )
    row = found.first()
    if row is None:
        raise Unauthorized("unknown admin token")
    admin, code = row
    if admin.revoked_at is not None:
        raise Unauthorized("this admin token was revoked")
    if admin.expires_at is not None and admin.expires_at <= now:
        raise Unauthorized("this admin token has expired")
    return Principal(
        token_id=admin.id,
        name=admin.name,
        role=admin.role,
        tenant_id=admin.tenant_id,
        tenant_code=code,
        expires_at=admin.expires_at,
        last_used_at=admin.last_used_at,
    )


def needs_touch(principal: Principal, now: datetime) -> bool:
    """Whether last_used_at is old enough to be refreshed."""
    last = principal.last_used_at
    return last is None or now - last >= TOUCH_EVERY


async def touch(uow: UnitOfWork, token_id: int, *, now: datetime) -> None:
    """Note that a token was used (one small UPDATE, skipped when recent)."""
    await uow.session.execute(
        update(AdminToken)
        .where(
            AdminToken.id == token_id,
            (AdminToken.last_used_at.is_(None)) | (AdminToken.last_used_at < now - TOUCH_EVERY),
        )
        .values(last_used_at=now)
    )
