"""What free words say about the booking's questions: kept for later, or correcting an answer.

«quiero una cita de pensión en Cusco el lunes» answers several questions at once: what is
heard is kept in the state and answers each question when the booking reaches it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bot import hearing
from bot.conversation import state as key
from bot.conversation.turn import Turn
from bot.flows import catalogue, steps
from bot.flows.machine import CompiledFlow
from bot.flows.schema import Step
from bot.hearing import Answer
from bot.understanding import changes, needs, normalise, search_services

# Answers a later message may change («no, en Cusco»), with the answers that depend on them.
_WHEN = ("day", "slot", "time", "period", "asap")
CORRECTABLE: dict[str, tuple[str, ...]] = {"service": _WHEN, "region": _WHEN, "day": _WHEN[1:]}


async def listen(turn: Turn, *, skip: str | None = None) -> None:
    """Keep what a message says about the booking's questions not answered yet."""
    text = turn.inbound.text
    if not text.strip() or turn.inbound.payload or text.lstrip().startswith("/"):
        return  # nothing typed, a button, or a bot command such as «/start PE-ARE»
    services, regions = await steps.hearing_context(turn)
    heard = hearing.hear(text, services=services, regions=regions, now=turn.now, lang=turn.lang)
    kept: dict[str, Any] = dict(turn.state.get(key.HEARD) or {})
    for save, answer in heard.items():
        if save != skip and not turn.answers.get(save):
            kept[save] = answer.to_json()
    if kept:
        turn.state[key.HEARD] = kept


async def keep_unsure_need(turn: Turn, text: str) -> bool:
    """Free words the needs model reads as one of a few services without being sure which
    («me botaron»): kept for the service question, which offers them. True when kept."""
    if text.lstrip().startswith("/"):
        return False  # a bot command («/start PE-ARE»), no need
    if await _bookable_need(turn, text) != "unsure":
        return False
    keep(turn, "service", text)
    return True


async def _bookable_need(turn: Turn, text: str) -> str | None:
    """How sure the needs model is that the words name a service bookable here («confident»,
    «unsure»); None for no need, or an intent («mis citas», «no sé»)."""
    need = needs.understand(text, turn.lang)
    if need.verdict == "nothing":
        return None
    services, _ = await steps.hearing_context(turn)
    return need.verdict if need.labels[0] in {s.code for s in services} else None


def guess_undone(turn: Turn, flow: CompiledFlow, step: Step) -> str | None:
    """«no» or «otro» right after a service taken from free words: the service step to ask.

    None when the message is no such refusal; otherwise the guess and what hangs on it are
    dropped and the person told.
    """
    if not turn.state.get(key.SERVICE_GUESSED) or step.save == "service":
        return None
    if step.kind not in ("choice", "date", "slot") or not hearing.rejects_guess(turn.inbound.text):
        return None
    turn.state.pop(key.SERVICE_GUESSED, None)
    for dropped in ("service", *CORRECTABLE["service"]):
        turn.answers.pop(dropped, None)
    target = next(name for name, s in flow.definition.steps.items() if s.save == "service")
    turn.say(turn.t("service.not_that"))
    return target


async def corrected(turn: Turn, flow: CompiledFlow, current: str) -> str | None:
    """«no, en Cusco», «mejor conciliación»: the earlier step the words contradict, if any.

    Only words the current question could not read count. The earliest contradicted answer
    (with the answers that depend on it) is dropped and the new words kept for it; its step
    is returned, to be asked again. A step written after `current` is not jumped to, which
    would pass the current question by unanswered (a region typed at the service question,
    asked again after «no quedan horarios», went on without a service): its answer is
    dropped and the words kept for it, and `current` is returned, to be asked again.
    """
    services, regions = await steps.hearing_context(turn)
    heard = hearing.hear(
        turn.inbound.text, services=services, regions=regions, now=turn.now, lang=turn.lang
    )
    later = False
    for name, step in flow.definition.steps.items():
        later = later or name == current
        save = step.save
        if save not in CORRECTABLE or save not in heard or not turn.answers.get(save):
            continue
        answer = heard[save]
        if answer.payload is not None and answer.payload == turn.answers.get(save):
            continue
        if save == "service" and len(search_services(answer.text, services)) != 1:
            continue  # a change of service must name one
        for dropped in (save, *CORRECTABLE[save]):
            turn.answers.pop(dropped, None)
        kept = {k: v.to_json() for k, v in heard.items() if not turn.answers.get(k)}
        turn.state[key.HEARD] = kept
        if later and save == "region" and answer.payload:
            # The current question is asked again, not the region's: say what changed.
            region = await catalogue.tenant(turn.uow, answer.payload)
            turn.say(turn.t("region.noted", region=region.name))
        return current if later else name
    return None


