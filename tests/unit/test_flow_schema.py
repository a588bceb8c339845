"""Flows as data: the validator's precise errors, the allowlists, the compiled machines."""

from __future__ import annotations

import textwrap

import pytest

from bot.flows import registry
from bot.flows.machine import CompiledFlow, compile_source
from bot.flows.schema import InvalidFlow, load_valid, parse_flow, validate

KNOWN = registry.template_names()

MINIMAL = """\
flow: tiny
languages: [es, en]
start: ask
steps:
  ask:
    kind: yes_no
    prompt: {es: "¿Sí?", en: "Yes?"}
    on_yes: bye
    on_no: end
  bye:
    kind: message
    prompt: {es: "Chau", en: "Bye"}
    next: end
"""


def _errors(text: str, **kw: object) -> list[str]:
    try:
        load_valid(textwrap.dedent(text), "test.yaml", known_flows=KNOWN, **kw)  # type: ignore[arg-type]
    except InvalidFlow as invalid:
        return [str(e) for e in invalid.errors]
    return []


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_every_template_is_valid_and_compiles(name: str) -> None:
    source = registry.template_sources()[name]
    flow = compile_source(source, f"{name}.yaml", KNOWN)
    assert isinstance(flow, CompiledFlow)
    assert set(flow.definition.languages) == {"es", "en", "qu"}
    assert flow.mermaid().startswith("flowchart TD")


def test_minimal_flow_is_valid() -> None:
    assert _errors(MINIMAL) == []


def test_compiled_once_per_version() -> None:
    first = compile_source(MINIMAL, "a.yaml", KNOWN)
    assert compile_source(MINIMAL, "a.yaml", KNOWN) is first


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("kind: message", "kind: telepathy"),
            "test.yaml:11: step 'bye': unknown step kind 'telepathy'",  # the line of kind:
        ),
        (
            ("next: end", "next: nowhere"),
            "test.yaml:10: step 'bye': target 'nowhere' is not a step",
        ),
        (("on_yes: bye", "on_yes: flow:nope"), "step 'ask': unknown flow in target 'flow:nope'"),
        (('en: "Bye"', 'fr: "Bye"'), "test.yaml:10: step 'bye': prompt missing in en"),
        (
            ("    next: end\n", "    next: end\n    colour: red\n"),
            "step 'bye': unknown field 'colour'",
        ),
        (('prompt: {es: "Chau"', 'prompt: {es: "Chau {secret.__class__}"'), "unknown placeholder"),
    ],
)
def test_precise_errors(change: tuple[str, str], expected: str) -> None:
    text = MINIMAL.replace(*change)
    errors = _errors(text)
    assert any(expected in e for e in errors), errors


def test_if_empty_belongs_to_a_choice_with_a_source_and_names_a_step() -> None:
    on_yes_no = MINIMAL.replace("    on_yes: bye\n", "    on_yes: bye\n    if_empty: bye\n")
    wrong_kind = "step 'ask': if_empty belongs to a choice with a source"
    assert any(wrong_kind in e for e in _errors(on_yes_no))
    yes_no = '    kind: yes_no\n    prompt: {es: "¿Sí?", en: "Yes?"}\n'
    listing = MINIMAL.replace("    on_yes: bye\n    on_no: end\n", "").replace(
        yes_no,
        "    kind: choice\n    source: events\n    save: event\n    prompt: {es: a, en: a}\n"
        "    if_empty: {target}\n    next: end\n",
    )
    assert _errors(listing.replace("{target}", "bye")) == []
    missing = _errors(listing.replace("{target}", "nowhere"))
    assert any("step 'ask': target 'nowhere' is not a step" in e for e in missing), missing
    flow = compile_source(textwrap.dedent(listing.replace("{target}", "bye")), "e.yaml", KNOWN)
    assert flow.fire("ask", "empty") == "bye"


def test_unreachable_step() -> None:
    text = MINIMAL.replace(
        "steps:\n",
        "steps:\n  island:\n    kind: message\n    prompt: {es: x, en: x}\n    next: end\n",
    )
    assert _errors(text) == ["test.yaml:5: step 'island': unreachable from the start step"]


def test_no_way_to_finish() -> None:
    text = MINIMAL.replace("on_no: end", "on_no: loop").replace(
        "  bye:", "  loop:\n    kind: message\n    prompt: {es: x, en: x}\n    next: loop\n  bye:"
    )
    errors = _errors(text)
    assert any("step 'loop': no way to finish" in e for e in errors), errors


def test_missing_language_of_the_region() -> None:
    errors = _errors(MINIMAL, tenant_languages=["es", "qu"])
    assert errors == ["test.yaml:1: the region offers 'qu' but the flow has no texts in it"]


def test_booking_path_must_collect_what_book_needs() -> None:
    source = registry.template_sources()["book"]
    broken = source.replace("    next: doc_type\n", "    next: confirm\n", 1)
    errors = _errors(broken)
    assert any(
        "step 'do_book': action 'book' needs doc_type, document, name on every path" in e
        for e in errors
    ), errors


def test_flows_cannot_name_code() -> None:
    """transitions would import a dotted path given as a condition or callback: refuse it."""
    text = MINIMAL.replace(
        "on_no: end",
        "on_no: end\n    next:\n      - if: os.system\n        goto: bye\n      - goto: end",
    )
    assert any("unknown condition 'os.system'" in e for e in _errors(text))
    action = MINIMAL.replace(
        "  bye:\n    kind: message", "  bye:\n    kind: action\n    action: subprocess.run"
    )
    assert any("unknown action 'subprocess.run'" in e for e in _errors(action))


def test_machine_gets_only_callables() -> None:
    for name, source in registry.template_sources().items():
        flow = compile_source(source, f"{name}.yaml", KNOWN)
        for event in flow.machine.events.values():
            for transitions in event.transitions.values():
                for transition in transitions:
                    for condition in transition.conditions:
                        assert callable(condition.func), (name, condition.func)
                    assert transition.before == [] and transition.after == []
                    assert transition.prepare == []


def test_yaml_on_is_a_key_not_true() -> None:
    flow = parse_flow(registry.template_sources()["book"], "book.yaml")
    assert flow.steps["do_book"].on == {"ok": "booked", "slot_taken": "slot", "default": "failed"}


def test_branches_follow_facts() -> None:
    flow = compile_source(registry.template_sources()["book"], "book.yaml", KNOWN)
    assert flow.fire("name", "next") == "phone_known"
    assert flow.fire("phone_known", "next", {"service_asks_description": True}) == "description"
    assert flow.fire("phone_known", "next", {"service_asks_description": False}) == "confirm"
    assert flow.fire("confirm", "yes") == "do_book"


def test_not_yaml_is_located() -> None:
    errors = _errors("flow: x\nsteps: [\n")
    assert errors and errors[0].startswith("test.yaml:") and "not valid YAML" in errors[0]


def test_validate_reports_all_errors_sorted() -> None:
    flow = parse_flow(
        MINIMAL.replace("next: end", "next: a").replace("on_no: end", "on_no: b"), "t.yaml"
    )
    errors = validate(flow, known_flows=KNOWN)
    assert [e.line for e in errors] == sorted(e.line for e in errors)
    assert len(errors) >= 2
