"""A day's free times as one turn sees them: read once per turn however many steps ask.

Accepting «mañana a las 10» checks the day has free times, then the time step shows them: the
same question twice in one transaction, where nothing booked in between (a booking re-checks
under its own lock, core/booking.py).
"""

from __future__ import annotations

from datetime import date

from bot.conversation.turn import Turn
from bot.flows import catalogue
from core import availability
from core.availability import DaySlots


async def day_slots(turn: Turn, region: str, service: str, day: date) -> DaySlots:
    """`core.availability.day_slots` for this turn, remembered until the turn ends."""
    key = ("day_slots", region, service, day)
    found = turn.memo.get(key)
    if found is None:
        offer = await catalogue.offer(turn.uow, region, service)
        found = turn.memo[key] = await availability.day_slots(
            turn.uow, region, service, day, now=turn.now, offer=offer
        )
    assert isinstance(found, DaySlots)
    return found
