"""The library of step kinds: how each asks (`enter`) and what it accepts (`accept`).

`enter` renders the step's prompt and remembers the options shown, so that "2" means
the second option the person saw. It may also settle the step at once (`Accepted`),
e.g. a slot step when the person already named a free time. `accept` reads the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import hearing, i18n, needs, places
from bot.conversation.turn import Turn
from bot.flows.machine import option_trigger
from bot.flows.placeholders import office_hours, render
from bot.flows.schema import Step
from bot.messages import Option
from bot.understand import (
    Choice,
    ServiceEntry,
    match_option,
    normalise,
    search_services,
    yes_no,
)
from bot.understand_dates import read_date
from core import availability, booking, catalog, citizens, events
from core.documents import normalise_document, normalise_phone
from core.errors import InvalidDocument, InvalidPhone, NotFound, ServiceNotOffered
from core.models import (
    Appointment,
    DocumentType,
    EventRegistration,
    GroupEvent,
    RegistrationStatus,
    Service,
    ServiceKind,
    Tenant,
)
from core.names import looks_like_name
from core.office_hours import OfficeHours

MAX_SLOTS_SHOWN = 8
MAX_SERVICES_OFFERED = 3
# Channels that show options as buttons, not numbered lines (bot/channels/telegram.py).
BUTTON_CHANNELS = frozenset({"telegram"})
OTHER_TOPIC = "other"  # the «otro tema» option beside the services offered
# What the needs model's intents mean at a list with these option ids (the main menu).
INTENT_OPTIONS = {
    "book": "book",
    "my_appointments": "mine",
    "cancel": "mine",
    "reschedule": "mine",
    "events": "events",
    "human": "human",
    "delete_data": "delete",
    "help": "help",
}
# At a list of times, words asking for another day altogether (normalised text).
OTHER_DAY = re.compile(r"\b(?:otro|otra|diferente)\s+(?:dia|fecha)\b|\banother\s+day\b")
# A date over half a year ahead whose previous year's day fell in the last two months was meant
# as that past day.
JUST_PAST_AHEAD_DAYS = 183
JUST_PAST_DAYS = 62
# Text answers that must look like a name (core/names.py); each has a "<key>.invalid" message.
NAME_ANSWERS = frozenset({"name", "company_name"})
MAX_DAYS_SHOWN = 5
PERIODS = {
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(18)),
    "evening": (time(18), time(23, 59)),
}


@dataclass(frozen=True)
class Accepted:
    """The step is answered: save `value` (and `extra` answers), then fire `trigger`."""

    trigger: str = "next"
    value: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    """The answer was not understood (or not possible: `understood`); `message` says why."""

    message: str
    understood: bool = False


@dataclass(frozen=True)
class Back:
    """Nothing can be offered here: say `message` and go back to the previous question."""

    message: str


EnterResult = Accepted | Back | None
AcceptResult = Accepted | Rejected | Back


def _tz(turn: Turn) -> ZoneInfo:
    return ZoneInfo(turn.settings.timezone)


def _offer(turn: Turn, step: Step, options: Sequence[tuple[str, str]]) -> list[Option]:
    turn.state["offered"] = [[payload, label] for payload, label in options]
    turn.state["offered_step"] = step.name
    return [Option(payload, label) for payload, label in options]


def _offered(turn: Turn) -> list[Choice]:
    return [Choice(payload, (label,)) for payload, label in turn.state.get("offered", [])]


def _match(turn: Turn, choices: Sequence[Choice]) -> str | None:
    inbound = turn.inbound
    return match_option(inbound.text, choices, payload=inbound.payload).payload


# ---- data sources of choice steps ------------------------------------------------------


async def _services(turn: Turn) -> list[Service]:
    region = turn.value("region")
    if region:
        try:
            return await catalog.offered_services(turn.uow, str(region))
        except NotFound:
            pass
    rows = await turn.uow.session.scalars(
        select(Service)
        .where(Service.kind == ServiceKind.APPOINTMENT)
        .order_by(Service.popular_rank.is_(None), Service.popular_rank, Service.code)
    )
    return list(rows)


async def hearing_context(turn: Turn) -> tuple[list[ServiceEntry], list[Choice]]:
    """What a free message is heard against: the bookable services and the active regions."""
    services = await _services(turn)
    entries = [ServiceEntry(s.code, tuple(s.names.values()), tuple(s.keywords)) for s in services]
    regions = [Choice(code, (name, code)) for code, name in await _source_options(turn, "regions")]
    return entries, regions


async def _source_options(turn: Turn, source: str) -> list[tuple[str, str]]:
    session, lang, tz = turn.uow.session, turn.lang, turn.settings.timezone
    if source == "services":
        services = await _services(turn)
        popular = [s for s in services if s.popular_rank is not None] or services[:5]
        return [(s.code, turn.text(s.names)) for s in popular]
    if source == "regions":
        tenants = await session.scalars(select(Tenant).where(Tenant.active.is_(True)))
        return sorted(((t.code, t.name) for t in tenants), key=lambda o: normalise(o[1]))
    if source == "document_types":
        return [(d.value, turn.t(f"doc_type.{d.value}")) for d in DocumentType]
    if source == "languages":
        return [(code, i18n.language_name(code)) for code in i18n.languages()]
    if source == "events":
        region = turn.value("region")
        if not region:
            return []
        upcoming = await events.upcoming_events(turn.uow, str(region), now=turn.now)
        return [
            (str(e.id), f"{e.title} — {i18n.format_when(e.start_utc, lang, tz)}") for e in upcoming
        ]
    citizen_id = turn.memory.get("citizen_id")
    inbound = turn.inbound
    if not citizen_id or not await citizens.owns_address(
        turn.uow, int(citizen_id), inbound.channel, inbound.user_ref
    ):
        return []
    if source == "my_appointments":
        mine = await booking.appointments_of(turn.uow, int(citizen_id), now=turn.now)
        names = {s.id: turn.text(s.names) for s in await session.scalars(select(Service))}
        return [
            (
                str(a.id),
                f"{names.get(a.service_id, '')} — {i18n.format_when(a.start_utc, lang, tz)}",
            )
            for a in mine
        ]
    if source == "my_registrations":
        rows = await session.execute(
            select(GroupEvent)
            .join(EventRegistration, EventRegistration.event_id == GroupEvent.id)
            .where(
                EventRegistration.citizen_id == int(citizen_id),
                EventRegistration.status != RegistrationStatus.CANCELLED,
                GroupEvent.start_utc > turn.now,
            )
            .order_by(GroupEvent.start_utc)
        )
        return [
            (str(e.id), f"{e.title} — {i18n.format_when(e.start_utc, lang, tz)}")
            for e in rows.scalars()
        ]
    raise ValueError(f"unknown source {source}")


# ---- enter ------------------------------------------------------------------------------


async def enter(step: Step, turn: Turn) -> EnterResult:
    """Ask the step's question (or settle it at once when the answer is already known)."""
    prompt = await render(turn, turn.text(step.prompt))
    kind = step.kind
    if kind == "choice":
        if step.options:
            options = [(o.id, turn.text(o.label)) for o in step.options]
        else:
            assert step.source is not None
            options = await _source_options(turn, step.source)
            if not options:
                return Back(turn.t("options.none"))
        turn.say(prompt, _offer(turn, step, options))
    elif kind == "yes_no":
        turn.say(
            prompt, _offer(turn, step, [("yes", turn.t("option.yes")), ("no", turn.t("option.no"))])
        )
    elif kind == "date":
        return await _enter_date(step, turn, prompt)
    elif kind == "slot":
        return await _enter_slot(step, turn, prompt)
    else:
        turn.state.pop("offered", None)
        turn.say(prompt)
    return None


