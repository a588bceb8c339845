"""The flow format (YAML, documented in docs/flows.md) and its validator.

A flow is data: steps of kinds from a fixed library, prompts per language, targets, and
actions and conditions named from allowlists. Nothing in a flow can name code. The validator
reports precise errors (file, line, step); an invalid flow never runs.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

# The library of step kinds (bot/flows/steps.py implements each).
INPUT_KINDS = frozenset({"choice", "text", "date", "slot", "document", "phone", "yes_no"})
STEP_KINDS = INPUT_KINDS | {"message", "action"}
# Data a choice step may list instead of static options.
SOURCES = frozenset(
    {
        "services",
        "regions",
        "events",
        "my_appointments",
        "my_registrations",
        "document_types",
        "languages",
    }
)
# Allowlisted actions (bot/flows/actions.py) and what each needs among the answers.
ACTIONS: Mapping[str, frozenset[str]] = {
    "record_consent": frozenset(),
    "set_language": frozenset({"language"}),
    "identify": frozenset({"doc_type", "document"}),
    "book": frozenset({"service", "region", "slot", "doc_type", "document", "name"}),
    "cancel_appointment": frozenset({"appointment"}),
    "reschedule_appointment": frozenset({"appointment", "slot"}),
    "register_event": frozenset({"event", "doc_type", "document", "name"}),
    "cancel_registration": frozenset({"registration"}),
    "handoff": frozenset(),
    "erase_data": frozenset(),
    "phone_known": frozenset(),
}
# Allowlisted conditions (bot/flows/conditions.py), for `skip_if` and branching `next`.
CONDITIONS = frozenset(
    {
        "has_region",
        "has_service",
        "has_identity",
        "has_description",
        "has_consent",
        "needs_language_choice",
        "service_asks_description",
        "is_company",
        "has_upcoming_appointments",
        "has_events",
        "has_registrations",
    }
)
# What a condition vouches for: a step skipped when it holds counts as having saved these.
CONDITION_PROVIDES: Mapping[str, frozenset[str]] = {
    "has_region": frozenset({"region"}),
    "has_service": frozenset({"service"}),
    "has_description": frozenset({"description"}),
    "has_identity": frozenset({"doc_type", "document", "name"}),
}
# What a flow text may put in braces (values in bot/flows/placeholders.py).
PLACEHOLDERS = frozenset(
    {
        "name",
        "first_name",
        "region_name",
        "service_name",
        "service_description",
        "modality",
        "day",
        "day_phrase",
        "when",
        "document",
        "doc_type",
        "description",
        "office_hours",
        "specialist",
        "appointment_when",
        "event_title",
        "event_when",
        "position",
        "reason",
        "answer_when",
    }
)
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
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
    }
)


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
    placeholders: tuple[Spot, ...] = ()

    def targets(self) -> list[str]:
        """Every step or flow this step can lead to."""
        found = [b.target for b in self.next]
        found += [t for t in (self.on_yes, self.on_no) if t]
        found += list(self.on.values())
        found += [o.goto for o in self.options if o.goto]
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


# Budgets a flow document must fit before it is built (docs/flows.md, "Limits"). The national
# templates are under 8 KB, 400 nodes and 6 levels deep; these leave room for any real flow
# and keep parsing a hostile document to a few tens of milliseconds.
MAX_BYTES = 64 * 1024
MAX_DEPTH = 16
MAX_NODES = 5000
MAX_INT_CHARS = 12
TOP_KEYS = frozenset({"flow", "languages", "start", "steps", "description"})


class _LineLoader(yaml.SafeLoader):
    """A safe loader with budgets that remembers the line of every mapping (`__line__`).

    Anchors and aliases are refused outright: admins' flows do not need them, and an alias
    lets a few hundred bytes stand for gigabytes of shared structure ("billion laughs").
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node within the depth and node budgets, refusing anchors and aliases."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors (&name) and aliases (*name) are not allowed in flows",
                event.start_mark,
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"more than {MAX_NODES} values (the limit)", event.start_mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested deeper than {MAX_DEPTH} levels (the limit)",
                    event.start_mark,
                )
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        return node


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__keys__"] = {
        key_node.value: key_node.start_mark.line + 1 for key_node, _ in node.value
    }
    mapping["__at__"] = {
        key_node.value: (value.start_mark.line, value.start_mark.column)
        for key_node, value in node.value
    }
    return mapping


