"""One registry of what a flow may name: the validator and the runtime agree on every name."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bot.flows import actions, allowlist, conditions, placeholders
from bot.flows.schema import FlowError, InvalidFlow, load_valid
from bot.flows.steps import sources

FLOW = """\
flow: probe
languages: [es]
start: ask
steps:
  ask:
    kind: yes_no
    prompt: {es: "{PROMPT}"}
    on_yes: act
    on_no: end
    skip_if: CONDITION
  act:
    kind: action
    action: ACTION
    on: {ok: end}
"""


def _refusals(
    action: str = "handoff", condition: str = "has_region", prompt: str = "¿Sí?"
) -> dict[str, FlowError]:
    """The errors of the probe flow with one name changed, by message."""
    text = (
        FLOW.replace("ACTION", action).replace("CONDITION", condition).replace("{PROMPT}", prompt)
    )
    with pytest.raises(InvalidFlow) as invalid:
        load_valid(textwrap.dedent(text), "probe.yaml")
    return {e.message: e for e in invalid.value.errors}


def test_actions_the_validator_allows_are_the_actions_that_run() -> None:
    assert set(actions.ACTIONS) == allowlist.ACTIONS == set(allowlist.ACTION_NEEDS)
    errors = _refusals(action="launch_rockets")
    assert errors["unknown action 'launch_rockets'"].allowed == tuple(sorted(actions.ACTIONS))


def test_conditions_the_validator_allows_are_the_conditions_that_run() -> None:
    assert set(conditions.CONDITIONS) == allowlist.CONDITIONS
    assert set(allowlist.CONDITION_PROVIDES) == allowlist.CONDITIONS
    errors = _refusals(condition="is_tuesday")
    assert errors["unknown condition 'is_tuesday'"].allowed == tuple(sorted(conditions.CONDITIONS))


def test_sources_and_placeholders_have_their_code() -> None:
    assert set(sources.SOURCES) == allowlist.SOURCES
    assert set(placeholders.RESOLVERS) | allowlist.ACTION_PLACEHOLDERS == allowlist.PLACEHOLDERS
    assert set(allowlist.PLACEHOLDER_NEEDS) <= set(placeholders.RESOLVERS)


def test_each_runtime_function_is_filed_under_its_own_name() -> None:
    for table in (actions.ACTIONS, conditions.CONDITIONS, sources.SOURCES, placeholders.RESOLVERS):
        assert all(function.__name__ == name for name, function in table.items())


def test_a_runtime_table_that_differs_from_the_registry_is_refused() -> None:
    async def record_consent() -> str:
        return "ok"

    async def launch_rockets() -> str:
        return "ok"

    with pytest.raises(allowlist.AllowlistMismatch) as refused:
        allowlist.bind("action", {"record_consent", "book"}, [record_consent, launch_rockets])
    assert "declared without code ['book']" in str(refused.value)
    assert "code without declaration ['launch_rockets']" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "name", "fallback"),
    [
        ("{first_name}", "first_name", None),
        ("{first_name|amigo(a)}", "first_name", "amigo(a)"),
        ("{first_name|}", "first_name", ""),
        ("{Nombre}", "Nombre", None),
        ("{a|b|c}", "a", "b|c"),
    ],
)
def test_one_placeholder_pattern_reads_name_and_fallback(
    text: str, name: str, fallback: str | None
) -> None:
    spot = allowlist.PLACEHOLDER.fullmatch(text)
    assert spot is not None
    assert (spot["name"], spot["fallback"]) == (name, fallback)


def test_a_misspelt_placeholder_is_named_by_the_validator_and_left_by_the_renderer() -> None:
    errors = _refusals(prompt="Hola {Nombre}")
    assert "unknown placeholder {Nombre} in 'es'" in errors
    assert placeholders.fill("Hola {Nombre}", {"first_name": "Ana"}) == "Hola {Nombre}"


def test_validating_a_flow_loads_no_runtime_code() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE_IMPORTS], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


# Imports the validator alone and prints the runtime modules that came with it.
PROBE_IMPORTS = """
import sys
import bot.flows.schema
runtime = ("sqlalchemy", "core", "bot.turn", "bot.flows.actions", "bot.flows.conditions")
print(" ".join(m for m in sys.modules if m.startswith(runtime)))
"""