async def _enter_date(step: Step, turn: Turn, prompt: str) -> EnterResult:
    options: list[tuple[str, str]] = []
    region, service = turn.value("region"), turn.value("service")
    if region and service:
        try:
            days = await availability.next_free_days(
                turn.uow, str(region), str(service), now=turn.now, count=MAX_DAYS_SHOWN
            )
        except ServiceNotOffered:
            region_name = (await catalog.get_tenant(turn.uow, str(region))).name
            return Back(turn.t("refusal.service_not_offered", region=region_name))
        options = [(d.isoformat(), i18n.format_day(d, turn.lang)) for d, _ in days]
        if not options:
            return Back(turn.t("slot.none_left"))
        options.append(("asap", turn.t("date.asap")))
    turn.say(prompt, _offer(turn, step, options))
    return None


def _in_period(slot: availability.Slot, tz: ZoneInfo, period: str | None) -> bool:
    if period not in PERIODS:
        return True
    low, high = PERIODS[period]
    return low <= slot.start.astimezone(tz).time() < high


async def _enter_slot(step: Step, turn: Turn, prompt: str) -> EnterResult:
    tz = _tz(turn)
    alternatives = turn.state.pop("alternatives", None)
    region, service = str(turn.value("region")), str(turn.value("service"))
    if alternatives:
        starts = [datetime.fromisoformat(s) for s in alternatives]
        if not starts:
            return Back(turn.t("slot.none_left"))
        prompt = turn.t("slot.taken_sorry")
    elif turn.answers.get("asap") or not turn.day():
        after = None
        if turn.day():
            after = datetime.combine(turn.day() or date.today(), time(0), tzinfo=tz).astimezone(UTC)
        found = await availability.first_free_slots(
            turn.uow, region, service, now=turn.now, count=5, after=after
        )
        starts = [s.start for s in found]
        if not starts:
            return Back(turn.t("slot.none_left"))
    else:
        day = turn.day()
        assert day is not None
        result = await availability.day_slots(turn.uow, region, service, day, now=turn.now)
        if not result.slots:
            return Back(turn.t("date.no_slots", day=i18n.format_day(day, turn.lang)))
        wanted = turn.answers.get("time")
        if wanted:
            for slot in result.slots:
                if slot.start.astimezone(tz).strftime("%H:%M") == wanted:
                    return Accepted(value=slot.start.isoformat())
        period = turn.answers.get("period")
        chosen = [s for s in result.slots if _in_period(s, tz, period)] or result.slots
        if wanted:
            prompt = await _not_free(turn, time.fromisoformat(wanted)) + "\n" + prompt
            target = datetime.combine(day, time.fromisoformat(wanted), tzinfo=tz)
            chosen = sorted(chosen, key=lambda s: abs(s.start - target))[:MAX_SLOTS_SHOWN]
            chosen.sort(key=lambda s: s.start)
        starts = [s.start for s in chosen[:MAX_SLOTS_SHOWN]]
    same_day = (
        not alternatives
        and turn.day() is not None
        and len({s.astimezone(tz).date() for s in starts}) == 1
    )
    options = [
        (
            s.isoformat(),
            i18n.format_time(s.astimezone(tz), turn.lang)
            if same_day
            else i18n.format_when(s, turn.lang, turn.settings.timezone),
        )
        for s in starts
    ]
    turn.say(prompt, _offer(turn, step, options))
    return None