def _construct_int(loader: Any, node: yaml.ScalarNode) -> int:
    value = loader.construct_scalar(node)
    if not isinstance(value, str) or len(value) > MAX_INT_CHARS:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"a number longer than {MAX_INT_CHARS} characters (the limit)",
            node.start_mark,
        )
    number: int = yaml.SafeLoader.construct_yaml_int(loader, node)
    return number


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
# YAML 1.1 reads on/off/yes/no as booleans; in flows `on:` is a key and "no" a word, so only
# true/false are booleans here.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _CLineLoader(CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """_LineLoader's constructors and resolvers on libyaml's parser and composer.

        PyYAML's own scanner takes time quadratic in the nesting of `[` and `{` (20,000 of
        them: 0.2 s); libyaml reads them in a few milliseconds. The budgets are checked on the
        events first (`_check_events`), so what libyaml composes is already within them.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _CLineLoader.yaml_constructors = dict(_LineLoader.yaml_constructors)
    _CLineLoader.yaml_implicit_resolvers = dict(_LineLoader.yaml_implicit_resolvers)
    _EventLoader: Any = yaml.CSafeLoader
    _Loader: Any = _CLineLoader
else:  # pragma: no cover - PyYAML without libyaml: the pure-Python loader keeps the budgets
    _EventLoader = yaml.SafeLoader
    _Loader = _LineLoader

_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
_END_EVENTS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _check_events(text: str) -> None:
    """Walk the document's parse events within the budgets before anything is built."""
    loader = _EventLoader(text)
    level = nodes = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                problem = "anchors (&name) and aliases (*name) are not allowed in flows"
            elif isinstance(event, _NODE_EVENTS):
                nodes += 1
                problem = (
                    f"more than {MAX_NODES} values (the limit)"
                    if nodes > MAX_NODES
                    else f"nested deeper than {MAX_DEPTH} levels (the limit)"
                    if level + 1 > MAX_DEPTH
                    else ""
                )
                if not isinstance(event, yaml.ScalarEvent):
                    level += 1
            else:
                level -= isinstance(event, _END_EVENTS)
                problem = ""
            if problem:
                raise yaml.composer.ComposerError(None, None, problem, event.start_mark)
    finally:
        loader.dispose()


