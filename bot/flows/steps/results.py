"""What a step makes of a turn: `Accepted`, `Rejected` (not understood), `Back` or `Empty`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    """Nothing can be offered here: say `message` and go back to the previous question, or
    to the question that saves `to` when that answer is what nothing can be offered for."""

    message: str
    to: str | None = None


@dataclass(frozen=True)
class Empty:
    """The step's list is empty and the flow says where to go instead (`if_empty`)."""


EnterResult = Accepted | Back | None
AcceptResult = Accepted | Rejected | Back
