"""A slot step: the free times of the chosen day (or the soonest), or a time in words."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot import i18n
from bot.conversation.state import ALTERNATIVES, OFFERED
from bot.conversation.turn import Turn
from bot.flows import catalogue
from bot.flows.placeholders import office_hours, render
from bot.flows.schema import Step
from bot.flows.steps import free_days
from bot.flows.steps.dates import day_checked
from bot.flows.steps.offers import choose_hint, match, offer, offered, tz
from bot.flows.steps.results import Accepted, AcceptResult, Back, EnterResult, Rejected
from bot.understanding import normalise
from bot.understanding.changes import OTHER_DAY_WORDS
from bot.understanding.dates import read_date
from core import availability
from core.office_hours import OfficeHours

MAX_SLOTS_SHOWN = 8
# At a list of times, words asking for another day altogether (normalised text).
# «otro día», and a refusal of every time shown («ninguno me sirve», «no me conviene»).
OTHER_DAY = re.compile(
    OTHER_DAY_WORDS.pattern
    + r"|^(?:no\s+)?(?:ninguno|ninguna)\b|\bno\s+me\s+(?:sirve|sirven|conviene|convienen|acomoda)\b"
    r"|^none\b|\bnone\s+of\s+(?:them|these)\b"
)
PERIODS = {
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(18)),
    "evening": (time(18), time(23, 59)),
}


async def enter_slot(step: Step, turn: Turn, prompt: str) -> EnterResult:
    """Offer free times: the alternatives to a slot just taken, the soonest, or the day's."""
    zone = tz(turn)
    alternatives = turn.state.pop(ALTERNATIVES, None)
    region, service = str(turn.value("region")), str(turn.value("service"))
    if alternatives:
        starts = [datetime.fromisoformat(s) for s in alternatives]
        if not starts:
            return Back(turn.t("slot.none_left"))
        prompt = turn.t("slot.taken_sorry")
    elif turn.answers.get("asap") or not turn.day():
        after = None
        if turn.day():
            after = datetime.combine(turn.day() or date.today(), time(0), tzinfo=zone)
            after = after.astimezone(UTC)
        found = await availability.first_free_slots(
            turn.uow,
            region,
            service,
            now=turn.now,
            count=5,
            after=after,
            offer=await catalogue.offer(turn.uow, region, service),
        )
        starts = [s.start for s in found]
        if not starts:
            return Back(turn.t("slot.none_left"))
    else:
        day = turn.day()
        assert day is not None
        result = await free_days.day_slots(turn, region, service, day)
        if not result.slots:
            return Back(turn.t("date.no_slots", day=i18n.format_day(day, turn.lang)))
        wanted = turn.answers.get("time")
        if wanted:
            for slot in result.slots:
                if slot.start.astimezone(zone).strftime("%H:%M") == wanted:
                    return Accepted(value=slot.start.isoformat())
        period = turn.answers.get("period")
        chosen = [s for s in result.slots if _in_period(s, zone, period)] or result.slots
        if wanted:
            prompt = await _not_free(turn, time.fromisoformat(wanted)) + "\n" + prompt
            target = datetime.combine(day, time.fromisoformat(wanted), tzinfo=zone)
            chosen = sorted(chosen, key=lambda s: abs(s.start - target))[:MAX_SLOTS_SHOWN]
            chosen.sort(key=lambda s: s.start)
        starts = [s.start for s in chosen[:MAX_SLOTS_SHOWN]]
    same_day = (
        not alternatives
        and turn.day() is not None
        and len({s.astimezone(zone).date() for s in starts}) == 1
    )
    options = [
        (
            s.isoformat(),
            i18n.format_time(s.astimezone(zone), turn.lang)
            if same_day
            else i18n.format_when(s, turn.lang, turn.timezone),
        )
        for s in starts
    ]
    turn.say(prompt, offer(turn, step, options))
    return None


def _in_period(slot: availability.Slot, zone: ZoneInfo, period: str | None) -> bool:
    """Whether the slot starts in the part of the day asked for (any, when none was)."""
    if period not in PERIODS:
        return True
    low, high = PERIODS[period]
    return low <= slot.start.astimezone(zone).time() < high


async def _not_free(turn: Turn, wanted: time) -> str:
    """Why the time asked for is not offered: outside the region's hours, or taken."""
    code = turn.value("region")
    tenant = await catalogue.tenant(turn.uow, str(code)) if code else None
    hours = OfficeHours.of(tenant) if tenant is not None else OfficeHours.national()
    said = i18n.format_time(wanted, turn.lang)
    if wanted < hours.opens or wanted >= hours.closes:
        return turn.t("slot.outside_hours", time=said, office_hours=await office_hours(turn))
    return turn.t("slot.time_not_free", time=said)


async def accept_slot(step: Step, turn: Turn) -> AcceptResult:
    """Read the time chosen: an option, an hour typed, a time in words, or a change of mind."""
    chosen = match(turn, offered(turn))
    text = turn.inbound.text.strip()
    bare_number = text.isascii() and text.isdigit() and len(text) <= 2
    if chosen is None and bare_number:
        # A number that is no option's position is an hour: «11» at «1. 11:00 a. m.».
        chosen = await _slot_at_named_time(turn, f"a las {text}")
    if chosen is None and not bare_number:
        changed = await _slot_change_of_mind(step, turn)
        if changed is not None:
            return changed
    if chosen is None and text:
        chosen = await _slot_at_named_time(turn)
    if chosen is None:
        return Rejected(turn.t("misunderstood") + " " + choose_hint(turn))
    return Accepted(value=chosen)


async def _slot_change_of_mind(step: Step, turn: Turn) -> AcceptResult | None:
    """At the list of times: «mejor otro día», «en la tarde mejor», «no, el jueves».

    Another day or part of the day offers that day's (or that part's) free times again; «otro
    día» goes back to the day question. None when the words are no such change.
    """
    text = turn.inbound.text
    if OTHER_DAY.search(normalise(text)):
        return Back(turn.t("slot.other_day"))
    zone = tz(turn)
    reading = read_date(text, turn.now.astimezone(zone), turn.lang, tz=zone)
    if reading.time is not None:
        return None  # a time: the list's own business (_slot_at_named_time)
    day = reading.date
    if day is None and reading.period is None:
        return None
    if day is not None and day != turn.day():
        checked = await day_checked(turn, day, None, reading.period)
        if not isinstance(checked, Accepted):
            return checked
        turn.answers["day"] = checked.value
    turn.answers.update(time=None, period=reading.period, asap=False)
    entered = await enter_slot(step, turn, await render(turn, turn.text(step.prompt)))
    return entered if entered is not None else Rejected("", understood=True)


async def _slot_at_named_time(turn: Turn, text: str | None = None) -> str | None:
    """A time the person wrote ("a las 3 de la tarde"), if it is free, shown or not."""
    zone = tz(turn)
    said = turn.inbound.text if text is None else text
    reading = read_date(said, turn.now.astimezone(zone), turn.lang, tz=zone)
    if reading.time is None:
        return None
    wanted = reading.time.strftime("%H:%M")
    for payload, _ in turn.state.get(OFFERED, []):
        start = datetime.fromisoformat(payload).astimezone(zone)
        if start.strftime("%H:%M") == wanted and reading.date in (None, start.date()):
            return str(payload)
    day = reading.date or turn.day()
    if day is None:
        return None
    result = await free_days.day_slots(
        turn, str(turn.value("region")), str(turn.value("service")), day
    )
    for slot in result.slots:
        if slot.start.astimezone(zone).strftime("%H:%M") == wanted:
            return slot.start.isoformat()
    return None
