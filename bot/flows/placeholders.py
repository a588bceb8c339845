"""Values for the {placeholders} a flow's texts may use (the list is in docs/flows.md).

Each resolver is named as its placeholder; `RESOLVERS` is checked against the allowlist
(bot/flows/allowlist.py), whose other placeholders are set by actions during the turn.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot import i18n
from bot.conversation.turn import Turn
from bot.flows import catalogue
from bot.flows.allowlist import PLACEHOLDER, RESOLVED_PLACEHOLDERS, bind
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
        return await catalogue.service(turn.uow, str(code))
    except NotFound:
        return None


async def name(turn: Turn) -> str:
    """The person's name."""
    return str(turn.value("name") or "")


async def first_name(turn: Turn) -> str:
    """The person's first name."""
    return str(turn.value("name") or "").split(" ")[0]


async def region_name(turn: Turn) -> str:
    """The region's name (its code when unknown)."""
    code = turn.value("region")
    if not code:
        return ""
    try:
        return (await catalogue.tenant(turn.uow, str(code))).name
    except NotFound:
        return str(code)


async def service_name(turn: Turn) -> str:
    """The chosen service's name in the person's language."""
    service = await _service(turn)
    return turn.text(service.names) if service else ""


async def service_description(turn: Turn) -> str:
    """The chosen service's description in the person's language."""
    service = await _service(turn)
    return turn.text(service.descriptions) if service else ""


async def modality(turn: Turn) -> str:
    """How the chosen service is given (in person, by video, ...)."""
    service = await _service(turn)
    if service is None:
        return ""
    return turn.t(f"modality.{service.modality.value}", region=await region_name(turn))


async def day(turn: Turn) -> str:
    """The chosen day in words."""
    day = turn.day()
    return i18n.format_day(day, turn.lang) if day else ""


async def when(turn: Turn) -> str:
    """The chosen slot's day and time in words."""
    slot = turn.slot()
    return i18n.format_when(slot, turn.lang, turn.timezone) if slot else ""


async def day_phrase(turn: Turn) -> str:
    """«for that day» or «the soonest», as the person asked."""
    day = turn.day()
    if day and not turn.answers.get("asap"):
        return turn.t("slot.for_day", day=i18n.format_day(day, turn.lang))
    return turn.t("slot.soonest")


async def document(turn: Turn) -> str:
    """The document number, masked."""
    number = turn.value("document")
    return mask_document(str(number)) if number else ""


async def doc_type(turn: Turn) -> str:
    """The document type in words."""
    kind = turn.value("doc_type")
    return turn.t(f"doc_type.{kind}") if kind else ""


async def office_hours(turn: Turn) -> str:
    """The region's office hours in words («de lunes a viernes, de 8:30 a. m. a 5:00 p. m.»)."""
    code = turn.value("region")
    try:
        tenant = await catalogue.tenant(turn.uow, str(code)) if code else None
    except NotFound:
        tenant = None
    hours = OfficeHours.of(tenant) if tenant else OfficeHours.national()
    return turn.t(
        "office_hours.text",
        days=i18n.format_weekdays(hours.weekdays, turn.lang),
        opens=i18n.format_time(hours.opens, turn.lang),
        closes=i18n.format_time(hours.closes, turn.lang),
    )


async def description(turn: Turn) -> str:
    """The case as the person described it."""
    return str(turn.answers.get("description") or "")


RESOLVERS: dict[str, Resolver] = bind(
    "placeholder",
    RESOLVED_PLACEHOLDERS,
    [
        name,
        first_name,
        region_name,
        service_name,
        service_description,
        modality,
        day,
        day_phrase,
        when,
        document,
        doc_type,
        description,
        office_hours,
    ],
)


async def render(turn: Turn, text: str) -> str:
    """A flow text with its placeholders filled for this turn.

    An empty value takes the fallback written after `|` (`{first_name|amigo(a)}`); when that
    is empty too, the placeholder goes with the space before it, so «Hola {first_name},» reads
    «Hola,» for a citizen whose name is not known, never «Hola ,».
    """
    spots = list(PLACEHOLDER.finditer(text))
    if not spots:
        return text
    values: dict[str, str] = {}
    for spot in spots:
        wanted = spot["name"]
        if wanted in values:
            continue
        if wanted in turn.extra_vars:
            values[wanted] = turn.extra_vars[wanted]
        elif wanted in RESOLVERS:
            values[wanted] = await RESOLVERS[wanted](turn)
    return fill(text, values)


def fill(text: str, values: dict[str, str]) -> str:
    """Put values (or the written fallbacks) into a text's placeholders; unknown ones stay."""
    pieces: list[str] = []
    last = 0
    for spot in PLACEHOLDER.finditer(text):
        wanted, fallback = spot["name"], spot["fallback"]
        if wanted not in values:
            pieces.append(text[last : spot.end()])
            last = spot.end()
            continue
        value = values[wanted].strip() or (fallback or "").strip()
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
