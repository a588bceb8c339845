"""Reading JSON bodies and query values, refusing bad ones with a reason (422) or 400."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from aiohttp import web

from bot.admin_api.errors import ApiError, invalid

MISSING: Any = object()


async def json_object(request: web.Request, *, allowed: frozenset[str]) -> Fields:
    """The body as a JSON object whose keys are all in `allowed`."""
    try:
        data = await request.json(loads=_loads)
    except ValueError as exc:
        raise ApiError(400, f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise invalid(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return Fields(data)


def _loads(text: str) -> Any:
    return json.loads(text) if text.strip() else {}


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
        value = self._get(name, required)
        if value is MISSING:
            return None
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or not all(isinstance(v, str) and v.strip() and len(v) <= max_length for v in value)
        ):
            raise invalid(
                f"'{name}' must be a list of at most {max_items} non-empty strings "
                f"of at most {max_length} characters",
                field=name,
            )
        return [v.strip() for v in value]

    def integers(self, name: str, *, low: int, high: int, max_items: int) -> list[int] | None:
        """A list of whole numbers from `low` to `high`."""
        value = self._get(name, False)
        if value is MISSING:
            return None
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or not all(
                isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value
            )
        ):
            raise invalid(
                f"'{name}' must be a list of at most {max_items} whole numbers "
                f"from {low} to {high}",
                field=name,
            )
        return list(value)


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
    if not raw.isdigit():
        raise invalid(f"'{name}' must be a positive whole number", field=name)
    return int(raw)


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
