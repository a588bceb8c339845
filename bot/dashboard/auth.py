"""Sign-in for the dashboard: an admin token pasted once, kept in an HttpOnly cookie.

The token is checked like every admin API call (`bot.admin_api.auth`: the same lookup,
the same refusal counting and 429 per client address). The cookie holds the token itself:
HttpOnly (no script reads it), SameSite=Strict (no other site sends it), limited to
/dashboard, Secure when the public URL is https, gone when the browser session ends.
A bearer header works too (scripts, and the admin API's own tests).
"""

from __future__ import annotations

from aiohttp import web

from bot.admin_api.auth import authenticate, bearer, throttled, touch_after_success
from bot.admin_api.context import context
from core.access import Principal

COOKIE = "token"
PATH = "/dashboard"


def set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """Keep the token for this browser session."""
    secure = context(request).settings.public_url.startswith("https://")
    response.set_cookie(COOKIE, token, path=PATH, httponly=True, samesite="Strict", secure=secure)


def clear_cookie(response: web.StreamResponse) -> None:
    """Forget the token."""
    response.del_cookie(COOKIE, path=PATH)


async def signed_in(request: web.Request) -> Principal:
    """The caller of a dashboard request; raises Unauthorized (and counts it) otherwise."""
    found = await authenticate(request, bearer(request, cookie=True))
    await touch_after_success(request, found)
    return found


def wait_seconds(request: web.Request) -> int | None:
    """Seconds this address must wait after too many refused tokens, else None."""
    return throttled(request)
