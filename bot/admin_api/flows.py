"""Region flows: show, versions, validate, drafts, publish, rollback, diff, graph, try."""

from __future__ import annotations

import difflib
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import select

from bot.admin_api import flow_store, sandbox
from bot.admin_api.auth import region_reading, scoped_tenant
from bot.admin_api.bodies import iso, json_object, query_choice, query_int
from bot.admin_api.context import context, principal
from bot.admin_api.errors import ApiError, conflict, flow_error_json, flow_errors, invalid
from bot.admin_api.pagination import fetch, listing, page_of
from bot.flows.registry import compiled, template_names
from bot.flows.schema import MAX_BYTES, FlowDefinition, InvalidFlow, warnings
from core.models import FlowVersion, Tenant
from core.states import FlowStatus
from core.uow import UnitOfWork


class _StepBack(Protocol):
    """`flow_store.rollback` or `flow_store.reset`."""

    async def __call__(
        self, uow: UnitOfWork, tenant: Tenant, name: str, *, by: str
    ) -> FlowVersion: ...


def _version_json(row: FlowVersion) -> dict[str, Any]:
    if row.tenant_id is None:  # the national template: not one of the region's numbers
        return {
            "version": None,
            "status": row.status,
            "source_of": "national",
            "live": True,
            "created_by": None,
            "created_at": None,
            "published_at": iso(row.published_at),
        }
    return {
        "version": row.version,
        "status": row.status,
        "source_of": "region",
        "live": row.status == FlowStatus.PUBLISHED,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "published_at": iso(row.published_at),
    }


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    flow_store.check_name(name)
    return name


async def _chosen(uow: UnitOfWork, tenant: Tenant, name: str, number: int | None) -> FlowVersion:
    if number is not None:
        return await flow_store.version(uow, tenant.id, name, number)
    return await flow_store.current(uow, tenant.id, name)


async def _requested(request: web.Request) -> tuple[str, FlowVersion]:
    """The request's flow name and its `?version=N` (else what new conversations get)."""
    number = query_int(request, "version")
    async with region_reading(request) as (uow, tenant):
        name = _name(request)
        return name, await _chosen(uow, tenant, name, number)


async def _edited(uow: UnitOfWork, tenant: Tenant, name: str, number: int | None) -> FlowVersion:
    """Version `number`, else the newest draft, else what new conversations get."""
    if number is not None:
        return await flow_store.version(uow, tenant.id, name, number)
    found = await flow_store.draft(uow, tenant.id, name)
    return found or await flow_store.current(uow, tenant.id, name)


async def list_flows(request: web.Request) -> web.Response:
    """GET /tenants/{t}/flows: every flow with the region's live and draft versions."""
    page_of(request)
    async with region_reading(request) as (uow, tenant):
        items = []
        for name in sorted(template_names()):
            live = await flow_store.live(uow, tenant.id, name)
            draft = await flow_store.draft(uow, tenant.id, name)
            items.append(
                {
                    "name": name,
                    "live_version": live.version if live else None,
                    "draft_version": draft.version if draft else None,
                    "source": "region" if live else "national",
                }
            )
    return listing(items)


async def show_flow(request: web.Request) -> web.Response:
    """GET /tenants/{t}/flows/{name}: the live YAML (or `?version=N`)."""
    name, row = await _requested(request)
    return web.json_response(
        {
            "name": name,
            "version": row.version,
            "status": row.status,
            "source_of": "national" if row.tenant_id is None else "region",
            "yaml": row.source,
        }
    )


async def flow_versions(request: web.Request) -> web.Response:
    """GET /tenants/{t}/flows/{name}/versions: the region's versions, newest first."""
    page = page_of(request)
    async with region_reading(request) as (uow, tenant):
        name = _name(request)
        query = select(FlowVersion).where(
            FlowVersion.tenant_id == tenant.id, FlowVersion.name == name
        )
        rows, cursor = await fetch(uow, query, FlowVersion.id, page, newest_first=True)
    return listing([_version_json(r) for (r,) in rows], cursor)


async def _yaml(request: web.Request) -> str:
    body = await json_object(request, allowed=frozenset({"yaml"}))
    source = body.data.get("yaml")
    if not isinstance(source, str) or not source.strip():
        raise invalid("'yaml' must be the flow's text", field="yaml")
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise ApiError(
            413, f"'yaml' has {size} bytes; the limit is {MAX_BYTES}", details={"field": "yaml"}
        )
    return source


async def validate_flow(request: web.Request) -> web.Response:
    """POST /tenants/{t}/flows/{name}/validate: 200 ok or 422 with line-numbered errors."""
    source = await _yaml(request)
    async with region_reading(request) as (_, tenant):
        name = _name(request)
    flow = await flow_store.check_source(source, name, tenant)
    return web.json_response({"ok": True, "warnings": _warnings(flow)})


