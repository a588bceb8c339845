"""Refuse path and query values with control characters before any handler or query runs.

A NUL cannot be stored or compared by PostgreSQL (a text parameter holding one fails the
whole statement), and no code, id, date or filter of this API contains a control character,
so such a request is answered 400 naming the place, without echoing the value.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.admin_api.errors import Handler, error_response

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_QUERY_VALUE = 1000


def _problem(request: web.Request) -> str | None:
    for key, value in request.match_info.items():
        if CONTROL.search(value):
            return f"the path has a control character in '{key}'"
    for key, value in request.query.items():
        if CONTROL.search(key) or CONTROL.search(value):
            return f"the query has a control character in '{CONTROL.sub('?', key)[:40]}'"
        if len(value) > MAX_QUERY_VALUE:
            return f"the query value of '{key[:40]}' is longer than {MAX_QUERY_VALUE} characters"
    return None


@web.middleware
async def input_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 400 to a path or query value holding a control character."""
    problem = _problem(request)
    if problem is not None:
        return error_response(400, problem)
    return await handler(request)
