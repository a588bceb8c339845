"""Placeholders with fallbacks (`{first_name|vecino(a)}`) and the validator's warnings."""

from __future__ import annotations

import pytest

from bot.flows import registry
from bot.flows.placeholders import fill
from bot.flows.schema import InvalidFlow, load_valid, warnings

KNOWN = registry.template_names()
FLOW = """\
flow: menu
languages: [es]
start: hello
steps:
  hello:
    kind: message
    prompt:
      es: "Hola {first_name}, bienvenido(a)."
    next: ask
  ask:
    kind: text
    save: name
    prompt: {es: "¿Su nombre?"}
    next: bye
  bye:
    kind: message
    prompt: {es: "Gracias, {first_name}. {region_name|}"}
    next: end
"""


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("Hola {first_name}, bienvenido(a)", "", "Hola, bienvenido(a)"),
        ("Hola {first_name|}, bienvenido(a)", "", "Hola, bienvenido(a)"),
        ("Hola {first_name|vecino(a)}, bienvenido(a)", "", "Hola vecino(a), bienvenido(a)"),
        ("Hola {first_name|vecino(a)}, bienvenido(a)", "Rosa", "Hola Rosa, bienvenido(a)"),
        ("Hola {first_name|vecino(a)}, bienvenido(a)", "   ", "Hola vecino(a), bienvenido(a)"),
        ("{first_name}, bienvenido(a)", "", "bienvenido(a)"),
        ("Linea\n{first_name}: hola", "", "Linea\nhola"),
    ],
)
def test_an_empty_value_never_leaves_a_stray_space(text: str, value: str, expected: str) -> None:
    assert fill(text, {"first_name": value}) == expected


def test_unknown_names_stay_as_written() -> None:
    assert fill("{nope} {first_name}", {"first_name": "Ana"}) == "{nope} Ana"


def test_a_placeholder_that_can_be_empty_warns_at_its_line_and_column() -> None:
    flow = load_valid(FLOW, "menu.yaml", known_flows=KNOWN)
    found = warnings(flow)
    assert [(w.line, w.column, w.step) for w in found] == [(8, 17, "hello")]
    [warning] = found
    assert warning.warning and "{first_name|}" in (warning.es or "")
    assert FLOW.splitlines()[7][16:].startswith("{first_name}")


def test_the_national_templates_have_no_warnings() -> None:
    for name, source in registry.template_sources().items():
        assert warnings(load_valid(source, f"{name}.yaml", known_flows=KNOWN)) == [], name


def test_an_unknown_placeholder_names_its_column_and_the_allowed_ones() -> None:
    text = FLOW.replace("{region_name|}", "{regoin_name|}")
    with pytest.raises(InvalidFlow) as raised:
        load_valid(text, "menu.yaml", known_flows=KNOWN)
    [error] = raised.value.errors
    line = text.splitlines()[error.line - 1]
    assert error.column is not None
    assert line[error.column - 1 :].startswith("{regoin_name|}")
    assert "{region_name}" in error.allowed and "{regoin_name|}" in (error.es or "")