def _warnings(flow: FlowDefinition) -> list[dict[str, Any]]:
    return [flow_error_json(w) for w in warnings(flow)]


async def save_draft(request: web.Request) -> web.Response:
    """POST /tenants/{t}/flows/{name}/drafts: validate and keep as a draft."""
    source = await _yaml(request)
    ctx = context(request)
    # Validated before the write transaction opens, so that no connection waits on a parse.
    async with region_reading(request) as (_, tenant):
        name = _name(request)
    flow = await flow_store.check_source(source, name, tenant)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        row = await flow_store.save_draft(
            uow, tenant, name, source, by=principal(request).actor, now=ctx.clock(), checked=True
        )
        await uow.commit()
    return web.json_response(
        {"version": row.version, "status": row.status, "warnings": _warnings(flow)}, status=201
    )


async def publish_flow(request: web.Request) -> web.Response:
    """POST /tenants/{t}/flows/{name}/publish: live for new conversations."""
    body = await json_object(request, allowed=frozenset({"version"}))
    number = body.integer("version", low=1, high=1_000_000, required=False)
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        name = _name(request)
        try:
            row = await flow_store.publish(
                uow, tenant, name, number, by=principal(request).actor, now=ctx.clock()
            )
        except InvalidFlow as exc:
            raise conflict("that version no longer validates", **flow_errors(exc.errors)) from None
        await uow.commit()
    return web.json_response(_version_json(row))


async def _step_back(request: web.Request, step: _StepBack) -> web.Response:
    """Run a bodiless rollback or reset of the request's flow in one transaction."""
    await json_object(request, allowed=frozenset())
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        row = await step(uow, tenant, _name(request), by=principal(request).actor)
        await uow.commit()
    return web.json_response(_version_json(row))


async def rollback_flow(request: web.Request) -> web.Response:
    """POST /tenants/{t}/flows/{name}/rollback: republish the previous live version."""
    return await _step_back(request, flow_store.rollback)


async def reset_flow(request: web.Request) -> web.Response:
    """POST /tenants/{t}/flows/{name}/reset: back to the national template (audited)."""
    return await _step_back(request, flow_store.reset)


def _label(row: FlowVersion, tenant: Tenant) -> str:
    where = tenant.code if row.tenant_id is not None else "national"
    return f"{row.name}.yaml ({where} v{row.version}, {row.status})"


async def diff_flow(request: web.Request) -> web.Response:
    """GET /tenants/{t}/flows/{name}/diff: unified diff against the previous or national."""
    against = query_choice(request, "against", ("previous", "national", "live")) or "previous"
    number = query_int(request, "version")
    async with region_reading(request) as (uow, tenant):
        name = _name(request)
        row = await _edited(uow, tenant, name, number)
        base: FlowVersion | None = None
        if against == "live":
            base = await flow_store.current(uow, tenant.id, name)
        elif against == "previous" and row.tenant_id is not None:
            older = [
                v
                for v in await flow_store.versions(uow, tenant.id, name)
                if v.version < row.version
            ]
            base = older[0] if older else None
        if base is None:
            base = await flow_store.national(uow, name)
    text = "".join(
        difflib.unified_diff(
            base.source.splitlines(keepends=True),
            row.source.splitlines(keepends=True),
            fromfile=_label(base, tenant),
            tofile=_label(row, tenant),
        )
    )
    return web.json_response(
        {"diff": text, "from": _label(base, tenant), "to": _label(row, tenant)}
    )


async def graph_flow(request: web.Request) -> web.Response:
    """GET /tenants/{t}/flows/{name}/graph: a Mermaid flowchart of a version."""
    _, row = await _requested(request)
    return web.json_response({"version": row.version, "mermaid": compiled(row).mermaid()})


async def try_flow(request: web.Request) -> web.Response:
    """POST /tenants/{t}/flows/{name}/try: one sandbox turn with a version (a draft too)."""
    body = await json_object(request, allowed=frozenset({"version", "session", "text"}))
    number = body.integer("version", low=1, high=1_000_000, required=False)
    session = body.text("session", required=False, max_length=40)
    text = body.data.get("text", "")
    if not isinstance(text, str) or len(text) > 4096:
        raise invalid("'text' must be a string of at most 4096 characters", field="text")
    if session is not None and not text.strip():
        raise invalid("'text' is required to continue a session", field="text")
    ctx = context(request)
    async with region_reading(request) as (uow, tenant):
        name = _name(request)
        row = await _edited(uow, tenant, name, number)
    result = await sandbox.run(ctx, tenant, row, session, text)
    return web.json_response(
        {
            "session": result.session,
            "version": row.version,
            "step": result.step,
            "replies": [sandbox.reply_json(r) for r in result.replies],
        }
    )