def _load(text: str, file: str) -> Any:
    """The YAML document within the budgets, or InvalidFlow naming the limit or the error."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        message = f"the flow has {size} bytes; the limit is {MAX_BYTES}"
        raise InvalidFlow([FlowError(file, 1, None, message)])
    try:
        _check_events(text)
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise InvalidFlow([_syntax_error(exc, text, file)]) from None


# Budget and alias refusals (raised above with these English texts) in Spanish.
_LIMITS_ES = {
    "anchors (&name) and aliases (*name) are not allowed in flows": (
        "no se permiten anclas (&nombre) ni alias (*nombre) en los flujos: "
        "escriba el texto otra vez"
    ),
    f"more than {MAX_NODES} values (the limit)": f"más de {MAX_NODES} valores (el límite)",
    f"nested deeper than {MAX_DEPTH} levels (the limit)": (
        f"más de {MAX_DEPTH} niveles de sangría (el límite)"
    ),
    f"a number longer than {MAX_INT_CHARS} characters (the limit)": (
        f"un número de más de {MAX_INT_CHARS} cifras (el límite)"
    ),
}


def _syntax_error(exc: yaml.YAMLError, text: str, file: str) -> FlowError:
    """A YAML error explained in words, at the line (and column) where it shows, quoting it."""
    lines = text.splitlines()
    mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", "") or "")
    context = str(getattr(exc, "context", "") or "")
    line = mark.line + 1 if mark is not None else 1
    column: int | None = mark.column + 1 if mark is not None else None
    shown = lines[line - 1] if 0 < line <= len(lines) else ""
    if problem in _LIMITS_ES or "maximum nesting depth" in str(exc):
        en = (
            problem
            if problem in _LIMITS_ES
            else f"nested deeper than {MAX_DEPTH} levels (the limit)"
        )
        return FlowError(file, line, None, en, column, shown or None, es=_LIMITS_ES[en])
    if "quoted scalar" in context and "end of stream" in problem and context_mark is not None:
        line, column = context_mark.line + 1, context_mark.column + 1
        shown = lines[line - 1] if 0 < line <= len(lines) else ""
        en = "a quoted text opens here and is never closed: add the closing quote"
        es = "unas comillas se abren aquí y nunca se cierran: ponga las comillas de cierre"
    elif "cannot start any token" in problem and "\t" in shown:
        column = shown.index("\t") + 1
        en = "a tab is used to indent this line: YAML indents with spaces only"
        es = "esta línea tiene un tabulador al inicio: en YAML la sangría se hace solo con espacios"
    elif "cannot start any token" in problem:
        char = shown[column - 1] if column and column <= len(shown) else "?"
        en = f"a text cannot start with «{char}» unless it is between quotes"
        es = f"un texto no puede empezar con «{char}» si no va entre comillas"
    elif "mapping values are not allowed" in problem:
        en = "a colon (:) inside a text without quotes: write the whole text between quotes"
        es = (
            "hay dos puntos (:) dentro de un texto sin comillas: escriba todo el texto entre "
            'comillas ("...")'
        )
    elif (
        "expected" in problem
        and ("key" in problem or "<block end>" in problem)
        and ('"' in shown or "'" in shown)
    ):
        en = (
            "the quoted text ends before the line does: there is one quote too many. Inside a "
            'text between double quotes write \\" for a quote, or use « »'
        )
        es = (
            "el texto entre comillas termina antes que la línea: sobran unas comillas. Dentro "
            'de un texto entre comillas dobles escriba \\" para una comilla, o use « »'
        )
    elif ("expected ',' or" in problem or "flow node" in context) and context_mark is not None:
        opened = context_mark.line + 1
        en = f"a bracket [ or brace {{ opened on line {opened} or before is not closed"
        es = f"un corchete [ o una llave {{ abierto en la línea {opened} o antes no se cierra"
    elif "could not find expected ':'" in problem:
        en = "a field name without its colon (:), or a text of several lines without quotes"
        es = (
            "falta el signo dos puntos (:) tras el nombre de un campo, o un texto de varias "
            "líneas no está entre comillas"
        )
    elif "expected" in problem:
        en = "this line's indentation (the spaces at its start) does not match the lines above"
        es = (
            "la sangría de esta línea (los espacios al inicio) no coincide con la de las "
            "líneas de arriba"
        )
    else:
        en = f"the text cannot be read as YAML here ({problem or exc})"
        es = "el texto no se puede leer como YAML en este punto"
    return FlowError(file, line, None, f"not valid YAML: {en}", column, shown or None, es=es)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k not in _META}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


_META = ("__line__", "__keys__", "__at__")


class _Collector:
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
            for match in PLACEHOLDER_RE.finditer(text):
                hit = self.source.find(match.group(0), offset)
                where = self.position(hit) if hit >= 0 else (start_line + 1, start_column + 1)
                offset = hit + 1 if hit >= 0 else offset
                found.append(Spot(lang, match.group(1), where[0], where[1], text))
        return tuple(found)

    def add(
        self, line: int, step: str | None, message: str, es: str | None = None, **more: Any
    ) -> None:
        self.errors.append(FlowError(self.file, line, step, message, es=es, **more))


def _es_what(what: str) -> str:
    """The Spanish of a text's role in a message («prompt», «label of option 'x'»)."""
    if what.startswith("label of option "):
        return "el nombre (label) de la opción " + what[len("label of option ") :]
    return "el texto (prompt)" if what == "prompt" else what


