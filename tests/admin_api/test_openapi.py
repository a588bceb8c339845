"""docs/openapi.yaml and the router describe the same routes, both ways."""

from __future__ import annotations

from pathlib import Path

import yaml
from aiohttp import web

from bot import admin_api
from bot.admin_api.context import AdminContext
from bot.admin_api.errors import CODES
from core.db import Database
from core.settings import Settings

SPEC = Path(__file__).parents[2] / "docs" / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}


def _router_routes() -> set[tuple[str, str]]:
    db = Database("sqlite+aiosqlite:///:memory:")
    api = admin_api.build(AdminContext(db=db, settings=Settings(database_url=db.url)))
    found = set()
    for route in api.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method != "HEAD" and path:
            found.add((route.method.lower(), path))
    return found


def test_openapi_paths_match_the_router() -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    described = {
        (method, path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in METHODS
    }
    routed = _router_routes()
    assert routed - described == set(), "routes missing from docs/openapi.yaml"
    assert described - routed == set(), "docs/openapi.yaml describes routes that do not exist"
    assert len(routed) == 38


def test_every_operation_documents_errors_and_success() -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403", "429"} <= codes, (method, path)
            assert codes & {"200", "201"}, (method, path)


def test_error_codes_match_the_api() -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    assert set(spec["components"]["schemas"]["Error"]["properties"]["error"]["enum"]) == set(
        CODES.values()
    )


def test_dashboard_is_mounted_beside_the_api() -> None:
    app = web.Application()
    db = Database("sqlite+aiosqlite:///:memory:")
    admin_api.setup(app, db, Settings(database_url=db.url))
    paths = {resource.canonical for resource in app.router.resources()}
    assert "/dashboard" in paths and "/api/admin" in paths
