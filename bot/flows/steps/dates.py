"""A date step: the next free days offered, or a day read from words («el lunes»)."""

from __future__ import annotations

from datetime import date, timedelta

from bot import i18n
from bot.conversation.state import OFFERED
from bot.conversation.turn import Turn
from bot.flows import catalogue
from bot.flows.schema import Step
from bot.flows.steps import free_days
from bot.flows.steps.offers import match, offer, offered, tz
from bot.flows.steps.results import Accepted, AcceptResult, Back, EnterResult, Rejected
from bot.understanding.dates import read_date
from core import availability
from core.errors import ServiceNotOffered
from core.models import Appointment

MAX_DAYS_SHOWN = 5
# A date over half a year ahead whose previous year's day fell in the last two months was meant
# as that past day.
JUST_PAST_AHEAD_DAYS = 183
JUST_PAST_DAYS = 62


async def enter_date(step: Step, turn: Turn, prompt: str) -> EnterResult:
    """Ask for the day, offering the next free days of the service in the region."""
    options: list[tuple[str, str]] = []
    region, service = turn.value("region"), turn.value("service")
    if region and service:
        try:
            days = await availability.next_free_days(
                turn.uow,
                str(region),
                str(service),
                now=turn.now,
                count=MAX_DAYS_SHOWN,
                offer=await catalogue.offer(turn.uow, str(region), str(service)),
            )
        except ServiceNotOffered:
            region_name = (await catalogue.tenant(turn.uow, str(region))).name
            return Back(turn.t("refusal.service_not_offered", region=region_name), to="service")
        options = [(d.isoformat(), i18n.format_day(d, turn.lang)) for d, _ in days]
        if not options:
            # The service has no time here: its question, not the region's (which, asked
            # again after a service taken from free words, looped on the same answer).
            region_name = (await catalogue.tenant(turn.uow, str(region))).name
            return Back(turn.t("slot.none_in_region", region=region_name), to="service")
        options.append(("asap", turn.t("date.asap")))
    turn.say(prompt, offer(turn, step, options))
    return None


async def accept_date(turn: Turn) -> AcceptResult:
    """Read the day chosen or written (with a time, a part of the day, or «lo antes posible»)."""
    zone = tz(turn)
    # Only a payload or an option number picks an offered day; words are read as a date
    # (fuzzy matching "el lunes" against "lunes 7 de diciembre" labels would guess).
    chosen = turn.inbound.payload
    text = turn.inbound.text.strip().rstrip(".")
    if chosen is None and text.isdigit() and len(text) <= 2 and turn.state.get(OFFERED):
        chosen = match(turn, offered(turn))
    if chosen == "asap":
        return Accepted(value=None, extra={"asap": True, "time": None, "period": None})
    if chosen:
        try:
            return await day_checked(turn, date.fromisoformat(chosen), None, None)
        except ValueError:
            pass
    reading = read_date(
        turn.inbound.text,
        turn.now.astimezone(zone),
        turn.lang,
        tz=zone,
        assume_day_for_time=True,
        anchor=await _day_being_changed(turn),
    )
    if reading.asap and reading.date is None:
        return Accepted(value=None, extra={"asap": True, "time": None, "period": reading.period})
    if reading.date is None:
        return Rejected(turn.t("date.not_understood") + " " + turn.t("hint.date"))
    if _just_past(reading.date, turn.now.astimezone(zone).date()):
        return Rejected(turn.t("date.past") + " " + turn.t("hint.date"), understood=True)
    time_text = reading.time.strftime("%H:%M") if reading.time else None
    result = await day_checked(turn, reading.date, time_text, reading.period)
    if isinstance(result, Accepted) and reading.asap:
        result.extra["asap"] = True
    return result


async def _day_being_changed(turn: Turn) -> date | None:
    """The local day of the appointment being rescheduled, or of the time chosen in a booking
    whose date or time is being changed: «el mismo día» and a bare «a las 11» refer to it."""
    chosen = turn.answers.get("appointment")
    if not chosen or not str(chosen).isdigit():
        day = turn.answers.get("day")
        if turn.answers.get("slot") and isinstance(day, str):
            try:
                return date.fromisoformat(day)
            except ValueError:
                return None
        return None
    appointment = await turn.uow.session.get(Appointment, int(str(chosen)))
    return appointment.start_utc.astimezone(tz(turn)).date() if appointment else None


def _just_past(day: date, today: date) -> bool:
    """A date read as next year's that the person meant as this year's, just gone.

    «el 2 de diciembre» on 4 December reads as next year's (a date without a year is its next
    occurrence); nobody books a year ahead, so it is called past instead of too far.
    """
    if (day - today).days <= JUST_PAST_AHEAD_DAYS:
        return False
    try:
        earlier = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return False
    return today - timedelta(days=JUST_PAST_DAYS) <= earlier < today


async def day_checked(turn: Turn, day: date, at: str | None, period: str | None) -> AcceptResult:
    """A day the person may book: not past, and with free times when the service is known."""
    today = turn.now.astimezone(tz(turn)).date()
    if day < today:
        return Rejected(turn.t("date.past") + " " + turn.t("hint.date"), understood=True)
    region, service = turn.value("region"), turn.value("service")
    if region and service:
        result = await free_days.day_slots(turn, str(region), str(service), day)
        if not result.slots:
            label = i18n.format_day(day, turn.lang)
            if result.reason == "holiday":
                message = turn.t("refusal.holiday", name=result.detail, day=label)
            elif result.reason == "too_far":
                message = turn.t("refusal.too_far", day=label)
            elif result.reason in ("closed", "too_soon", "nobody_works"):
                message = turn.t(f"refusal.{result.reason}", day=label)
            else:
                message = turn.t("date.no_slots", day=label)
            return Rejected(message, understood=True)
    return Accepted(value=day.isoformat(), extra={"time": at, "period": period, "asap": False})