def _texts(value: Any, where: _Collector, line: int, step: str, what: str) -> dict[str, str]:
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


def _branches(value: Any, where: _Collector, line: int, step: str) -> tuple[Branch, ...]:
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


def _options(value: Any, where: _Collector, line: int, step: str) -> tuple[StaticOption, ...]:
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


# Step fields that hold one name (of a source, an answer, a target, an action, a condition).
WORD_KEYS = ("source", "save", "on_yes", "on_no", "action", "skip_if")


def _word(raw: dict[Any, Any], key: str, where: _Collector, line: int, step: str) -> str | None:
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


def _parse_step(name: str, raw: Any, where: _Collector, default_line: int) -> Step | None:
    if not isinstance(raw, dict):
        where.add(
            default_line,
            name,
            "a step must be a mapping",
            "un paso debe tener sus campos debajo (kind:, prompt:, next: ...)",
        )
        return None
    line = int(raw.get("__line__", default_line))
    unknown = set(raw) - STEP_KEYS - set(_META)
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
    )


def parse_flow(text: str, file: str = "<flow>") -> FlowDefinition:
    """Parse YAML into a FlowDefinition, or raise InvalidFlow with located errors."""
    where = _Collector(file, text)
    raw = _load(text, file)
    if not isinstance(raw, dict):
        raise InvalidFlow([FlowError(file, 1, None, "a flow must be a mapping")])
    top_lines: dict[Any, int] = raw.get("__keys__", {})
    for key in sorted(set(raw) - TOP_KEYS - set(_META), key=str):
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
        if step_name in _META:
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