async def _not_free(turn: Turn, wanted: time) -> str:
    """Why the time asked for is not offered: outside the region's hours, or taken."""
    code = turn.value("region")
    tenant = await catalog.get_tenant(turn.uow, str(code)) if code else None
    hours = OfficeHours.of(tenant) if tenant is not None else OfficeHours.national()
    said = i18n.format_time(wanted, turn.lang)
    if wanted < hours.opens or wanted >= hours.closes:
        return turn.t("slot.outside_hours", time=said, office_hours=await office_hours(turn))
    return turn.t("slot.time_not_free", time=said)


# ---- accept -----------------------------------------------------------------------------


async def accept(step: Step, turn: Turn) -> AcceptResult:
    """Read the person's answer to the step."""
    kind = step.kind
    if kind == "choice":
        return await _accept_choice(step, turn)
    if kind == "yes_no":
        said = (
            "yes"
            if turn.inbound.payload == "yes"
            else "no"
            if turn.inbound.payload == "no"
            else None
        )
        if said is None and turn.state.get("offered_step") == step.name:
            said = _typed_number(turn)  # «1» at a «1. Sí / 2. No» list
        # A clear answer only: words, the option's number or the button; an emoji alone
        # (👍 is often a mere acknowledgment) never consents, confirms or erases.
        answer = (
            yes_no(turn.inbound.text, turn.lang, emoji=False) if said is None else said == "yes"
        )
        if answer is None:
            return Rejected(turn.t("hint.yes_no"))
        return Accepted("yes" if answer else "no", value=answer)
    if kind == "date":
        return await _accept_date(turn)
    if kind == "slot":
        return await _accept_slot(step, turn)
    if kind == "document":
        return _accept_document(turn)
    if kind == "phone":
        raw = turn.inbound.contact_phone or turn.inbound.text
        try:
            return Accepted(value=normalise_phone(raw))
        except InvalidPhone as refused:
            code = refused.context.get("code", "phone_invalid")
            return Rejected(turn.t(f"phone.invalid.{code}"), understood=True)
    if kind == "text":
        text = turn.inbound.text.strip()
        if not text:
            return Rejected(turn.t("text.empty"))
        if len(text) > step.max_length:
            return Rejected(turn.t("text.too_long", max=step.max_length), understood=True)
        if step.save in NAME_ANSWERS and not looks_like_name(
            text, company=step.save == "company_name"
        ):
            return Rejected(turn.t(f"{step.save}.invalid"))
        return Accepted(value=text)
    raise ValueError(f"step kind {kind} takes no input")


