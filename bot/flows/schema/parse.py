"""From a flow's YAML to a FlowDefinition: each field read and type-checked, errors located.

Parsing collects every problem it finds (file, line, step, and the column for a placeholder)
before raising InvalidFlow; the checks across steps are in bot/flows/schema/checks.py.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

from bot.flows.allowlist import CONDITIONS, PLACEHOLDER
from bot.flows.schema.definition import (
    NAME_RE,
    STEP_KEYS,
    STEP_KINDS,
    TOP_KEYS,
    WORD_KEYS,
    Branch,
    FlowDefinition,
    FlowError,
    InvalidFlow,
    Spot,
    StaticOption,
    Step,
)
from bot.flows.schema.loader import META, load_document


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k not in META}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


class Collector:
    """The errors found in one flow, and where each character of its source is."""

    def __init__(self, file: str, source: str = "") -> None:
        self.file = file
        self.source = source
        self.errors: list[FlowError] = []
        self.starts = [0]
        for number, char in enumerate(source):
            if char == "\n":
                self.starts.append(number + 1)

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based line and column of a character offset of the source."""
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def spots(self, raw: Any, texts: Mapping[str, str], line: int) -> tuple[Spot, ...]:
        """Where each placeholder of a prompt is written in the source."""
        found: list[Spot] = []
        at: dict[Any, tuple[int, int]] = raw.get("__at__", {}) if isinstance(raw, dict) else {}
        for lang, text in texts.items():
            start_line, start_column = at.get(lang, (line - 1, 0))
            offset = self.starts[start_line] + start_column if start_line < len(self.starts) else 0
            for match in PLACEHOLDER.finditer(text):
                hit = self.source.find(match.group(0), offset)
                where = self.position(hit) if hit >= 0 else (start_line + 1, start_column + 1)
                offset = hit + 1 if hit >= 0 else offset
                found.append(Spot(lang, match.group(0)[1:-1], where[0], where[1], text))
        return tuple(found)

    def add(
        self, line: int, step: str | None, message: str, es: str | None = None, **more: Any
    ) -> None:
        """Note one error (English `message`, Spanish `es`) at a line of a step."""
        self.errors.append(FlowError(self.file, line, step, message, es=es, **more))


def _es_what(what: str) -> str:
    """The Spanish of a text's role in a message («prompt», «label of option 'x'»)."""
    if what.startswith("label of option "):
        return "el nombre (label) de la opción " + what[len("label of option ") :]
    return "el texto (prompt)" if what == "prompt" else what


