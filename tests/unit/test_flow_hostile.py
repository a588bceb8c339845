"""Any document given as a flow ends in a FlowDefinition or InvalidFlow, never a crash."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.flows.registry import template_names, template_sources
from bot.flows.schema import MAX_DEPTH, InvalidFlow, load_valid
from bot.flows.schema.definition import STEP_KEYS

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(["end", "flow:menu", "es", "choice", "book", "has_region", "{name}"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=30,
)
# Every step key, and the keys of options and transitions inside them.
FIELDS = st.sampled_from([*sorted(STEP_KEYS), "label", "words", "goto", "if"])


def _outcome(text: str) -> str:
    try:
        load_valid(text, "fuzz.yaml", known_flows=template_names())
    except InvalidFlow as exc:
        assert exc.errors and all(e.message for e in exc.errors)
        return "invalid"
    return "valid"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_any_yaml_value_is_a_flow_or_invalid(value: Any) -> None:
    assert _outcome(yaml.safe_dump(value)) in ("valid", "invalid")


def _replace_everywhere(node: Any, field: str, value: Any, every: int, seen: list[int]) -> Any:
    """The template with some occurrences of `field` (every n-th) given `value`."""
    if isinstance(node, dict):
        out = {}
        for key, item in node.items():
            if key == field:
                seen[0] += 1
                if seen[0] % every == 0:
                    out[key] = value
                    continue
            out[key] = _replace_everywhere(item, field, value, every, seen)
        return out
    if isinstance(node, list):
        return [_replace_everywhere(item, field, value, every, seen) for item in node]
    return node


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(template_sources())),
    FIELDS,
    VALUES,
    st.integers(min_value=1, max_value=4),
)
def test_a_template_with_a_field_of_any_type_is_a_flow_or_invalid(
    name: str, field: str, value: Any, every: int
) -> None:
    template = yaml.safe_load(template_sources()[name])
    mutated = _replace_everywhere(template, field, value, every, [0])
    assert _outcome(yaml.safe_dump(mutated, allow_unicode=True)) in ("valid", "invalid")


def test_nesting_at_the_limit_is_read_and_one_more_is_refused() -> None:
    def nested(levels: int) -> str:
        # The root mapping is level 1; each list adds one.
        return "flow: menu\ndescription: " + "[" * (levels - 1) + "]" * (levels - 1) + "\n"

    assert "nested" not in str(_errors(nested(MAX_DEPTH)))
    assert "nested deeper than" in str(_errors(nested(MAX_DEPTH + 1)))


def _errors(text: str) -> list[str]:
    try:
        load_valid(text, "t.yaml", known_flows=template_names())
    except InvalidFlow as exc:
        return [e.message for e in exc.errors]
    return []


def test_anchors_are_refused_even_without_aliases() -> None:
    source = template_sources()["menu"].replace("flow: menu", "flow: &name menu", 1)
    assert "anchors (&name) and aliases (*name) are not allowed" in str(_errors(source))


def test_the_national_templates_fit_the_budgets() -> None:
    for name, source in template_sources().items():
        assert _errors(source) == [], name