def _typed_number(turn: Turn) -> str | None:
    """The payload of the offered option whose number was typed, if a bare number was."""
    text = turn.inbound.text.strip()
    if not text.isdigit() or len(text) > 2:
        return None
    return _match(turn, _offered(turn))


async def _accept_choice(step: Step, turn: Turn) -> AcceptResult:
    if step.source == "document_types" and not turn.inbound.payload:
        shaped = hearing.document_by_shape(turn.inbound.text)
        if shaped:
            # «45678912» where the type is asked: its shape says DNI; the number is kept
            # (engine hearing) and answers the next question.
            return Accepted(value=shaped["doc_type"].payload)
    if step.source == "regions" and turn.inbound.location is not None:
        where = turn.inbound.location
        tenant = await catalog.nearest_tenant(turn.uow, where.latitude, where.longitude)
        if tenant is not None:
            return await _region_checked(turn, tenant.code)
    if step.options:
        by_id = {o.id: o for o in step.options}
        shown = [o.id for o in step.options]
        if turn.state.get("offered_step") == step.name:
            shown = [p for p, _ in turn.state.get("offered", []) if p in by_id] or shown
        choices = [Choice(i, (*by_id[i].label.values(), *by_id[i].words)) for i in shown]
    else:
        choices = _offered(turn)
        if step.source == "regions":
            choices = [Choice(c.payload, (*c.labels, c.payload)) for c in choices]
    result = match_option(turn.inbound.text, choices, payload=turn.inbound.payload)
    if step.source == "regions":
        result = places.resolve_region(turn.inbound.text, choices, result)
    chosen = result.payload
    if step.source == "services" and chosen == OTHER_TOPIC:
        return await _all_services(step, turn)
    if step.source == "services" and result.how not in ("payload", "number", "ordinal", "exact"):
        # Free words are weighed against the whole catalogue, not guessed among the few shown.
        return await _search_services(step, turn)
    if chosen is None and result.ambiguous:
        return _which_one(step, turn, choices, result.ambiguous)
    if chosen is None and step.options:
        intent = _intent_option(step, turn)
        if isinstance(intent, Rejected):
            return intent
        chosen = intent
    if chosen is None:
        return Rejected(turn.t("misunderstood") + " " + _choose_hint(turn))
    if step.source == "regions":
        return await _region_checked(turn, chosen)
    if step.source == "my_appointments":
        return await _appointment_chosen(turn, chosen)
    for option in step.options:
        if option.id == chosen and option.goto:
            return Accepted(option_trigger(option.id), value=chosen)
    return Accepted(value=chosen)


def _choose_hint(turn: Turn) -> str:
    """How to answer a list on this channel: buttons on Telegram, numbers elsewhere."""
    return turn.t(
        "hint.choose_button" if turn.inbound.channel in BUTTON_CHANNELS else "hint.choose_number"
    )


def _intent_option(step: Step, turn: Turn) -> str | Rejected | None:
    """Free words at a list of intents (the menu): the option the needs model is sure of.

    A greeting or thanks is answered kindly and the list shown again, not «no le entendí».
    """
    need = needs.understand(turn.inbound.text, turn.lang)
    if need.verdict != "confident":
        return None
    label = need.labels[0]
    if label in ("greeting", "thanks"):
        return Rejected(turn.t(f"reply.{label}"), understood=True)
    wanted = INTENT_OPTIONS.get(label)
    return wanted if wanted in {o.id for o in step.options} else None


def _which_one(
    step: Step, turn: Turn, choices: Sequence[Choice], candidates: Sequence[str]
) -> AcceptResult:
    """Several options fit the words: ask which one, offering only those."""
    labels = {c.payload: c.labels[0] for c in choices}
    if step.options:
        labels = {o.id: turn.text(o.label) for o in step.options}
    options = _offer(turn, step, [(p, labels[p]) for p in candidates if p in labels])
    turn.say(turn.t("choice.which_one"), options)
    return Rejected("")


async def _appointment_chosen(turn: Turn, chosen: str) -> AcceptResult:
    """An appointment of the person; its service and region frame a reschedule."""
    appointment = await turn.uow.session.get(Appointment, int(chosen))
    if appointment is None:
        return Rejected(turn.t("refusal.not_found"))
    service = await turn.uow.session.get(Service, appointment.service_id)
    tenant = await turn.uow.session.get(Tenant, appointment.tenant_id)
    assert service is not None and tenant is not None
    return Accepted(value=chosen, extra={"service": service.code, "region": tenant.code})


