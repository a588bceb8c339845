"""Values for the {placeholders} a flow's texts may use (the list is in docs/flows.md)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot import i18n
from bot.conversation.turn import Turn
from bot.flows.schema import PLACEHOLDERS
from core import catalog
from core.documents import mask_document
from core.errors import NotFound
from core.models import Service
from core.office_hours import OfficeHours

Resolver = Callable[[Turn], Awaitable[str]]


async def _service(turn: Turn) -> Service | None:
    code = turn.value("service")
    if not code:
        return None
    try:
        return await catalog.get_service(turn.uow, str(code))
    except NotFound:
        return None


async def _name(turn: Turn) -> str:
    return str(turn.value("name") or "")


async def _first_name(turn: Turn) -> str:
    return str(turn.value("name") or "").split(" ")[0]


async def _region_name(turn: Turn) -> str:
    code = turn.value("region")
    if not code:
        return ""
    try:
        return (await catalog.get_tenant(turn.uow, str(code))).name
    except NotFound:
        return str(code)


async def _service_name(turn: Turn) -> str:
    service = await _service(turn)
    return turn.text(service.names) if service else ""


async def _service_description(turn: Turn) -> str:
    service = await _service(turn)
    return turn.text(service.descriptions) if service else ""


async def _modality(turn: Turn) -> str:
    service = await _service(turn)
    if service is None:
        return ""
    return turn.t(f"modality.{service.modality.value}", region=await _region_name(turn))


async def _day(turn: Turn) -> str:
    day = turn.day()
    return i18n.format_day(day, turn.lang) if day else ""


async def _when(turn: Turn) -> str:
    slot = turn.slot()
    return i18n.format_when(slot, turn.lang, turn.settings.timezone) if slot else ""


async def _day_phrase(turn: Turn) -> str:
    day = turn.day()
    if day and not turn.answers.get("asap"):
        return turn.t("slot.for_day", day=i18n.format_day(day, turn.lang))
    return turn.t("slot.soonest")


async def _document(turn: Turn) -> str:
    number = turn.value("document")
    return mask_document(str(number)) if number else ""


async def _doc_type(turn: Turn) -> str:
    kind = turn.value("doc_type")
    return turn.t(f"doc_type.{kind}") if kind else ""


async def office_hours(turn: Turn) -> str:
    """The region's office hours in words («de lunes a viernes, de 8:30 a. m. a 5:00 p. m.»)."""
    code = turn.value("region")
    try:
        tenant = await catalog.get_tenant(turn.uow, str(code)) if code else None
    except NotFound:
        tenant = None
    hours = OfficeHours.of(tenant) if tenant else OfficeHours.national()
    return turn.t(
        "office_hours.text",
        days=i18n.format_weekdays(hours.weekdays, turn.lang),
        opens=i18n.format_time(hours.opens, turn.lang),
        closes=i18n.format_time(hours.closes, turn.lang),
    )


async def _description(turn: Turn) -> str:
    return str(turn.answers.get("description") or "")


RESOLVERS: dict[str, Resolver] = {
    "name": _name,
    "first_name": _first_name,
    "region_name": _region_name,
    "service_name": _service_name,
    "service_description": _service_description,
    "modality": _modality,
    "day": _day,
    "day_phrase": _day_phrase,
    "when": _when,
    "document": _document,
    "doc_type": _doc_type,
    "description": _description,
    "office_hours": office_hours,
}
# Set by actions during the turn (e.g. the booked specialist's first name).
ACTION_VALUES = frozenset(
    {
        "specialist",
        "appointment_when",
        "event_title",
        "event_when",
        "position",
        "reason",
        "answer_when",
    }
)
assert frozenset(RESOLVERS) | ACTION_VALUES == PLACEHOLDERS, "docs/flows.md lists them all"


# `{name}` or `{name|fallback}`: the fallback is written when the value is empty.
_SPOT = re.compile(r"\{([a-z_]+)(?:\|([^{}]*))?\}")


async def render(turn: Turn, text: str) -> str:
    """A flow text with its placeholders filled for this turn.

    An empty value takes the fallback written after `|` (`{first_name|amigo(a)}`); when that
    is empty too, the placeholder goes with the space before it, so «Hola {first_name},» reads
    «Hola,» for a citizen whose name is not known, never «Hola ,».
    """
    spots = list(_SPOT.finditer(text))
    if not spots:
        return text
    values: dict[str, str] = {}
    for spot in spots:
        name = spot.group(1)
        if name in values:
            continue
        if name in turn.extra_vars:
            values[name] = turn.extra_vars[name]
        elif name in RESOLVERS:
            values[name] = await RESOLVERS[name](turn)
    return fill(text, values)


def fill(text: str, values: dict[str, str]) -> str:
    """Put values (or the written fallbacks) into a text's placeholders; unknown ones stay."""
    pieces: list[str] = []
    last = 0
    for spot in _SPOT.finditer(text):
        name, fallback = spot.group(1), spot.group(2)
        if name not in values:
            pieces.append(text[last : spot.end()])
            last = spot.end()
            continue
        value = values[name].strip() or (fallback or "").strip()
        before = text[last : spot.start()]
        after_start = spot.end()
        if not value:
            if before.endswith(" "):
                before = before[:-1]
            elif (not before and not pieces) or before.endswith("\n"):
                # At the start of a line: drop the punctuation and space that followed.
                rest = re.match(r"[,;:]?[ ]*", text[after_start:])
                after_start += rest.end() if rest else 0
        pieces.append(before + value)
        last = after_start
    pieces.append(text[last:])
    return "".join(pieces)
