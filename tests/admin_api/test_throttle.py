"""Repeated refused tokens from one address: 429 with Retry-After, other addresses unaffected."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.admin_api import throttle
from bot.admin_api.throttle import FailureLimiter, client_address
from core.types import utcnow
from tests.admin_api.conftest import Api

BAD = "psv_" + "z" * 43


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def _from(address: str) -> dict[str, str]:
    # The test client is a loopback peer, so it may name the client like a local proxy.
    return {"X-Forwarded-For": address}


async def test_too_many_refused_tokens_get_429_until_the_window_passes(api: Api) -> None:
    clock = Clock()
    api.ctx.clock = clock
    good = await api.token("regional", "PE-ARE")
    audits = await api.audit_count()
    attacker, neighbour = _from("203.0.113.5"), _from("203.0.113.6")
    for _ in range(throttle.LIMIT):
        status, body = await api.call("GET", "/me", BAD, headers=attacker)
        assert status == 401 and body["error"] == "unauthorized"
    # Now even a good token from that address is refused before it is looked at.
    response = await api.client.get(
        "/api/admin/me", headers={"Authorization": f"Bearer {good}", **attacker}
    )
    assert response.status == 429
    assert await response.json() == {
        "error": "too_many_requests",
        "message": "too many refused tokens from this address; try again in 60 s",
    }
    assert response.headers["Retry-After"] == "60"
    status, body = await api.call(
        "POST",
        "/tenants/PE-ARE/closures",
        good,
        {"starts_on": "2027-02-01", "ends_on": "2027-02-01"},
        headers=attacker,
    )
    assert status == 429 and body["error"] == "too_many_requests"
    assert await api.audit_count() == audits
    dashboard = await api.client.get("/dashboard", cookies={"token": good}, headers=attacker)
    assert dashboard.status == 429 and dashboard.headers["Retry-After"] == "60"
    # Another address is not affected.
    status, body = await api.call("GET", "/me", good, headers=neighbour)
    assert status == 200 and body["tenant"] == "PE-ARE"
    # Retry-After counts down with the clock; once the window has passed, calls go through.
    clock.now += timedelta(seconds=45)
    response = await api.client.get("/api/admin/me", headers=attacker)
    assert response.status == 429 and response.headers["Retry-After"] == "15"
    clock.now += timedelta(seconds=15)
    status, body = await api.call("GET", "/me", good, headers=attacker)
    assert status == 200 and body["name"] == "tester"


async def test_the_dashboard_counts_refusals_too(api: Api) -> None:
    clock = Clock()
    api.ctx.clock = clock
    good = await api.token("national")
    attacker = _from("198.51.100.7")
    for _ in range(throttle.LIMIT):
        response = await api.client.get("/dashboard", cookies={"token": BAD}, headers=attacker)
        assert response.status == 401
    status, body = await api.call("GET", "/me", good, headers=attacker)
    assert status == 429 and body["error"] == "too_many_requests"


async def test_successes_do_not_count_and_do_not_clear(api: Api) -> None:
    clock = Clock()
    api.ctx.clock = clock
    good = await api.token("viewer")
    client = _from("192.0.2.9")
    for _ in range(throttle.LIMIT - 1):
        assert (await api.call("GET", "/me", BAD, headers=client))[0] == 401
        assert (await api.call("GET", "/me", good, headers=client))[0] == 200
    assert (await api.call("GET", "/me", BAD, headers=client))[0] == 401
    assert (await api.call("GET", "/me", good, headers=client))[0] == 429


def test_the_limiter_slides_and_stays_bounded() -> None:
    start = utcnow()
    limiter = FailureLimiter(limit=3, window=timedelta(seconds=10), max_clients=2)
    for second in (0, 4, 8):
        limiter.failed("a", start + timedelta(seconds=second))
    assert limiter.retry_after("a", start + timedelta(seconds=8)) == 2
    # At 10 s the first failure has left the window: two remain, so "a" may try again.
    assert limiter.retry_after("a", start + timedelta(seconds=10)) is None
    limiter.failed("b", start + timedelta(seconds=11))
    limiter.failed("c", start + timedelta(seconds=12))  # a third address: the stalest goes
    assert limiter.retry_after("c", start + timedelta(seconds=12)) is None
    assert len(limiter._failures) == 2 and "a" not in limiter._failures


def _request(peer: str, forwarded: str | None = None) -> web.Request:
    transport = SimpleNamespace(get_extra_info=lambda name, default=None: (peer, 5000))
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return make_mocked_request("GET", "/api/admin/me", headers=headers, transport=transport)


def test_only_a_local_proxy_may_name_the_client() -> None:
    assert client_address(_request("127.0.0.1", "10.0.0.1, 203.0.113.5")) == "203.0.113.5"
    assert client_address(_request("::1", "203.0.113.5")) == "203.0.113.5"
    assert client_address(_request("198.51.100.1", "203.0.113.5")) == "198.51.100.1"
    assert client_address(_request("127.0.0.1")) == "127.0.0.1"
