"""Each step kind's way to ask (`enter`) and to read the answer (`accept`).

`enter` renders the step's prompt and remembers the options shown, so that "2" means
the second option the person saw. It may also settle the step at once (`Accepted`),
e.g. a slot step when the person already named a free time. `accept` reads the answer.
"""

from __future__ import annotations

from bot.conversation.state import OFFERED
from bot.conversation.turn import Turn
from bot.flows.placeholders import render
from bot.flows.schema import Step
from bot.flows.steps.answers import accept_document, accept_phone, accept_text, accept_yes_no
from bot.flows.steps.choice import accept_choice
from bot.flows.steps.dates import accept_date, enter_date
from bot.flows.steps.offers import offer
from bot.flows.steps.results import AcceptResult, Back, Empty, EnterResult
from bot.flows.steps.slots import accept_slot, enter_slot
from bot.flows.steps.sources import source_options


async def enter(step: Step, turn: Turn) -> EnterResult | Empty:
    """Ask the step's question (or settle it at once when the answer is already known)."""
    prompt = await render(turn, turn.text(step.prompt))
    kind = step.kind
    if kind == "choice":
        if step.options:
            options = [(o.id, turn.text(o.label)) for o in step.options]
        else:
            assert step.source is not None
            options = await source_options(turn, step.source)
            if not options:
                return Empty() if step.if_empty else Back(turn.t("options.none"))
        turn.say(prompt, offer(turn, step, options))
    elif kind == "yes_no":
        yes_or_no = [("yes", turn.t("option.yes")), ("no", turn.t("option.no"))]
        turn.say(prompt, offer(turn, step, yes_or_no))
    elif kind == "date":
        return await enter_date(step, turn, prompt)
    elif kind == "slot":
        return await enter_slot(step, turn, prompt)
    else:
        turn.state.pop(OFFERED, None)
        turn.say(prompt)
    return None


async def accept(step: Step, turn: Turn) -> AcceptResult:
    """Read the person's answer to the step."""
    kind = step.kind
    if kind == "choice":
        return await accept_choice(step, turn)
    if kind == "yes_no":
        return accept_yes_no(step, turn)
    if kind == "date":
        return await accept_date(turn)
    if kind == "slot":
        return await accept_slot(step, turn)
    if kind == "document":
        return accept_document(turn)
    if kind == "phone":
        return accept_phone(turn)
    if kind == "text":
        return accept_text(step, turn)
    raise ValueError(f"step kind {kind} takes no input")
