"""The data a choice step may list instead of static options (`source:` in a flow).

Each source is named as in the allowlist (bot/flows/allowlist.py) and returns the options
as (payload, label) pairs in the person's language; an empty list means nothing to offer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from bot import i18n
from bot.conversation.turn import Turn
from bot.flows import allowlist, catalogue
from bot.flows.conditions import own_citizen
from bot.understanding import Choice, ServiceEntry, normalise, places
from core import booking
from core.errors import NotFound
from core.events import upcoming_events
from core.models import (
    DocumentType,
    EventRegistration,
    GroupEvent,
    RegistrationStatus,
    Service,
)

Source = Callable[[Turn], Awaitable[list[tuple[str, str]]]]


async def bookable_services(turn: Turn) -> list[Service]:
    """The services offered in the person's region (every bookable one when it is unknown)."""
    region = turn.value("region")
    if region:
        try:
            return await catalogue.offered_services(turn.uow, str(region))
        except NotFound:
            pass
    return await catalogue.bookable_services(turn.uow)


async def hearing_context(turn: Turn) -> tuple[list[ServiceEntry], list[Choice]]:
    """What a free message is heard against: the bookable services and the active regions."""
    found = await bookable_services(turn)
    entries = [ServiceEntry(s.code, tuple(s.names.values()), tuple(s.keywords)) for s in found]
    active = [
        Choice(code, (name, code, *places.REGION_OTHER_NAMES.get(code, ())))
        for code, name in await regions(turn)
    ]
    return entries, active


async def services(turn: Turn) -> list[tuple[str, str]]:
    """The popular services of the region (else its first five)."""
    found = await bookable_services(turn)
    popular = [s for s in found if s.popular_rank is not None] or found[:5]
    return [(s.code, turn.text(s.names)) for s in popular]


async def regions(turn: Turn) -> list[tuple[str, str]]:
    """The active regions, alphabetically."""
    tenants = await catalogue.active_regions(turn.uow)
    return sorted(((t.code, t.name) for t in tenants), key=lambda o: normalise(o[1]))


async def document_types(turn: Turn) -> list[tuple[str, str]]:
    """The kinds of identity document."""
    return [(d.value, turn.t(f"doc_type.{d.value}")) for d in DocumentType]


async def languages(turn: Turn) -> list[tuple[str, str]]:
    """The languages the bot speaks, each in its own name."""
    return [(code, i18n.language_name(code)) for code in i18n.languages()]


async def events(turn: Turn) -> list[tuple[str, str]]:
    """The region's upcoming training events, with their day and time."""
    region = turn.value("region")
    if not region:
        return []
    upcoming = await upcoming_events(turn.uow, str(region), now=turn.now)
    lang, zone = turn.lang, turn.timezone
    return [
        (str(e.id), f"{e.title} — {i18n.format_when(e.start_utc, lang, zone)}") for e in upcoming
    ]


async def my_appointments(turn: Turn) -> list[tuple[str, str]]:
    """The identified person's appointments ahead (only from their own address)."""
    citizen_id = await own_citizen(turn)
    if citizen_id is None:
        return []
    mine = await booking.appointments_of(turn.uow, citizen_id, now=turn.now)
    names = {s.id: turn.text(s.names) for s in await turn.uow.session.scalars(select(Service))}
    lang, zone = turn.lang, turn.timezone
    return [
        (str(a.id), f"{names.get(a.service_id, '')} — {i18n.format_when(a.start_utc, lang, zone)}")
        for a in mine
    ]


async def my_registrations(turn: Turn) -> list[tuple[str, str]]:
    """The events ahead where the identified person holds a place or a waitlist place."""
    citizen_id = await own_citizen(turn)
    if citizen_id is None:
        return []
    rows = await turn.uow.session.execute(
        select(GroupEvent)
        .join(EventRegistration, EventRegistration.event_id == GroupEvent.id)
        .where(
            EventRegistration.citizen_id == citizen_id,
            EventRegistration.status != RegistrationStatus.CANCELLED,
            GroupEvent.start_utc > turn.now,
        )
        .order_by(GroupEvent.start_utc)
    )
    lang, zone = turn.lang, turn.timezone
    return [
        (str(e.id), f"{e.title} — {i18n.format_when(e.start_utc, lang, zone)}")
        for e in rows.scalars()
    ]


SOURCES: dict[str, Source] = allowlist.bind(
    "source",
    allowlist.SOURCES,
    [services, regions, document_types, languages, events, my_appointments, my_registrations],
)


async def source_options(turn: Turn, source: str) -> list[tuple[str, str]]:
    """The options of a data source for this turn."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source}")
    return await SOURCES[source](turn)
