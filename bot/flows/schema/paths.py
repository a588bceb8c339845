"""Where a flow's paths go: steps reachable, steps that can finish, answers saved on the way."""

from __future__ import annotations

from bot.flows.allowlist import CONDITION_PROVIDES
from bot.flows.schema.definition import FLOW_PREFIX, SPECIAL_TARGETS, FlowDefinition


def reachable(flow: FlowDefinition) -> set[str]:
    """Steps some path from the start step reaches."""
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        name = todo.pop()
        if name in seen or name not in flow.steps:
            continue
        seen.add(name)
        todo.extend(flow.steps[name].targets())
    return seen


def can_finish(flow: FlowDefinition) -> set[str]:
    """Steps from which `end` or another flow can be reached."""
    finishing: set[str] = set()
    changed = True
    while changed:
        changed = False
        for step in flow.steps.values():
            if step.name in finishing:
                continue
            if any(
                t in SPECIAL_TARGETS or t.startswith(FLOW_PREFIX) or t in finishing
                for t in step.targets()
            ):
                finishing.add(step.name)
                changed = True
    return finishing


def saved_on_every_path(flow: FlowDefinition) -> dict[str, frozenset[str]]:
    """For each step, the answers saved on every path from the start to it (dataflow)."""
    everything = frozenset(
        {s.save for s in flow.steps.values() if s.save}
        | {k for provides in CONDITION_PROVIDES.values() for k in provides}
    )
    before: dict[str, frozenset[str]] = {name: everything for name in flow.steps}
    before[flow.start] = frozenset()
    changed = True
    while changed:
        changed = False
        for step in flow.steps.values():
            after = set(before[step.name])
            if step.save:
                after.add(step.save)
            for target in step.targets():
                if target not in flow.steps:
                    continue
                incoming = frozenset(after)
                new = before[target] & incoming if target != flow.start else frozenset()
                if new != before[target]:
                    before[target] = new
                    changed = True
            if step.skip_if is not None and step.skip_if in CONDITION_PROVIDES:
                # A skipped step jumps to its next with what the condition vouches for.
                skipped = frozenset(before[step.name] | CONDITION_PROVIDES[step.skip_if])
                for branch in step.next:
                    if branch.target in flow.steps and branch.target != flow.start:
                        new = before[branch.target] & (skipped | {step.save or ""})
                        if new != before[branch.target]:
                            before[branch.target] = new
                            changed = True
    return before
