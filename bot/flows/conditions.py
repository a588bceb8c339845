"""The allowlisted conditions a flow may test (`skip_if`, `next: [{if: ...}]`).

Their names are declared in bot/flows/allowlist.py; `CONDITIONS` files each function under
its own name and is checked against that declaration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy import func, select

from bot.conversation.turn import Turn
from bot.flows import allowlist, catalogue
from bot.language_wish import language_of_text
from core import booking, citizens, events
from core.errors import NotFound
from core.models import DocumentType, EventRegistration, RegistrationStatus

Condition = Callable[[Turn], Awaitable[bool]]


async def has_region(turn: Turn) -> bool:
    """The person's region is known (chosen before, deep link or location)."""
    return bool(turn.value("region"))


async def has_service(turn: Turn) -> bool:
    """A service was already chosen in this conversation (e.g. in the orientation flow)."""
    return bool(turn.answers.get("service"))


async def has_identity(turn: Turn) -> bool:
    """The person was identified earlier, or gave document and name in this conversation."""
    if turn.memory.get("citizen_id") and turn.memory.get("name"):
        return True
    return all(turn.answers.get(key) for key in ("doc_type", "document", "name"))


async def has_document(turn: Turn) -> bool:
    """The person's document is known: identified earlier, or typed in this conversation.

    A document typed in one flow (looking up «mis citas») serves the next (a booking) too.
    """
    if await has_identity(turn):
        return True
    return all(turn.answers.get(key) for key in ("doc_type", "document"))


async def has_description(turn: Turn) -> bool:
    """The person already described the case in this conversation."""
    return bool(turn.answers.get("description"))


async def has_consent(turn: Turn) -> bool:
    """The person accepted the privacy notice."""
    return bool(turn.memory.get("consent"))


async def needs_language_choice(turn: Turn) -> bool:
    """The channel (or a first message plainly in English or Quechua: «hello») says the
    person's language is not Spanish, and none was chosen yet."""
    if turn.memory.get("language"):
        return False
    hint = (turn.inbound.lang_hint or "").split("-")[0].lower()
    if not hint and not turn.inbound.payload:
        hint = language_of_text(turn.inbound.text) or ""
    return hint not in ("", "es")


async def service_asks_description(turn: Turn) -> bool:
    """The chosen service asks for a short description of the case."""
    code = turn.value("service")
    if not code:
        return False
    try:
        return (await catalogue.service(turn.uow, str(code))).asks_description
    except NotFound:
        return False


async def is_company(turn: Turn) -> bool:
    """The person identifies with a RUC (a company and its representative)."""
    return bool(turn.value("doc_type") == DocumentType.RUC)


async def own_citizen(turn: Turn) -> int | None:
    """The identified person, if this channel address is theirs."""
    citizen_id = turn.memory.get("citizen_id")
    inbound = turn.inbound
    if citizen_id and await citizens.owns_address(
        turn.uow, int(citizen_id), inbound.channel, inbound.user_ref
    ):
        return int(citizen_id)
    return None


async def has_upcoming_appointments(turn: Turn) -> bool:
    """The identified person (writing from their own address) has appointments ahead."""
    citizen_id = await own_citizen(turn)
    if citizen_id is None:
        return False
    return bool(await booking.appointments_of(turn.uow, int(citizen_id), now=turn.now))


async def has_events(turn: Turn) -> bool:
    """The person's region has upcoming training events."""
    region = turn.value("region")
    if not region:
        return False
    try:
        return bool(await events.upcoming_events(turn.uow, str(region), now=turn.now))
    except NotFound:
        return False


async def has_registrations(turn: Turn) -> bool:
    """The identified person (from their own address) holds event or waitlist places."""
    citizen_id = await own_citizen(turn)
    if citizen_id is None:
        return False
    count = await turn.uow.session.scalar(
        select(func.count())
        .select_from(EventRegistration)
        .where(
            EventRegistration.citizen_id == int(citizen_id),
            EventRegistration.status != RegistrationStatus.CANCELLED,
        )
    )
    return bool(count)


CONDITIONS: dict[str, Condition] = allowlist.bind(
    "condition",
    allowlist.CONDITIONS,
    [
        has_region,
        has_service,
        has_identity,
        has_document,
        has_description,
        has_consent,
        needs_language_choice,
        service_asks_description,
        is_company,
        has_upcoming_appointments,
        has_events,
        has_registrations,
    ],
)


async def facts(turn: Turn, names: Iterable[str]) -> dict[str, bool]:
    """Evaluate the named conditions for this turn."""
    return {name: await CONDITIONS[name](turn) for name in set(names)}
