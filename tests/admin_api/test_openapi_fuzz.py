"""The admin API against docs/openapi.yaml: bodies described field by field, and fuzzed.

Hypothesis draws requests from the spec's own schemas (path parameters, query parameters and
request bodies), valid ones to reach each operation's success path, and hostile ones (any
text in the path, any JSON as the body); the real admin API app answers them over each real
database, with a national and a regional token. No answer may be a 5xx, and every status
must be one the spec documents for that operation. Bounded: a few hundred requests per run.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.flows.registry import template_names, template_sources
from tests.admin_api import world
from tests.admin_api.conftest import Api

T = TypeVar("T")
SPEC: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parents[2] / "docs" / "openapi.yaml").read_text(encoding="utf-8")
)
METHODS = ("get", "post", "put", "patch", "delete")
OPERATIONS = [
    (method, path, op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if method in METHODS
]
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# A flow is too structured to draw from its schema: the national templates, as they are
# (valid) or with one line dropped (mostly invalid).
OVERRIDES: dict[str, st.SearchStrategy[Any]] = {
    "FlowSource": st.builds(
        lambda source, cut: {"yaml": source if cut is None else _drop_line(source, cut)},
        st.sampled_from(sorted(template_sources().values())),
        st.none() | st.integers(0, 200),
    )
}
TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
HOSTILE_TEXT = (
    st.sampled_from(["²", "³", "٣", "３", "\x00", "1\x00", "-1", "1e3", "..", "%"]) | TEXT
)


def _drop_line(source: str, n: int) -> str:
    lines = source.splitlines(keepends=True)
    return "".join(lines[: n % len(lines)] + lines[n % len(lines) + 1 :])


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        kind = schema["$ref"].split("/")[2]
        schema = SPEC["components"][kind][name]
    return schema


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for a JSON schema (the subset docs/openapi.yaml uses), examples first."""
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    if name in OVERRIDES:
        return OVERRIDES[name]
    schema = _resolve(schema)
    drawn = _generated(schema)
    if schema.get("examples"):
        return st.sampled_from(schema["examples"]) | drawn
    return drawn


def _generated(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type", "object")
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return _string(schema)
    if kind == "array":
        return st.lists(
            from_schema(schema.get("items", {"type": "string"})),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 5), 5),
        )
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    optional = [name for name in properties if name not in required]
    objects = st.fixed_dictionaries(
        {name: from_schema(properties[name]) for name in required},
        optional={name: from_schema(properties[name]) for name in optional},
    )
    least = schema.get("minProperties", 0)
    return objects.filter(lambda value: len(value) >= least) if least else objects


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), min(schema.get("maxLength", 40), 40)
    if schema.get("format") == "date":
        return st.dates().map(lambda d: d.isoformat())
    if schema.get("format") == "date-time":
        return st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    pattern = schema.get("pattern")
    if pattern and pattern != r"\S":
        return st.from_regex(pattern, fullmatch=True)
    return st.text(st.characters(codec="utf-8"), min_size=max(low, 1), max_size=high).filter(
        lambda s: s.strip() != "" or low == 0
    )


def path_values(w: world.World, template: str) -> dict[str, st.SearchStrategy[str]]:
    """Path parameters: this world's real ids and codes most of the time, else anything."""
    ids = {
        "specialists": w.specialist_id,
        "closures": w.closure_id,
        "events": w.event_id,
        "tickets": w.ticket_id,
        "outbox": w.outbox_id,
    }
    owner = re.search(r"/(\w+)/\{id\}", template)
    real = str(ids[owner.group(1)]) if owner else "1"
    return {
        "t": st.sampled_from([w.tenant, w.tenant, w.tenant, "PE-ARE"]),
        "name": st.sampled_from(sorted(template_names())),
        "id": st.just(real) | st.from_regex(r"[0-9]{1,10}", fullmatch=True),
        "code": st.sampled_from(["consultas-laborales", "capacitacion-laboral", "nada"]),
    }


