"""Keyset pagination: `limit` (default 50, max 500) and an opaque `cursor` of the last id."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import Select

from bot.admin_api.errors import invalid
from core.uow import UnitOfWork

AnySelect = Select[*tuple[Any, ...]]
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    """Which page a list call asks for."""

    limit: int
    after: int | None


def encode_cursor(last_id: int) -> str:
    """An opaque cursor pointing after `last_id`."""
    raw = json.dumps({"after": last_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        raise invalid("the cursor is not one this API gave") from None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**31:
        raise invalid("the cursor is not one this API gave")
    return after


def page_of(request: web.Request) -> Page:
    """Read `limit` and `cursor` from the query, refusing bad values with 422."""
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    # ASCII digits only: int() would also read " 5", "+5", "5_0" and "٥".
    limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else 0
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    cursor = request.query.get("cursor")
    return Page(limit, _decode(cursor) if cursor else None)


async def fetch(
    uow: UnitOfWork, query: AnySelect, id_column: Any, page: Page, *, newest_first: bool = False
) -> tuple[Sequence[Any], str | None]:
    """Rows of one page ordered by id, and the cursor of the next page (None at the end)."""
    if page.after is not None:
        query = query.where(id_column < page.after if newest_first else id_column > page.after)
    query = query.order_by(id_column.desc() if newest_first else id_column).limit(page.limit + 1)
    rows = list((await uow.session.execute(query)).all())
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return rows, encode_cursor(_id_of(rows[-1])) if more else None


def _id_of(row: Any) -> int:
    first = row[0]
    return int(first.id if hasattr(first, "id") else first)


def listing(items: list[dict[str, Any]], next_cursor: str | None = None) -> web.Response:
    """The answer of a list call."""
    return web.json_response({"items": items, "next_cursor": next_cursor})
