"""A service named in free words at the services list, or «otro tema» for the whole list."""

from __future__ import annotations

from bot.conversation.state import SERVICE_GUESSED
from bot.conversation.turn import Turn
from bot.flows import catalogue
from bot.flows.schema import Step
from bot.flows.steps.offers import offer
from bot.flows.steps.results import Accepted, AcceptResult, Rejected
from bot.flows.steps.sources import bookable_services, hearing_context
from bot.hearing import hear
from bot.understanding import (
    Choice,
    ServiceEntry,
    match_option,
    needs,
    normalise,
    rank_services,
    search_services,
)
from bot.understanding.changes import CORRECTION_WORDS, only_when, says_only

MAX_SERVICES_OFFERED = 3
OTHER_TOPIC = "other"  # the «otro tema» option beside the services offered


async def search(step: Step, turn: Turn) -> AcceptResult:
    """A service in free words, weighed by three readers: its own name in the text, the
    catalogue's words (`search_services`) and the needs model (`bot/understanding/needs.py`).

    Never silently wrong: one service is taken when its name is written and the model is not
    sure of another; when the model is sure and the catalogue's words do not point elsewhere;
    when the words point to one the model does not contradict; or when all three agree on the
    best. Otherwise the best two or three are offered («¿A cuál de estos se refiere?»).
    """
    services = await bookable_services(turn)
    entries = [ServiceEntry(s.code, tuple(s.names.values()), tuple(s.keywords)) for s in services]
    text = turn.inbound.text
    # «a las 3 de la tarde», «9 y media»: a day or a time written early, and no service word
    # written as the catalogue writes it. Its words must not pass for a service's by a near
    # spelling («media» is not «mediación»): the topic is asked first.
    named = match_option(text, [Choice(x.code, x.names) for x in entries])
    if named.how not in ("exact", "contains", "number", "ordinal") and not search_services(
        text, entries, fuzzy=False
    ):
        if only_when(text, turn.now, turn.lang):
            return Rejected(turn.t("hint.service_first"), understood=True)
        region = await _only_a_region(turn, text)
        if region is not None and not turn.answers.get("region"):
            # «no, mejor en cusco» before the region is asked: kept for its question (the
            # runner's `listen` replaced the one heard before); said, and this asked again.
            name = (await catalogue.tenant(turn.uow, region)).name
            return Rejected(turn.t("region.noted", region=name), understood=True)
        if region is not None:
            # «mejor en arequipa»: no near spelling of a service («mejor»); the runner reads
            # the words as a change of region (listening.corrected) and asks this again.
            return Rejected(turn.t("misunderstood") + " " + turn.t("hint.service_words"))
    matches = rank_services(text, entries)
    found = [m.code for m in matches]
    # Words that several services' names share («trabajo») say less than the model does:
    # «hoy me botaron del trabajo» is legal advice, not the job board.
    specific = [m.code for m in matches if not m.shared]
    shared = [m.code for m in matches if m.shared]
    need = needs.understand(text, turn.lang)
    guessed = [label for label in need.labels if label in {s.code for s in services}]
    if (
        named.payload is not None
        and named.how in ("exact", "contains")
        and (need.verdict != "confident" or not guessed or guessed[0] == named.payload)
    ):
        return _guessed(turn, named.payload)  # a service's own name, which nothing contradicts
    if need.verdict == "confident" and guessed and (not specific or specific[0] == guessed[0]):
        return _guessed(turn, guessed[0])
    if found and guessed and found[0] == guessed[0] == named.payload:
        return _guessed(turn, found[0])  # the model, the catalogue's words and the names agree
    if len(found) == 1 and (not guessed or guessed[0] == found[0]):
        return _guessed(turn, found[0])
    candidates = list(dict.fromkeys([*specific, *guessed, *shared]))[:MAX_SERVICES_OFFERED]
    if not candidates:
        return Rejected(turn.t("misunderstood") + " " + turn.t("hint.service_words"))
    if len(candidates) == 1:
        return _guessed(turn, candidates[0])
    by_code = {s.code: s for s in services}
    offered = [(code, turn.text(by_code[code].names)) for code in candidates]
    offered.append((OTHER_TOPIC, turn.t("option.other_topic")))
    turn.say(turn.t("choice.which_one"), offer(turn, step, offered))
    return Rejected("")


async def _only_a_region(turn: Turn, text: str) -> str | None:
    """The region a message names when it says nothing else («mejor en arequipa», «no, en
    cusco»), else None; «en arequipa me botaron» says more, and is searched for a service."""
    _, regions = await hearing_context(turn)
    heard = hear(text, services=(), regions=regions, now=turn.now, lang=turn.lang).get("region")
    if heard is None or heard.payload is None:
        return None
    named = {word for c in regions for label in c.labels for word in normalise(label).split()}
    if not says_only(text, named | CORRECTION_WORDS):
        return None
    return heard.payload


def _guessed(turn: Turn, code: str) -> Accepted:
    """A service taken from free words: «no» or «otro» at the next question undoes it."""
    turn.state[SERVICE_GUESSED] = True
    return Accepted(value=code)


async def offer_all(step: Step, turn: Turn) -> AcceptResult:
    """«Otro tema»: every bookable service of the region, to choose by number or name."""
    services = await bookable_services(turn)
    turn.say(
        turn.t("choice.all_services"),
        offer(turn, step, [(s.code, turn.text(s.names)) for s in services]),
    )
    return Rejected("")
