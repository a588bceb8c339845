"""Navigation words at any question: «menú», «atrás», «cancelar», «más», and their questions.

A navigation question (the misunderstood offer, «cancel?») keeps the question's own options
aside, so a later answer to the question itself still reads them.
"""

from __future__ import annotations

from bot.conversation import state as key
from bot.conversation.turn import Turn
from bot.messages import OPTIONS_PAGE, Option
from bot.understanding import Choice, global_command, match_option, yes_no

FIRST_CONTACT = "first_contact"
MENU = "menu"
BOOK = "book"
# Global words and the flow each one opens (the others act on the current step).
FLOW_COMMANDS = {
    "menu": MENU,
    "restart": MENU,
    "language": "language",
    "human": "handoff",
    "erase": "delete_data",  # «borrar mis datos» at any question, as the privacy notice promises
    "book": "book",  # the "book again" button of a notification (payload "menu:book")
}


def offer_nav(turn: Turn, text: str, options: list[tuple[str, str]]) -> None:
    """Ask a navigation question, keeping the question's own options for a later answer."""
    if turn.state.get(key.OFFERED_STEP) != key.NAV_STEP:
        turn.state[key.NAV_SAVED] = [turn.state.get(key.OFFERED), turn.state.get(key.OFFERED_STEP)]
    turn.state[key.OFFERED] = [list(o) for o in options]
    turn.state[key.OFFERED_STEP] = key.NAV_STEP
    turn.say(text, [Option(p, label) for p, label in options])


def drop_nav(turn: Turn) -> None:
    """The person answered the question itself: its own options stand again."""
    saved = turn.state.pop(key.NAV_SAVED, None)
    if turn.state.get(key.OFFERED_STEP) == key.NAV_STEP:
        offered, step = saved if saved else (None, None)
        turn.state[key.OFFERED], turn.state[key.OFFERED_STEP] = offered or [], step


def command(turn: Turn) -> str | None:
    """The navigation command a message gives (a button, a navigation answer, a global word)."""
    inbound = turn.inbound
    if inbound.payload and inbound.payload.startswith(("nav:", "menu:")):
        return inbound.payload.partition(":")[2]
    if turn.state.get(key.OFFERED_STEP) == key.NAV_STEP:
        offered = [Choice(p, (label,)) for p, label in turn.state.get(key.OFFERED, [])]
        chosen = match_option(inbound.text, offered).payload
        if chosen:
            return chosen.removeprefix("nav:")
    if turn.state.get(key.CANCEL_ASKED) and inbound.text:
        said = yes_no(inbound.text, turn.lang, emoji=False)
        if said is not None:
            return "cancel" if said else "stay"
    return global_command(inbound.text) if inbound.text else None


def pageable(turn: Turn) -> bool:
    """Whether the question being asked offers more options than one page shows."""
    state = turn.state
    return (
        state.get(key.OFFERED_STEP) == turn.conversation.step
        and len(state.get(key.OFFERED, [])) > OPTIONS_PAGE
    )