def _check_step(step: Step, flow: FlowDefinition, known_flows: set[str], where: _Collector) -> None:
    def target_ok(target: str) -> None:
        if target.startswith(FLOW_PREFIX):
            if target[len(FLOW_PREFIX) :] not in known_flows:
                where.add(
                    step.line,
                    step.name,
                    f"unknown flow in target '{target}'",
                    f"el flujo de '{target}' no existe",
                    text=target,
                    allowed=tuple(f"flow:{f}" for f in sorted(known_flows)),
                )
        elif target not in flow.steps and target not in SPECIAL_TARGETS:
            where.add(
                step.line,
                step.name,
                f"target '{target}' is not a step of this flow",
                f"'{target}' no es un paso de este flujo",
                text=target,
                allowed=(*sorted(flow.steps), "end"),
            )

    for target in step.targets():
        target_ok(target)
    for condition in [b.condition for b in step.next if b.condition] + [step.skip_if]:
        if condition is not None and condition not in CONDITIONS:
            where.add(
                step.line,
                step.name,
                f"unknown condition '{condition}'",
                f"la condición '{condition}' no existe",
                text=condition,
                allowed=tuple(sorted(CONDITIONS)),
            )
    if step.next and step.next[-1].condition is not None:
        where.add(
            step.line,
            step.name,
            "the last branch of next must have no 'if' (the fallback)",
            "la última rama de next no lleva 'if': es la que se sigue si ninguna otra se cumple",
        )
    for spot in step.placeholders:
        if spot.name not in PLACEHOLDERS:
            where.add(
                spot.line,
                step.name,
                f"unknown placeholder {{{spot.written}}} in '{spot.lang}'",
                f"el marcador {{{spot.written}}} no existe (texto en '{spot.lang}')",
                column=spot.column,
                text=spot.text,
                allowed=tuple(f"{{{p}}}" for p in sorted(PLACEHOLDERS)),
            )
    missing = [lang for lang in flow.languages if lang not in step.prompt]
    if step.kind != "action" and missing:
        where.add(
            step.line,
            step.name,
            f"prompt missing in {', '.join(missing)}",
            f"falta el texto (prompt) en {', '.join(missing)}",
        )
    for option in step.options:
        gaps = [lang for lang in flow.languages if lang not in option.label]
        if gaps:
            where.add(
                step.line,
                step.name,
                f"option '{option.id}' label missing in {', '.join(gaps)}",
                f"falta el nombre (label) de la opción '{option.id}' en {', '.join(gaps)}",
            )
    kind = step.kind
    if kind == "choice":
        if bool(step.options) == bool(step.source):
            where.add(
                step.line,
                step.name,
                "a choice needs either options or a source",
                "un paso choice necesita options (escritas aquí) o source (datos), uno de los dos",
            )
        if step.source is not None and step.source not in SOURCES:
            where.add(
                step.line,
                step.name,
                f"unknown source '{step.source}'",
                f"la fuente de datos '{step.source}' no existe",
                text=step.source,
                allowed=tuple(sorted(SOURCES)),
            )
        if not step.next and not all(o.goto for o in step.options):
            where.add(
                step.line,
                step.name,
                "a choice needs next, or a goto on every option",
                "un paso choice necesita next, o un goto en cada opción",
            )
    elif kind == "yes_no":
        if not (step.on_yes and step.on_no):
            where.add(
                step.line,
                step.name,
                "a yes_no step needs on_yes and on_no",
                "un paso yes_no necesita on_yes y on_no",
            )
    elif kind == "action":
        if step.action not in ACTIONS:
            where.add(
                step.line,
                step.name,
                f"unknown action {step.action!r}",
                f"la acción {step.action!r} no existe",
                text=str(step.action),
                allowed=tuple(sorted(ACTIONS)),
            )
        if "ok" not in step.on and not step.next:
            where.add(
                step.line,
                step.name,
                "an action needs on: {ok: ...} or next",
                "una acción necesita on: {ok: ...} o next",
            )
    elif not step.next:
        where.add(
            step.line, step.name, f"a {kind} step needs next", f"un paso {kind} necesita next"
        )
    if kind in INPUT_KINDS and kind not in ("yes_no",) and not step.save and kind != "choice":
        where.add(
            step.line,
            step.name,
            f"a {kind} step needs save: <answer name>",
            f"un paso {kind} necesita save: <nombre de la respuesta>",
        )


def _reachable(flow: FlowDefinition) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        name = todo.pop()
        if name in seen or name not in flow.steps:
            continue
        seen.add(name)
        todo.extend(flow.steps[name].targets())
    return seen


def _can_finish(flow: FlowDefinition) -> set[str]:
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


def _saved_on_every_path(flow: FlowDefinition) -> dict[str, frozenset[str]]:
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