def _texts(value: Any, where: Collector, line: int, step: str, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        where.add(
            line,
            step,
            f"{what} must be a mapping of language to text",
            f"{_es_what(what)} debe tener un texto por idioma (es: ..., en: ...)",
        )
        return {}
    texts = _strip_lines(value)
    for lang, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            where.add(
                line,
                step,
                f"{what} in '{lang}' must be a non-empty text",
                f"{_es_what(what)} en '{lang}' no puede estar vacío",
            )
    return {str(k): str(v) for k, v in texts.items()}


def _branches(value: Any, where: Collector, line: int, step: str) -> tuple[Branch, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (Branch(value),)
    if not isinstance(value, list):
        where.add(
            line,
            step,
            "next must be a step name or a list of {if, goto}",
            "next debe ser el nombre de un paso o una lista de {if, goto}",
        )
        return ()
    found = []
    for item in value:
        if not isinstance(item, dict) or "goto" not in item:
            where.add(
                line,
                step,
                "each branch of next needs 'goto' (and optionally 'if')",
                "cada rama de next necesita 'goto' (y, si quiere, 'if')",
            )
            continue
        condition = item.get("if")
        if condition is not None and not isinstance(condition, str):
            where.add(
                line,
                step,
                "the 'if' of a branch must be a condition name",
                "el 'if' de una rama debe ser el nombre de una condición",
                allowed=tuple(sorted(CONDITIONS)),
            )
            continue
        found.append(Branch(str(item["goto"]), condition))
    return tuple(found)


def _options(value: Any, where: Collector, line: int, step: str) -> tuple[StaticOption, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        where.add(line, step, "options must be a list", "options debe ser una lista")
        return ()
    found = []
    for item in value:
        item_line = item.get("__line__", line) if isinstance(item, dict) else line
        if not isinstance(item, dict) or "id" not in item or "label" not in item:
            where.add(
                item_line,
                step,
                "each option needs an 'id' and a 'label' per language",
                "cada opción necesita un 'id' y un 'label' por idioma",
            )
            continue
        label = _texts(item["label"], where, item_line, step, f"label of option '{item['id']}'")
        goto = item.get("goto")
        words = item.get("words") or []
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            where.add(
                item_line,
                step,
                f"words of option '{item['id']}' must be a list of texts",
                f"words de la opción '{item['id']}' debe ser una lista de textos",
            )
            words = []
        found.append(
            StaticOption(str(item["id"]), label, str(goto) if goto else None, tuple(words))
        )
    return tuple(found)


def _word(raw: dict[Any, Any], key: str, where: Collector, line: int, step: str) -> str | None:
    """A field that must be a single name: a text, or absent."""
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    where.add(
        line,
        step,
        f"{key} must be a name, not {type(value).__name__}",
        f"{key} debe ser un solo nombre, sin listas ni números",
        column=None,
    )
    return None


def _parse_step(name: str, raw: Any, where: Collector, default_line: int) -> Step | None:
    if not isinstance(raw, dict):
        where.add(
            default_line,
            name,
            "a step must be a mapping",
            "un paso debe tener sus campos debajo (kind:, prompt:, next: ...)",
        )
        return None
    line = int(raw.get("__line__", default_line))
    unknown = set(raw) - STEP_KEYS - set(META)
    key_lines: dict[Any, int] = raw.get("__keys__", {})
    for key in sorted(unknown, key=str):
        where.add(
            key_lines.get(key, line),
            name,
            f"unknown field {str(key)[:60]!r}",
            f"el campo {str(key)[:60]!r} no existe en un paso",
            text=str(key)[:60],
            allowed=tuple(sorted(STEP_KEYS)),
        )
    words = {key: _word(raw, key, where, line, name) for key in WORD_KEYS}
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in STEP_KINDS:
        where.add(
            key_lines.get("kind", line),
            name,
            f"unknown step kind {kind!r} (known: {', '.join(sorted(STEP_KINDS))})",
            f"el tipo de paso {kind!r} no existe",
            text=str(kind)[:60],
            allowed=tuple(sorted(STEP_KINDS)),
        )
        return None
    on_raw = raw.get("on") or {}
    if not isinstance(on_raw, dict):
        where.add(
            line,
            name,
            "'on' must map outcomes to targets",
            "'on' debe decir a qué paso va cada resultado (ok: paso, ...)",
        )
        on_raw = {}
    max_length = raw.get("max_length", 500)
    if not isinstance(max_length, int) or not 1 <= max_length <= 2000:
        where.add(
            line,
            name,
            "max_length must be a whole number from 1 to 2000",
            "max_length debe ser un número entero de 1 a 2000",
        )
        max_length = 500
    prompt = _texts(raw.get("prompt"), where, line, name, "prompt")
    return Step(
        name=name,
        kind=str(kind),
        line=line,
        prompt=prompt,
        placeholders=where.spots(raw.get("prompt"), prompt, key_lines.get("prompt", line)),
        options=_options(raw.get("options"), where, line, name),
        source=words["source"],
        save=words["save"],
        next=_branches(raw.get("next"), where, line, name),
        on_yes=words["on_yes"],
        on_no=words["on_no"],
        action=words["action"],
        on={str(k): str(v) for k, v in _strip_lines(on_raw).items()},
        skip_if=words["skip_if"],
        max_length=max_length,
        if_empty=words["if_empty"],
    )


def parse_flow(text: str, file: str = "<flow>") -> FlowDefinition:
    """Parse YAML into a FlowDefinition, or raise InvalidFlow with located errors."""
    where = Collector(file, text)
    raw = load_document(text, file)
    if not isinstance(raw, dict):
        raise InvalidFlow([FlowError(file, 1, None, "a flow must be a mapping")])
    top_lines: dict[Any, int] = raw.get("__keys__", {})
    for key in sorted(set(raw) - TOP_KEYS - set(META), key=str):
        where.add(
            top_lines.get(key, 1),
            None,
            f"unknown top-level field {str(key)[:60]!r}",
            f"el campo {str(key)[:60]!r} no existe al inicio de un flujo",
            text=str(key)[:60],
            allowed=tuple(sorted(TOP_KEYS)),
        )
    for key in ("flow", "languages", "start", "steps"):
        if key not in raw:
            where.add(1, None, f"missing '{key}'", f"falta el campo '{key}:'")
    name = str(raw.get("flow", ""))
    if name and not NAME_RE.match(name):
        where.add(
            1,
            None,
            f"flow name {name!r} must be lower case letters, digits and _",
            f"el nombre del flujo {name!r} debe tener solo minúsculas, dígitos y _",
        )
    languages = raw.get("languages") or []
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        where.add(
            1,
            None,
            "languages must be a list such as [es, en, qu]",
            "languages debe ser una lista como [es, en, qu]",
        )
        languages = []
    description = raw.get("description", "")
    if not isinstance(description, str):
        where.add(
            top_lines.get("description", 1),
            None,
            "description must be a text",
            "description debe ser un texto",
        )
    steps_raw = raw.get("steps") or {}
    if not isinstance(steps_raw, dict):
        where.add(
            1,
            None,
            "steps must be a mapping of step name to step",
            "steps debe listar los pasos, cada uno con su nombre",
        )
        steps_raw = {}
    steps: dict[str, Step] = {}
    key_lines: dict[str, int] = steps_raw.get("__keys__", {})
    for step_name, step_raw in steps_raw.items():
        if step_name in META:
            continue
        line = key_lines.get(step_name, 1)
        if not NAME_RE.match(str(step_name)):
            where.add(
                line,
                str(step_name),
                "bad step name",
                "nombre de paso no válido: solo minúsculas, dígitos y _, empezando por una letra",
                text=str(step_name)[:60],
            )
            continue
        if isinstance(step_raw, dict):
            step_raw["__line__"] = line
        step = _parse_step(str(step_name), step_raw, where, line)
        if step is not None:
            steps[step.name] = step
    if where.errors:
        raise InvalidFlow(where.errors)
    return FlowDefinition(
        name=name,
        languages=tuple(languages),
        start=str(raw["start"]),
        steps=steps,
        file=file,
        description=description,
    )
