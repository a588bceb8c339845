"""The library of step kinds: how each asks (`enter`) and what it accepts (`accept`).

The parts: `kinds` (which module serves each kind), `choice`, `services`, `dates`, `slots`
and `answers` (yes/no, text, phone, document), the lists of `sources`, the `offers` shown and
remembered, and the `results` a step returns.
"""

from bot.flows.steps.choice import option_choices
from bot.flows.steps.kinds import accept, enter
from bot.flows.steps.results import Accepted, AcceptResult, Back, Empty, EnterResult, Rejected
from bot.flows.steps.sources import hearing_context

__all__ = [
    "AcceptResult",
    "Accepted",
    "Back",
    "Empty",
    "EnterResult",
    "Rejected",
    "accept",
    "enter",
    "hearing_context",
    "option_choices",
]