def validate(
    flow: FlowDefinition,
    *,
    known_flows: Iterable[str] = (),
    tenant_languages: Iterable[str] = (),
) -> list[FlowError]:
    """Every problem of a parsed flow; an empty list means it may run."""
    where = _Collector(flow.file)
    known = set(known_flows) | {flow.name}
    if flow.start not in flow.steps:
        where.add(
            1,
            None,
            f"start step '{flow.start}' does not exist",
            f"el paso inicial '{flow.start}' no existe",
            allowed=tuple(sorted(flow.steps)),
        )
    if "es" not in flow.languages:
        where.add(
            1,
            None,
            "Spanish (es) must be one of the flow's languages",
            "el castellano (es) debe estar entre los idiomas del flujo",
        )
    for lang in tenant_languages:
        if lang not in flow.languages:
            where.add(
                1,
                None,
                f"the region offers '{lang}' but the flow has no texts in it",
                f"la región ofrece '{lang}' pero el flujo no tiene textos en ese idioma",
            )
    for step in flow.steps.values():
        _check_step(step, flow, known, where)
    if flow.start in flow.steps:
        reachable = _reachable(flow)
        for step in flow.steps.values():
            if step.name not in reachable:
                where.add(
                    step.line,
                    step.name,
                    "unreachable from the start step",
                    "ningún camino desde el paso inicial llega a este paso",
                )
        finishing = _can_finish(flow)
        for name in sorted(reachable - finishing):
            step = flow.steps[name]
            where.add(
                step.line,
                name,
                "no way to finish from here (never reaches end or a flow)",
                "desde aquí la conversación no puede terminar (nunca llega a end ni a otro flujo)",
            )
        saved = _saved_on_every_path(flow)
        for step in flow.steps.values():
            if step.kind == "action" and step.action is not None and step.action in ACTIONS:
                # "slot" can also be answered by a date step asking for the earliest.
                have = saved[step.name] | {s.save for s in [step] if s.save}
                lacking = sorted(ACTIONS[step.action] - have)
                if lacking:
                    where.add(
                        step.line,
                        step.name,
                        f"action '{step.action}' needs {', '.join(lacking)} on every path to it",
                        f"la acción '{step.action}' necesita {', '.join(lacking)} en todo "
                        "camino que llega a ella",
                    )
    where.errors.sort(key=lambda e: (e.line, e.step or ""))
    return where.errors


# The answer each placeholder is made of: empty until the conversation has it.
PLACEHOLDER_NEEDS: Mapping[str, str] = {
    "name": "name",
    "first_name": "name",
    "region_name": "region",
    "service_name": "service",
    "service_description": "service",
    "modality": "service",
    "day": "day",
    "when": "slot",
    "document": "document",
    "doc_type": "doc_type",
    "description": "description",
}


def warnings(flow: FlowDefinition) -> list[FlowError]:
    """Placeholders that can be empty where they are said, written without a fallback.

    `{first_name}` in a step reached before the name is asked renders «Hola , ...» for a
    citizen not known yet; `{first_name|}` (nothing) or `{first_name|amigo}` says what to
    write then. A warning never stops a flow.
    """
    found: list[FlowError] = []
    if flow.start not in flow.steps:
        return found
    saved = _saved_on_every_path(flow)
    for step in flow.steps.values():
        for spot in step.placeholders:
            needed = PLACEHOLDER_NEEDS.get(spot.name)
            if spot.has_fallback or needed is None or needed in saved.get(step.name, ()):
                continue
            found.append(
                FlowError(
                    flow.file,
                    spot.line,
                    step.name,
                    f"{{{spot.written}}} can be empty here (no '{needed}' yet on some path): "
                    f"write {{{spot.name}|}} to leave it out, or {{{spot.name}|text}} for a "
                    "stand-in",
                    spot.column,
                    spot.text,
                    (f"{{{spot.name}|}}", f"{{{spot.name}|amigo(a)}}"),
                    es=f"{{{spot.written}}} puede quedar vacío aquí (en algún camino aún no se "
                    f"sabe '{needed}'): escriba {{{spot.name}|}} para omitirlo, o "
                    f"{{{spot.name}|texto}} para poner otro texto en su lugar",
                    warning=True,
                )
            )
    found.sort(key=lambda e: (e.line, e.column or 0))
    return found


def load_valid(
    text: str,
    file: str = "<flow>",
    *,
    known_flows: Iterable[str] = (),
    tenant_languages: Iterable[str] = (),
) -> FlowDefinition:
    """Parse and validate; raise InvalidFlow listing every error."""
    flow = parse_flow(text, file)
    errors = validate(flow, known_flows=known_flows, tenant_languages=tenant_languages)
    if errors:
        raise InvalidFlow(errors)
    return flow
