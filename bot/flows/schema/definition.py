"""The flow format's words and shapes: step kinds, fields, targets, and a parsed flow.

A flow is data: steps of kinds from a fixed library, prompts per language, targets, and
actions and conditions named from the allowlists of bot/flows/allowlist.py. Nothing in a flow
can name code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# The library of step kinds (bot/flows/steps/ implements each).
INPUT_KINDS = frozenset({"choice", "text", "date", "slot", "document", "phone", "yes_no"})
STEP_KINDS = INPUT_KINDS | {"message", "action"}
SPECIAL_TARGETS = frozenset({"end"})
FLOW_PREFIX = "flow:"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
STEP_KEYS = frozenset(
    {
        "kind",
        "prompt",
        "options",
        "source",
        "save",
        "next",
        "on_yes",
        "on_no",
        "action",
        "on",
        "skip_if",
        "max_length",
        "if_empty",
    }
)
TOP_KEYS = frozenset({"flow", "languages", "start", "steps", "description"})

# Step fields that hold one name (of a source, an answer, a target, an action, a condition).
WORD_KEYS = ("source", "save", "on_yes", "on_no", "action", "skip_if", "if_empty")


@dataclass(frozen=True)
class FlowError:
    """One problem in a flow, located precisely (the column and quoted text when known).

    `message` is English; `es` says the same in plain Spanish for the admins' CLI. `allowed`
    lists what may be written instead; a `warning` does not stop the flow from running.
    """

    file: str
    line: int
    step: str | None
    message: str
    column: int | None = None
    text: str | None = None
    allowed: tuple[str, ...] = ()
    es: str | None = None
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return (
            f"{where}: step '{self.step}': {self.message}"
            if self.step
            else f"{where}: {self.message}"
        )


class InvalidFlow(Exception):
    """A flow that failed validation; `errors` lists every problem found."""

    def __init__(self, errors: list[FlowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Branch:
    """Go to `target` when `condition` holds (None: always)."""

    target: str
    condition: str | None = None


@dataclass(frozen=True)
class StaticOption:
    """An option written in the flow: an id, labels per language, an optional target."""

    id: str
    label: Mapping[str, str]
    goto: str | None = None
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spot:
    """One {placeholder} in a prompt, where it is written (1-based line and column)."""

    lang: str
    written: str  # what is between the braces: `first_name` or `first_name|amigo`
    line: int
    column: int
    text: str  # the whole prompt, for quoting

    @property
    def name(self) -> str:
        """The placeholder's name, without its fallback."""
        return self.written.split("|", 1)[0].strip()

    @property
    def has_fallback(self) -> bool:
        """Whether the flow says what to write when the value is empty (`{name|...}`)."""
        return "|" in self.written


@dataclass(frozen=True)
class Step:
    """One step of a flow, as written."""

    name: str
    kind: str
    line: int
    prompt: Mapping[str, str] = field(default_factory=dict)
    options: tuple[StaticOption, ...] = ()
    source: str | None = None
    save: str | None = None
    next: tuple[Branch, ...] = ()
    on_yes: str | None = None
    on_no: str | None = None
    action: str | None = None
    on: Mapping[str, str] = field(default_factory=dict)
    skip_if: str | None = None
    max_length: int = 500
    if_empty: str | None = None  # where a choice goes when its source lists nothing
    placeholders: tuple[Spot, ...] = ()

    def targets(self) -> list[str]:
        """Every step or flow this step can lead to."""
        found = [b.target for b in self.next]
        found += [t for t in (self.on_yes, self.on_no) if t]
        found += list(self.on.values())
        found += [o.goto for o in self.options if o.goto]
        found += [self.if_empty] if self.if_empty else []
        return found


@dataclass(frozen=True)
class FlowDefinition:
    """A parsed flow: its name, languages, first step and steps by name."""

    name: str
    languages: tuple[str, ...]
    start: str
    steps: Mapping[str, Step]
    file: str = "<flow>"
    description: str = ""
