"""The admin HTTP API (`/api/admin/...`) and the dashboard, mounted on the `psv serve` app.

JSON, bearer tokens, role and region checks on every call, stable error bodies, keyset
pagination; the contract is docs/admin-api.md and docs/openapi.yaml.
"""

from __future__ import annotations

from aiohttp import web

from bot import dashboard
from bot.admin_api.auth import auth_middleware
from bot.admin_api.context import CONTEXT, AdminContext
from bot.admin_api.errors import error_middleware
from bot.admin_api.guard import input_middleware
from bot.admin_api.routes import ROUTES
from core.db import Database
from core.settings import Settings

PREFIX = "/api/admin"


def build(ctx: AdminContext) -> web.Application:
    """The admin API as an aiohttp sub-application (errors outside, then input checks, auth)."""
    api = web.Application(middlewares=[error_middleware, input_middleware, auth_middleware])
    api[CONTEXT] = ctx
    for method, path, handler in ROUTES:
        api.router.add_route(method, path, handler)
    return api


def setup(app: web.Application, db: Database, settings: Settings) -> AdminContext:
    """Mount the admin API under /api/admin and the dashboard at /dashboard."""
    ctx = AdminContext(db=db, settings=settings)
    app[CONTEXT] = ctx
    app.add_subapp(PREFIX, build(ctx))
    dashboard.setup(app)
    return ctx
