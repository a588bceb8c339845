"""Tokens: 401 for none, unknown, expired or revoked (changing nothing); roles on /me; errors."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from core import access
from core.models import AdminToken, Closure
from core.types import utcnow
from tests.admin_api.conftest import Api

CLOSURE = {"starts_on": "2027-02-01", "ends_on": "2027-02-02", "reason": "aniversario"}


async def _closures(api: Api) -> int:
    async with api.db.uow() as uow:
        query = select(func.count()).select_from(Closure).where(Closure.kind == "regional")
        return int(await uow.session.scalar(query) or 0)


async def test_bad_tokens_get_401_and_change_nothing(api: Api) -> None:
    expired = await api.token("regional", "PE-ARE", expires_days=1)
    revoked = await api.token("regional", "PE-ARE")
    async with api.db.uow() as uow:
        await uow.session.execute(
            update(AdminToken)
            .where(AdminToken.token_hash == access.hash_token(expired))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        row = await uow.session.scalar(
            select(AdminToken).where(AdminToken.token_hash == access.hash_token(revoked))
        )
        assert row is not None
        await access.revoke_token(uow, row.id, now=utcnow(), by="test")
        await uow.commit()
    audit_before = await api.audit_count()
    for token, why in (
        (None, "required"),
        ("psv_" + "x" * 43, "unknown"),
        ("Basic abc", "required"),
        (expired, "expired"),
        (revoked, "revoked"),
    ):
        status, body = await api.call("POST", "/tenants/PE-ARE/closures", token, CLOSURE)
        assert status == 401, (why, body)
        assert body["error"] == "unauthorized" and why in body["message"]
        status, body = await api.call("GET", "/me", token)
        assert status == 401
    assert await _closures(api) == 0
    assert await api.audit_count() == audit_before
    # The same request with a good token does change things: the check above could fail.
    # (From another address: ten refusals from this one have reached the limit, test_throttle.)
    good = await api.token("regional", "PE-ARE")
    elsewhere = {"X-Forwarded-For": "192.0.2.1"}
    status, _ = await api.call("POST", "/tenants/PE-ARE/closures", good, CLOSURE, headers=elsewhere)
    assert status == 201 and await _closures(api) == 1


async def test_me_for_each_role(api: Api) -> None:
    cases = [
        ("national", None, None),
        ("regional", "PE-ARE", "PE-ARE"),
        ("viewer", None, None),
        ("viewer", "PE-CUS", "PE-CUS"),
    ]
    for role, tenant, shown in cases:
        token = await api.token(role, tenant, name=f"{role}-user", expires_days=30)
        status, body = await api.call("GET", "/me", token)
        assert status == 200
        assert body["role"] == role and body["tenant"] == shown
        assert body["name"] == f"{role}-user" and body["expires_at"] is not None


async def test_last_used_is_set_on_success_only(api: Api) -> None:
    token = await api.token("regional", "PE-ARE")

    async def last_used() -> object:
        async with api.db.uow() as uow:
            return await uow.session.scalar(
                select(AdminToken.last_used_at).where(
                    AdminToken.token_hash == access.hash_token(token)
                )
            )

    status, _ = await api.call("GET", "/tenants/PE-CUS/services", token)
    assert status == 403 and await last_used() is None
    status, _ = await api.call("GET", "/me", token)
    assert status == 200 and await last_used() is not None


async def test_error_bodies(api: Api) -> None:
    token = await api.token("regional", "PE-ARE")
    response = await api.client.post(
        "/api/admin/tenants/PE-ARE/closures",
        data=b"{not json",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert (await response.json())["error"] == "bad_request"
    status, body = await api.call("GET", "/nothing-here", token)
    assert status == 404 and body["error"] == "not_found"
    status, body = await api.call("DELETE", "/me", token)
    assert status == 405 and set(body) == {"error", "message"}
    status, body = await api.call("POST", "/tenants/PE-ARE/closures", token, {"starts_on": "x"})
    assert status == 422 and body["error"] == "invalid" and "starts_on" in body["message"]
    status, body = await api.call(
        "POST", "/tenants/PE-ARE/closures", token, {**CLOSURE, "colour": "red"}
    )
    assert status == 422 and "colour" in body["message"]
    assert await _closures(api) == 0


async def test_pagination_walks_every_region_once(api: Api) -> None:
    token = await api.token("national")
    seen: list[str] = []
    cursor = None
    while True:
        query = f"?limit=10&cursor={cursor}" if cursor else "?limit=10"
        status, body = await api.call("GET", f"/tenants{query}", token)
        assert status == 200 and len(body["items"]) <= 10
        seen += [t["code"] for t in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 26 == len(set(seen))
    for bad in ("?limit=0", "?limit=501", "?limit=x", "?cursor=%%%", "?cursor=eyJ4IjoxfQ"):
        status, body = await api.call("GET", f"/tenants{bad}", token)
        assert status == 422 and body["error"] == "invalid", bad


async def test_tenants_in_scope(api: Api) -> None:
    regional = await api.token("regional", "PE-ARE")
    viewer = await api.token("viewer", "PE-CUS")
    for token, codes in ((regional, ["PE-ARE"]), (viewer, ["PE-CUS"])):
        status, body = await api.call("GET", "/tenants", token)
        assert status == 200 and [t["code"] for t in body["items"]] == codes
        assert set(body["items"][0]) == {"code", "name", "display_name", "active"}
