"""Compile a flow definition into one cached `transitions` machine per flow version.

Conditions reach `transitions` only as Python callables from the allowlist, never as
strings (transitions would import any dotted path it is given). Condition values are
computed by the engine before a step fires and handed in as `facts`, so the machine stays
synchronous and one shared cursor object per machine serves every conversation: its state
is set from the stored string, the event fires, the new state is read back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from transitions import Machine

from bot.flows.allowlist import CONDITIONS
from bot.flows.schema import FLOW_PREFIX, FlowDefinition, Step, load_valid

END = "end"


class _Cursor:
    """The one model object of a compiled machine; `state` is set before each event."""

    state: str


def _fact(name: str) -> Callable[[Any], bool]:
    if name not in CONDITIONS:
        raise ValueError(f"condition {name!r} is not in the allowlist")

    def check(event: Any) -> bool:
        facts: Mapping[str, bool] = event.kwargs["facts"]
        return bool(facts[name])

    check.__name__ = f"fact_{name}"
    return check


EMPTY = "empty"  # fired when a choice's source lists nothing and the step says `if_empty`


def option_trigger(option_id: str) -> str:
    """The event fired when a static option with a goto is chosen."""
    return f"opt_{option_id}"


def outcome_trigger(outcome: str) -> str:
    """The event fired when an action ends with this outcome."""
    return f"out_{outcome}"


class CompiledFlow:
    """A validated flow and its state machine."""

    def __init__(self, definition: FlowDefinition) -> None:
        self.definition = definition
        states = set(definition.steps) | {END}
        transitions: list[dict[str, Any]] = []
        for step in definition.steps.values():
            states.update(t for t in step.targets() if t.startswith(FLOW_PREFIX))
            transitions += self._transitions_of(step)
        self._cursor = _Cursor()
        self.machine = Machine(
            model=self._cursor,
            states=sorted(states),
            transitions=transitions,
            initial=definition.start,
            auto_transitions=False,
            send_event=True,
        )

    @staticmethod
    def _transitions_of(step: Step) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for branch in step.next:
            found.append(
                {
                    "trigger": "next",
                    "source": step.name,
                    "dest": branch.target,
                    "conditions": [_fact(branch.condition)] if branch.condition else [],
                }
            )
        if step.on_yes and step.on_no:
            found.append({"trigger": "yes", "source": step.name, "dest": step.on_yes})
            found.append({"trigger": "no", "source": step.name, "dest": step.on_no})
        for outcome, target in step.on.items():
            found.append({"trigger": outcome_trigger(outcome), "source": step.name, "dest": target})
        if step.if_empty:
            found.append({"trigger": EMPTY, "source": step.name, "dest": step.if_empty})
        for option in step.options:
            if option.goto:
                found.append(
                    {"trigger": option_trigger(option.id), "source": step.name, "dest": option.goto}
                )
        return found

    @property
    def name(self) -> str:
        """The flow's name."""
        return self.definition.name

    def step(self, name: str) -> Step:
        """The step definition by name."""
        return self.definition.steps[name]

    def has_trigger(self, state: str, trigger: str) -> bool:
        """Whether `trigger` leaves `state`."""
        return bool(self.machine.get_transitions(trigger=trigger, source=state))

    def fire(self, state: str, trigger: str, facts: Mapping[str, bool] | None = None) -> str:
        """The state reached from `state` by `trigger` given the condition `facts`."""
        self._cursor.state = state
        self.machine.events[trigger].trigger(self._cursor, facts=facts or {})
        return self._cursor.state

    def mermaid(self) -> str:
        """A Mermaid flowchart of the flow (for docs and `psv-admin flows graph`)."""
        lines = ["flowchart TD"]
        node_ids: dict[str, str] = {}

        def node(name: str) -> str:
            if name not in node_ids:
                node_ids[name] = f"n{len(node_ids)}"
                step = self.definition.steps.get(name)
                label = f"{name}<br/><i>{step.kind}</i>" if step else name
                shape = ("([", "])") if step is None else ("[", "]")
                lines.append(f'    {node_ids[name]}{shape[0]}"{label}"{shape[1]}')
            return node_ids[name]

        node(self.definition.start)
        for step in self.definition.steps.values():
            src = node(step.name)
            for branch in step.next:
                label = f"|{branch.condition}|" if branch.condition else ""
                lines.append(f"    {src} -->{label} {node(branch.target)}")
            for label, target in (("yes", step.on_yes), ("no", step.on_no)):
                if target:
                    lines.append(f"    {src} -->|{label}| {node(target)}")
            for outcome, target in step.on.items():
                lines.append(f"    {src} -->|{outcome}| {node(target)}")
            for option in step.options:
                if option.goto:
                    lines.append(f"    {src} -->|{option.id}| {node(option.goto)}")
        return "\n".join(lines) + "\n"


def checksum(source: str) -> str:
    """The identity of a flow's text (its SHA-256)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@lru_cache(maxsize=256)
def compile_source(source: str, file: str, known_flows: frozenset[str]) -> CompiledFlow:
    """Validate and compile a flow text once; later calls return the cached machine."""
    return CompiledFlow(load_valid(source, file, known_flows=known_flows))
