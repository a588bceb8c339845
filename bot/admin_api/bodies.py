"""Reading JSON bodies and query values, refusing bad ones with a reason (422) or 400.

A body is read within budgets before any handler sees it (docs/admin-api.md, "Limits"):
1 MiB (the server's `client_max_size`, answered 413), nesting depth, number of values,
digits of an integer, and no NUL character (PostgreSQL text cannot hold one). Large bodies
are parsed in a worker thread so that the event loop keeps answering webhooks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from aiohttp import web

from bot.admin_api.errors import ApiError, invalid

MISSING: Any = object()
MAX_DEPTH = 32
MAX_VALUES = 100_000
MAX_INT_DIGITS = 20
# Bodies above this size are parsed off the event loop.
THREAD_FROM = 64 * 1024
# A path or query identifier: ASCII digits, at most this many, and at most MAX_ID (ids are
# 32-bit integer columns: PostgreSQL refuses a larger parameter outright).
MAX_ID_DIGITS = 10
MAX_ID = 2**31 - 1


class _OverBudget(Exception):
    """A body beyond one of the budgets; the message names the limit."""


async def json_object(request: web.Request, *, allowed: frozenset[str]) -> Fields:
    """The body as a JSON object whose keys are all in `allowed`."""
    raw = await request.read()
    data = await asyncio.to_thread(read_json, raw) if len(raw) > THREAD_FROM else read_json(raw)
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:10])
        raise invalid(f"unknown field(s) {shown}; allowed: {', '.join(sorted(allowed))}")
    return Fields(data)


def read_json(raw: bytes) -> Any:
    """Parse a JSON body within the budgets, or ApiError(400) naming what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text, parse_int=_integer, parse_constant=_constant)
        _within_budget(data)
    except _OverBudget as exc:
        raise ApiError(400, str(exc)) from None
    except RecursionError:
        raise ApiError(400, f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise ApiError(400, f"the body is not valid JSON ({exc})") from None
    return data


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _OverBudget(f"the body has an integer of more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _constant(name: str) -> Any:
    raise _OverBudget(f"the body has {name}, which is not JSON")


def _within_budget(data: Any) -> None:
    """Walk the parsed body (without recursion) checking depth, size and NUL characters."""
    todo: list[tuple[Any, int]] = [(data, 1)]
    seen = 0
    while todo:
        value, depth = todo.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise _OverBudget(f"the body has more than {MAX_VALUES} values")
        if isinstance(value, str):
            if "\x00" in value:
                raise _OverBudget("the body has a NUL character in a text")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise _OverBudget(f"the body is nested deeper than {MAX_DEPTH} levels")
            items = list(value.items()) if isinstance(value, dict) else value
            for item in items:
                if isinstance(item, tuple):
                    todo.append((item[0], depth + 1))
                    todo.append((item[1], depth + 1))
                else:
                    todo.append((item, depth + 1))


def ascii_id(raw: str | None) -> int | None:
    """A positive id written in ASCII digits up to MAX_ID, else None («³», «٣», «３» are not)."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > MAX_ID_DIGITS:
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def path_id(request: web.Request, what: str, key: str = "id") -> int:
    """The numeric id of the path, or a 404 naming what was looked for."""
    raw = request.match_info[key]
    found = ascii_id(raw)
    if found is None:
        raise ApiError(404, f"no {what} {raw[:40]!r}")
    return found


class Fields:
    """Typed access to the fields of a JSON object; each refusal names the field."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None:
            if required:
                raise invalid(f"'{name}' is required", field=name)
            return MISSING
        return value

    def _list(
        self, name: str, required: bool, max_items: int, valid: Callable[[Any], bool], of: str
    ) -> list[Any] | None:
        """The list `name` (None when absent): at most `max_items` items, each `valid`, or 422."""
        value = self._get(name, required)
        if value is MISSING:
            return None
        if not isinstance(value, list) or len(value) > max_items or not all(map(valid, value)):
            raise invalid(f"'{name}' must be a list of at most {max_items} {of}", field=name)
        return value

    def text(self, name: str, *, required: bool = True, max_length: int = 200) -> str | None:
        """A non-empty string of at most `max_length` characters."""
        value = self._get(name, required)
        if value is MISSING:
            return None
        if not isinstance(value, str) or not value.strip():
            raise invalid(f"'{name}' must be a non-empty string", field=name)
        if len(value) > max_length:
            raise invalid(f"'{name}' is longer than {max_length} characters", field=name)
        return value.strip()

    def integer(self, name: str, *, low: int, high: int, required: bool = True) -> int | None:
        """A whole number from `low` to `high`."""
        value = self._get(name, required)
        if value is MISSING:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise invalid(f"'{name}' must be a whole number from {low} to {high}", field=name)
        return value

    def boolean(self, name: str, *, default: bool = False) -> bool:
        """true or false."""
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise invalid(f"'{name}' must be true or false", field=name)
        return value

    def day(self, name: str, *, required: bool = True) -> date | None:
        """A date YYYY-MM-DD."""
        value = self._get(name, required)
        if value is MISSING:
            return None
        return parse_day(value, name)

    def moment(self, name: str) -> datetime:
        """An ISO 8601 date and time with its offset."""
        value = self._get(name, True)
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise invalid(
                f"'{name}' must be ISO 8601 with an offset, e.g. 2027-03-15T10:00:00-05:00",
                field=name,
            )
        return parsed

    def strings(
        self, name: str, *, max_items: int, max_length: int = 200, required: bool = True
    ) -> list[str] | None:
        """A list of non-empty strings."""
        value = self._list(
            name,
            required,
            max_items,
            lambda v: isinstance(v, str) and bool(v.strip()) and len(v) <= max_length,
            f"non-empty strings of at most {max_length} characters",
        )
        return None if value is None else [v.strip() for v in value]

    def integers(self, name: str, *, low: int, high: int, max_items: int) -> list[int] | None:
        """A list of whole numbers from `low` to `high`."""
        value = self._list(
            name,
            False,
            max_items,
            lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high,
            f"whole numbers from {low} to {high}",
        )
        return None if value is None else list(value)


def parse_day(value: Any, name: str) -> date:
    """A YYYY-MM-DD date or a 422 naming the field."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise invalid(f"'{name}' must be a date YYYY-MM-DD", field=name)


def query_day(request: web.Request, name: str) -> date | None:
    """An optional YYYY-MM-DD query value."""
    raw = request.query.get(name)
    return None if raw is None or raw == "" else parse_day(raw, name)


def query_int(request: web.Request, name: str) -> int | None:
    """An optional positive whole-number query value."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    found = ascii_id(raw)
    if found is None:
        raise invalid(
            f"'{name}' must be a whole number from 0 to {MAX_ID} (digits 0-9)", field=name
        )
    return found


def query_choice(request: web.Request, name: str, choices: tuple[str, ...]) -> str | None:
    """An optional query value from a fixed set."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise invalid(f"'{name}' must be one of {', '.join(choices)}", field=name)
    return raw


def iso(moment: datetime | None) -> str | None:
    """A datetime as ISO 8601 with offset (UTC), or None."""
    return moment.isoformat() if moment is not None else None
