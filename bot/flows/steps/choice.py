"""A choice step: an option picked by button, number, words or location, or asked again.

Static options (written in the flow) may carry a goto; data sources list regions, services,
the person's appointments and so on (bot/flows/steps/sources.py). Services named in free
words are weighed in bot/flows/steps/services.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot import hearing
from bot.conversation.state import HEARD, OFFERED, OFFERED_STEP
from bot.conversation.turn import Turn
from bot.flows import catalogue
from bot.flows.machine import option_trigger
from bot.flows.schema import Step
from bot.flows.schema.definition import StaticOption
from bot.flows.steps import services
from bot.flows.steps.offers import choose_hint, offer, offered
from bot.flows.steps.results import Accepted, AcceptResult, Rejected
from bot.understanding import Choice, match_option, needs, places
from core import catalog
from core.models import Appointment, Service, Tenant

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
# How a match was made that picks a service among those shown (not free words).
PICKED = ("payload", "number", "ordinal", "exact")


def option_choices(options: Iterable[StaticOption]) -> list[Choice]:
    """Options written in a flow as choices to match words against: labels and words."""
    return [Choice(o.id, (*o.label.values(), *o.words)) for o in options]


async def accept_choice(step: Step, turn: Turn) -> AcceptResult:
    """Read the option chosen at a choice step."""
    if step.source == "document_types" and not turn.inbound.payload:
        shaped = hearing.document_by_shape(turn.inbound.text)
        if shaped:
            # «45678912» where the type is asked: its shape says DNI; the number is kept
            # and answers the next question, in any flow («mis citas» too).
            kept = dict(turn.state.get(HEARD) or {})
            kept["document"] = shaped["document"].to_json()
            turn.state[HEARD] = kept
            return Accepted(value=shaped["doc_type"].payload)
    if step.source == "regions" and turn.inbound.location is not None:
        where = turn.inbound.location
        tenant = await catalog.nearest_tenant(turn.uow, where.latitude, where.longitude)
        if tenant is not None:
            return await _region_checked(turn, tenant.code)
    if step.options:
        by_id = {o.id: o for o in step.options}
        shown = [o.id for o in step.options]
        if turn.state.get(OFFERED_STEP) == step.name:
            shown = [p for p, _ in turn.state.get(OFFERED, []) if p in by_id] or shown
        choices = option_choices(by_id[i] for i in shown)
    else:
        choices = offered(turn)
        if step.source == "regions":
            choices = [
                Choice(
                    c.payload, (*c.labels, c.payload, *places.REGION_OTHER_NAMES.get(c.payload, ()))
                )
                for c in choices
            ]
    result = match_option(turn.inbound.text, choices, payload=turn.inbound.payload)
    if step.source == "regions":
        result = places.resolve_region(turn.inbound.text, choices, result)
    chosen = result.payload
    if step.source == "services" and chosen == services.OTHER_TOPIC:
        return await services.offer_all(step, turn)
    if step.source == "services" and result.how not in PICKED:
        # Free words are weighed against the whole catalogue, not guessed among the few shown.
        return await services.search(step, turn)
    if chosen is None and result.ambiguous:
        return _which_one(step, turn, choices, result.ambiguous)
    if chosen is None and step.options:
        intent = _intent_option(step, turn)
        if isinstance(intent, Rejected):
            return intent
        chosen = intent
    if chosen is None:
        return Rejected(turn.t("misunderstood") + " " + choose_hint(turn))
    if step.source == "regions":
        return await _region_checked(turn, chosen)
    if step.source == "my_appointments":
        return await _appointment_chosen(turn, chosen)
    for option in step.options:
        if option.id == chosen and option.goto:
            return Accepted(option_trigger(option.id), value=chosen)
    return Accepted(value=chosen)


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
    options = offer(turn, step, [(p, labels[p]) for p in candidates if p in labels])
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
    """A region, refused when it does not offer the service already chosen."""
    service = turn.value("service")
    if service:
        offered_there = {s.code for s in await catalogue.offered_services(turn.uow, code)}
        if service not in offered_there:
            tenant = await catalogue.tenant(turn.uow, code)
            return Rejected(
                turn.t("refusal.service_not_offered", region=tenant.name), understood=True
            )
    return Accepted(value=code)