async def _region_checked(turn: Turn, code: str) -> AcceptResult:
    service = turn.value("service")
    if service:
        offered = {s.code for s in await catalog.offered_services(turn.uow, code)}
        if service not in offered:
            tenant = await catalog.get_tenant(turn.uow, code)
            return Rejected(
                turn.t("refusal.service_not_offered", region=tenant.name), understood=True
            )
    return Accepted(value=code)


async def _search_services(step: Step, turn: Turn) -> AcceptResult:
    """A service in free words, weighed by three readers: its own name in the text, the
    catalogue's words (`search_services`) and the needs model (`bot/needs.py`).

    Never silently wrong: one service is taken when its name is written and the model is not
    sure of another; when the model is sure and the catalogue's words do not point elsewhere;
    when the words point to one the model does not contradict; or when all three agree on the
    best. Otherwise the best two or three are offered («¿A cuál de estos se refiere?»).
    """
    services = await _services(turn)
    entries = [ServiceEntry(s.code, tuple(s.names.values()), tuple(s.keywords)) for s in services]
    text = turn.inbound.text
    found = search_services(text, entries)
    need = needs.understand(text, turn.lang)
    guessed = [label for label in need.labels if label in {s.code for s in services}]
    named = match_option(text, [Choice(x.code, x.names) for x in entries])
    if (
        named.payload is not None
        and named.how in ("exact", "contains")
        and (need.verdict != "confident" or not guessed or guessed[0] == named.payload)
    ):
        return _guessed(turn, named.payload)  # a service's own name, which nothing contradicts
    if need.verdict == "confident" and guessed and (not found or found[0] == guessed[0]):
        return _guessed(turn, guessed[0])
    if found and guessed and found[0] == guessed[0] == named.payload:
        return _guessed(turn, found[0])  # the model, the catalogue's words and the names agree
    if len(found) == 1 and (not guessed or guessed[0] == found[0]):
        return _guessed(turn, found[0])
    candidates = list(dict.fromkeys([*found, *guessed]))[:MAX_SERVICES_OFFERED]
    if not candidates:
        return Rejected(turn.t("misunderstood") + " " + turn.t("hint.service_words"))
    if len(candidates) == 1:
        return _guessed(turn, candidates[0])
    by_code = {s.code: s for s in services}
    offered = [(code, turn.text(by_code[code].names)) for code in candidates]
    offered.append((OTHER_TOPIC, turn.t("option.other_topic")))
    turn.say(turn.t("choice.which_one"), _offer(turn, step, offered))
    return Rejected("")


def _guessed(turn: Turn, code: str) -> Accepted:
    """A service taken from free words: «no» or «otro» at the next question undoes it."""
    turn.state["service_guessed"] = True
    return Accepted(value=code)


async def _all_services(step: Step, turn: Turn) -> AcceptResult:
    """«Otro tema»: every bookable service of the region, to choose by number or name."""
    services = await _services(turn)
    turn.say(
        turn.t("choice.all_services"),
        _offer(turn, step, [(s.code, turn.text(s.names)) for s in services]),
    )
    return Rejected("")


async def _accept_date(turn: Turn) -> AcceptResult:
    tz = _tz(turn)
    # Only a payload or an option number picks an offered day; words are read as a date
    # (fuzzy matching "el lunes" against "lunes 7 de diciembre" labels would guess).
    chosen = turn.inbound.payload
    text = turn.inbound.text.strip().rstrip(".")
    if chosen is None and text.isdigit() and len(text) <= 2 and turn.state.get("offered"):
        chosen = _match(turn, _offered(turn))
    if chosen == "asap":
        return Accepted(value=None, extra={"asap": True, "time": None, "period": None})
    if chosen:
        try:
            return await _day_checked(turn, date.fromisoformat(chosen), None, None)
        except ValueError:
            pass
    reading = read_date(
        turn.inbound.text,
        turn.now.astimezone(tz),
        turn.lang,
        assume_day_for_time=True,
        anchor=await _day_being_changed(turn),
    )
    if reading.asap and reading.date is None:
        return Accepted(value=None, extra={"asap": True, "time": None, "period": reading.period})
    if reading.date is None:
        return Rejected(turn.t("date.not_understood") + " " + turn.t("hint.date"))
    if _just_past(reading.date, turn.now.astimezone(tz).date()):
        return Rejected(turn.t("date.past") + " " + turn.t("hint.date"), understood=True)
    time_text = reading.time.strftime("%H:%M") if reading.time else None
    result = await _day_checked(turn, reading.date, time_text, reading.period)
    if isinstance(result, Accepted) and reading.asap:
        result.extra["asap"] = True
    return result


