"""The national dashboard at /dashboard: sign-in, figures per period and region, live changes.

See docs/dashboard.md. Mounted by `bot.admin_api.setup` beside the admin API, whose
context (database, settings, clock, refused-token counts) it shares.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.admin_api.context import CONTEXT
from bot.dashboard import export, first_free, live, stream, views

HERE = Path(__file__).resolve().parent
LISTENER = web.AppKey("psv_dashboard_listener", live.Listener)


async def _start(app: web.Application) -> None:
    ctx = app[CONTEXT]
    if ctx.db.is_postgres:
        listener = live.Listener(ctx.db.url)
        listener.start()
        app[LISTENER] = listener


async def _stop_streams(app: web.Application) -> None:
    app[stream.STOPPING].set()


async def _cleanup(app: web.Application) -> None:
    await app[first_free.CACHE].close()
    listener = app.get(LISTENER)
    if listener is not None:
        await listener.stop()


def setup(app: web.Application) -> None:
    """Mount the dashboard's pages, live stream and static files on the app."""
    live.install()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        app_key=views.JINJA_KEY,
    )
    app[stream.STOPPING] = asyncio.Event()
    app[first_free.CACHE] = first_free.FirstFreeCache()
    app.router.add_get("/dashboard", views.dashboard)
    app.router.add_get("/dashboard/login", views.login_page)
    app.router.add_post("/dashboard/login", views.login)
    app.router.add_post("/dashboard/logout", views.logout)
    app.router.add_get("/dashboard/events", stream.events)
    app.router.add_get("/dashboard/figures.json", export.as_json)
    app.router.add_get("/dashboard/figures.csv", export.as_csv)
    app.router.add_static("/dashboard/static", HERE / "static", append_version=True)
    app.on_startup.append(_start)
    app.on_shutdown.insert(0, _stop_streams)
    app.on_cleanup.append(_cleanup)