def _query(op: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    params = [_resolve(p) for p in op.get("parameters", [])]
    query = {p["name"]: from_schema(p["schema"]) for p in params if p["in"] == "query"}
    query.pop("cursor", None)  # opaque: only the API makes them
    return st.fixed_dictionaries({}, optional=query)


def _body_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    body = op.get("requestBody")
    return body["content"]["application/json"]["schema"] if body else None


class Runner:
    """Sends requests from the Hypothesis thread through the test's event loop."""

    def __init__(self, api: Api, loop: asyncio.AbstractEventLoop) -> None:
        self.api = api
        self.loop = loop
        self.seen: dict[str, set[int]] = {}

    def run(self, job: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run_coroutine_threadsafe(job(), self.loop).result(timeout=60)

    def send(
        self,
        method: str,
        template: str,
        op: dict[str, Any],
        token: str,
        params: dict[str, str],
        query: dict[str, Any],
        body: bytes | None,
    ) -> int:
        path = re.sub(r"\{(\w+)\}", lambda m: quote(params[m.group(1)], safe=""), template)
        if query:
            path += "?" + urlencode(
                {k: str(v).lower() if isinstance(v, bool) else v for k, v in query.items()}
            )
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        async def call() -> int:
            async with self.api.client.request(
                method.upper(), "/api/admin" + path, data=body, headers=headers
            ) as answer:
                text = await answer.read()
                status = answer.status
                documented = set(op["responses"])
                assert status < 500, (method, path, body, text[:300])
                assert str(status) in documented, (status, method, path, body, text[:300])
                if status >= 400:
                    error = json.loads(text)
                    assert set(error) <= {"error", "message", "details"} and error["message"]
                return status

        status = self.run(call)
        self.seen.setdefault(f"{method} {template}", set()).add(status)
        return status


@pytest.mark.parametrize("role", ["national", "regional"])
async def test_requests_drawn_from_the_spec_get_documented_answers(api: Api, role: str) -> None:
    w = await world.build(api.db)
    token = await (api.token("national") if role == "national" else api.token("regional", w.tenant))
    runner = Runner(api, asyncio.get_running_loop())

    @FUZZ
    @given(st.data())
    def valid(data: st.DataObject) -> None:
        method, template, op = data.draw(st.sampled_from(OPERATIONS))
        values = path_values(w, template)
        names = re.findall(r"\{(\w+)\}", template)
        params = {name: data.draw(values[name]) for name in names}
        query = data.draw(_query(op))
        schema = _body_schema(op)
        body = None if schema is None else json.dumps(data.draw(from_schema(schema))).encode()
        runner.send(method, template, op, token, params, query, body)

    await asyncio.to_thread(valid)
    successes = sorted(k for k, statuses in runner.seen.items() if statuses & {200, 201})
    # Valid requests reach the success path of most operations (the rest need a state
    # a random sequence rarely makes, e.g. a draft before a publish).
    assert len(successes) >= len(runner.seen) // 2, runner.seen


@pytest.mark.parametrize("role", ["national", "regional"])
async def test_hostile_requests_never_get_a_server_error(api: Api, role: str) -> None:
    w = await world.build(api.db)
    token = await (api.token("national") if role == "national" else api.token("regional", w.tenant))
    runner = Runner(api, asyncio.get_running_loop())
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
        max_leaves=10,
    )

    @FUZZ
    @given(st.data())
    def hostile(data: st.DataObject) -> None:
        method, template, op = data.draw(st.sampled_from(OPERATIONS))
        values = path_values(w, template)
        names = re.findall(r"\{(\w+)\}", template)
        params = {name: data.draw(values[name] | HOSTILE_TEXT) for name in names}
        query = data.draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "limit",
                        "version",
                        "specialist",
                        "status",
                        "from",
                        "to",
                        "since",
                        "tenant",
                        "service",
                        "against",
                        "actor",
                    ]
                ),
                HOSTILE_TEXT,
                max_size=3,
            )
        )
        schema = _body_schema(op)
        if schema is None:
            body = None
        else:
            valid_body = from_schema(schema).map(json.dumps)
            body = data.draw(
                valid_body | json_values.map(json.dumps) | st.binary(max_size=40).map(repr)
            ).encode()
        runner.send(method, template, op, token, params, query, body)

    await asyncio.to_thread(hostile)
    assert len(runner.seen) > len(OPERATIONS) // 2


def _allowed(message: str) -> set[str]:
    listed = message.rsplit("allowed:", 1)[1].strip()
    return {name.strip() for name in listed.split(",") if name.strip()}


async def test_each_request_body_schema_lists_exactly_the_fields_the_api_takes(api: Api) -> None:
    w = await world.build(api.db)
    token = await api.token("national")
    values = {
        "t": w.tenant,
        "name": "menu",
        "id": str(w.specialist_id),
        "code": "consultas-laborales",
    }
    for method, template, op in OPERATIONS:
        schema = _body_schema(op)
        if method in ("post", "put", "patch"):
            assert schema is not None, (method, template)
        if schema is None:
            continue
        resolved = _resolve(schema)
        assert resolved.get("type") == "object" and resolved.get("additionalProperties") is False
        assert "properties" in resolved or resolved.get("maxProperties") == 0, template
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        status, answer = await api.call(method.upper(), path, token, {"zz_unknown": 1})
        assert status == 422 and "zz_unknown" in answer["message"], (template, answer)
        assert _allowed(answer["message"]) == set(resolved.get("properties", {})), template