async def _day_being_changed(turn: Turn) -> date | None:
    """The local day of the appointment being rescheduled, which «el mismo día» refers to."""
    chosen = turn.answers.get("appointment")
    if not chosen or not str(chosen).isdigit():
        return None
    appointment = await turn.uow.session.get(Appointment, int(str(chosen)))
    return appointment.start_utc.astimezone(_tz(turn)).date() if appointment else None


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


async def _day_checked(turn: Turn, day: date, at: str | None, period: str | None) -> AcceptResult:
    today = turn.now.astimezone(_tz(turn)).date()
    if day < today:
        return Rejected(turn.t("date.past") + " " + turn.t("hint.date"), understood=True)
    region, service = turn.value("region"), turn.value("service")
    if region and service:
        result = await availability.day_slots(
            turn.uow, str(region), str(service), day, now=turn.now
        )
        if not result.slots:
            label = i18n.format_day(day, turn.lang)
            if result.reason == "holiday":
                message = turn.t("refusal.holiday", name=result.detail, day=label)
            elif result.reason == "too_far":
                message = turn.t("refusal.too_far", day=label)
            elif result.reason in ("closed", "too_soon"):
                message = turn.t(f"refusal.{result.reason}", day=label)
            else:
                message = turn.t("date.no_slots", day=label)
            return Rejected(message, understood=True)
    return Accepted(value=day.isoformat(), extra={"time": at, "period": period, "asap": False})


async def _accept_slot(step: Step, turn: Turn) -> AcceptResult:
    chosen = _match(turn, _offered(turn))
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
        return Rejected(turn.t("misunderstood") + " " + _choose_hint(turn))
    return Accepted(value=chosen)


async def _slot_change_of_mind(step: Step, turn: Turn) -> AcceptResult | None:
    """At the list of times: «mejor otro día», «en la tarde mejor», «no, el jueves».

    Another day or part of the day offers that day's (or that part's) free times again; «otro
    día» goes back to the day question. None when the words are no such change.
    """
    text = turn.inbound.text
    if OTHER_DAY.search(normalise(text)):
        return Back(turn.t("slot.other_day"))
    tz = _tz(turn)
    reading = read_date(text, turn.now.astimezone(tz), turn.lang)
    if reading.time is not None:
        return None  # a time: the list's own business (_slot_at_named_time)
    day = reading.date
    if day is None and reading.period is None:
        return None
    if day is not None and day != turn.day():
        checked = await _day_checked(turn, day, None, reading.period)
        if not isinstance(checked, Accepted):
            return checked
        turn.answers["day"] = checked.value
    turn.answers.update(time=None, period=reading.period, asap=False)
    entered = await enter(step, turn)
    return entered if entered is not None else Rejected("", understood=True)


async def _slot_at_named_time(turn: Turn, text: str | None = None) -> str | None:
    """A time the person wrote ("a las 3 de la tarde"), if it is free, shown or not."""
    tz = _tz(turn)
    said = turn.inbound.text if text is None else text
    reading = read_date(said, turn.now.astimezone(tz), turn.lang)
    if reading.time is None:
        return None
    wanted = reading.time.strftime("%H:%M")
    for payload, _ in turn.state.get("offered", []):
        start = datetime.fromisoformat(payload).astimezone(tz)
        if start.strftime("%H:%M") == wanted and reading.date in (None, start.date()):
            return str(payload)
    day = reading.date or turn.day()
    if day is None:
        return None
    result = await availability.day_slots(
        turn.uow, str(turn.value("region")), str(turn.value("service")), day, now=turn.now
    )
    for slot in result.slots:
        if slot.start.astimezone(tz).strftime("%H:%M") == wanted:
            return slot.start.isoformat()
    return None


def _accept_document(turn: Turn) -> AcceptResult:
    doc_type = DocumentType(str(turn.value("doc_type") or "dni"))
    try:
        return Accepted(value=normalise_document(doc_type, turn.inbound.text))
    except InvalidDocument as refused:
        code = refused.context.get("code", "empty")
        return Rejected(turn.t(f"document.invalid.{code}"), understood=True)