async def only_a_change(turn: Turn) -> bool:
    """Whether words typed where any text is an answer («cuéntenos su caso») only change an
    earlier answer: «mejor el viernes», «no, en cusco», «mejor conciliación». «no me pagan en
    cusco» names a region too, but says more: it is the case."""
    text = turn.inbound.text
    if turn.inbound.payload or not changes.starts_a_change(text):
        return False
    services, regions = await steps.hearing_context(turn)
    heard = hearing.hear(text, services=services, regions=regions, now=turn.now, lang=turn.lang)
    if not any(save in heard and turn.answers.get(save) for save in CORRECTABLE):
        return False
    labels = [label for c in regions for label in c.labels]
    labels += [name for s in services for name in (*s.names, *s.keywords)]
    return changes.only(text, {word for label in labels for word in normalise(label).split()})


async def keep_for_the_note(turn: Turn, flow: CompiledFlow, step: Step) -> bool:
    """Free words telling the case («me despidieron y no me pagan») typed at a list before
    the flow's «note» question (the hand-off's): kept to answer it. True when kept."""
    if step.kind != "choice" or turn.inbound.payload or turn.answers.get("note"):
        return False
    if not any(s.save == "note" and s.kind == "text" for s in flow.definition.steps.values()):
        return False
    if await _bookable_need(turn, turn.inbound.text) is None:
        return False  # no need («asdf»), or an intent («no sé»)
    keep(turn, "note", turn.inbound.text)
    return True


def keep(turn: Turn, save: str, text: str) -> None:
    """Keep words to answer a later question («el viernes» for the day's)."""
    if save:
        turn.state[key.HEARD] = {**(turn.state.get(key.HEARD) or {}), save: Answer(text).to_json()}


def forget(turn: Turn, save: str) -> None:
    """Drop what was heard for one question («service»), if anything."""
    kept: dict[str, Any] = dict(turn.state.get(key.HEARD) or {})
    if kept.pop(save, None) is not None:
        turn.state[key.HEARD] = kept


def new_when(turn: Turn, flow: CompiledFlow) -> tuple[str, bool] | None:
    """Where any text is an answer, a message that only asks for another day or time of the
    time chosen («mejor a las 11», «no, mejor otro día», «otra hora»): the step to go to, and
    whether to ask it afresh; None for any other message.

    Another day asks the day question; another time offers that day's times again; a day, a
    time or a part of the day is read by the list of times as if typed there.
    """
    text = turn.inbound.text
    if not turn.answers.get("slot") or not changes.only_a_new_when(text, turn.now, turn.lang):
        return None
    by_kind = {s.kind: name for name, s in flow.definition.steps.items() if s.kind in _WHEN_KINDS}
    if set(by_kind) != set(_WHEN_KINDS):
        return None
    norm = normalise(text)
    if changes.OTHER_DAY_WORDS.search(norm):
        for dropped in _WHEN:
            turn.answers.pop(dropped, None)
        turn.say(turn.t("slot.other_day"))
        return by_kind["date"], True
    if changes.OTHER_TIME_WORDS.search(norm):
        turn.answers.pop("slot", None)
        return by_kind["slot"], True
    keep(turn, "slot", text)
    return by_kind["slot"], False


_WHEN_KINDS = ("date", "slot")


def heard_for(turn: Turn, step: Step) -> bool:
    """Whether something heard earlier answers this step."""
    return step.save is not None and step.save in (turn.state.get(key.HEARD) or {})


def heard_a_need(turn: Turn) -> bool:
    """Whether a message kept from this conversation names a service to book."""
    return "service" in (turn.state.get(key.HEARD) or {})


async def answer_heard(
    turn: Turn, step: Step
) -> steps.EnterResult | steps.Empty | steps.AcceptResult | None:
    """Answer a question with what was heard for it earlier, read as if typed now.

    None when nothing was heard for it. Accepted: answered, go on. Rejected: the question
    is asked (with the reason the heard words did not do, or a narrower question).
    """
    kept: dict[str, Any] = dict(turn.state.get(key.HEARD) or {})
    if step.save is None or step.save not in kept or step.kind in ("message", "action"):
        return None
    answer = Answer.from_json(kept.pop(step.save))
    turn.state[key.HEARD] = kept
    before = len(turn.replies)
    entered = await steps.enter(step, turn)
    if entered is not None:
        return entered
    asked = turn.replies[before:]
    del turn.replies[before:]
    inbound = turn.inbound
    turn.inbound = dataclasses.replace(
        inbound, text=answer.text, payload=answer.payload, location=None
    )
    try:
        result = await steps.accept(step, turn)
    finally:
        turn.inbound = inbound
    if isinstance(result, steps.Rejected):
        if result.message:
            turn.say(result.message)
            turn.replies.extend(asked)
        return steps.Rejected("")
    return result
