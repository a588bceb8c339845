"""Reading a flow's YAML safely: budgets, no anchors, and the line of every mapping.

The budgets (bot/flows/schema/budgets.py) are checked on the parse events before anything is
built; a document over one, or not YAML at all, raises InvalidFlow with one located error.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot.flows.schema.budgets import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_INT_CHARS,
    MAX_NODES,
    NO_ALIASES,
    NUMBER_TOO_LONG,
    TOO_DEEP,
    TOO_MANY_NODES,
)
from bot.flows.schema.definition import FlowError, InvalidFlow
from bot.flows.schema.syntax import syntax_error

# Keys the loader adds to every mapping: its line, its keys' lines, its values' positions.
META = ("__line__", "__keys__", "__at__")


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
            raise yaml.composer.ComposerError(None, None, NO_ALIASES, event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(None, None, TOO_MANY_NODES, event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, TOO_DEEP, event.start_mark)
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
        raise yaml.constructor.ConstructorError(None, None, NUMBER_TOO_LONG, node.start_mark)
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
                problem = NO_ALIASES
            elif isinstance(event, _NODE_EVENTS):
                nodes += 1
                problem = (
                    TOO_MANY_NODES
                    if nodes > MAX_NODES
                    else TOO_DEEP
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


def load_document(text: str, file: str) -> Any:
    """The YAML document within the budgets, or InvalidFlow naming the limit or the error."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        message = f"the flow has {size} bytes; the limit is {MAX_BYTES}"
        raise InvalidFlow([FlowError(file, 1, None, message)])
    try:
        _check_events(text)
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise InvalidFlow([syntax_error(exc, text, file)]) from None
