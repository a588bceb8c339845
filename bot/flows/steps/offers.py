"""The options a step shows, remembered in the conversation so that "2" means the second seen."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.conversation.state import OFFERED, OFFERED_STEP
from bot.conversation.turn import Turn
from bot.flows.schema import Step
from bot.messages import Option
from bot.understanding import Choice, match_option

# Channels that show options as buttons, not numbered lines (bot/channels/telegram/send.py).
BUTTON_CHANNELS = frozenset({"telegram"})


def tz(turn: Turn) -> ZoneInfo:
    """The time zone the person's days and times are said in."""
    return ZoneInfo(turn.timezone)


def offer(turn: Turn, step: Step, options: Sequence[tuple[str, str]]) -> list[Option]:
    """Remember these (payload, label) options as the step's list and return them to show."""
    turn.state[OFFERED] = [[payload, label] for payload, label in options]
    turn.state[OFFERED_STEP] = step.name
    return [Option(payload, label) for payload, label in options]


def offered(turn: Turn) -> list[Choice]:
    """The options last shown, as choices to match an answer against."""
    return [Choice(payload, (label,)) for payload, label in turn.state.get(OFFERED, [])]


def match(turn: Turn, choices: Sequence[Choice]) -> str | None:
    """The payload of the choice the inbound picks (button, number or words), if any."""
    inbound = turn.inbound
    return match_option(inbound.text, choices, payload=inbound.payload).payload


def typed_number(turn: Turn) -> str | None:
    """The payload of the offered option whose number was typed, if a bare number was."""
    text = turn.inbound.text.strip()
    if not text.isdigit() or len(text) > 2:
        return None
    return match(turn, offered(turn))


def choose_hint(turn: Turn) -> str:
    """How to answer a list on this channel: buttons on Telegram, numbers elsewhere."""
    return turn.t(
        "hint.choose_button" if turn.inbound.channel in BUTTON_CHANNELS else "hint.choose_number"
    )
