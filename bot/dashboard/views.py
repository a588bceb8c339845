"""The dashboard's pages: sign-in, the figures of a period and scope, sign-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy import select

from bot.admin_api.auth import authenticate, bearer
from bot.admin_api.context import AdminContext, context
from bot.dashboard import auth, charts, first_free, period, queries
from bot.dashboard.settings import DashboardSettings
from bot.dashboard.text import LANGS, translate
from core.access import VIEWER, Principal, Unauthorized
from core.models import Tenant
from core.reports import Figures

JINJA_KEY = web.AppKey("psv_dashboard_jinja", jinja2.Environment)
LANG_COOKIE = "psv_lang"
FIGURES = ("requests", "appointments", "attended", "no_shows", "cancelled", "event_registrations")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def language(request: web.Request) -> str:
    """The page's language: ?lang=, else the remembered choice, else Spanish."""
    asked = request.query.get("lang") or request.cookies.get(LANG_COOKIE) or "es"
    return asked if asked in LANGS else "es"


def _render(
    request: web.Request, name: str, values: dict[str, Any], status: int = 200
) -> web.Response:
    lang = language(request)
    values = {"lang": lang, "t": lambda key, **v: translate(key, lang, **v), **values}
    response = aiohttp_jinja2.render_template(
        name, request, values, status=status, app_key=JINJA_KEY
    )
    response.headers.update(SECURITY_HEADERS)
    if request.query.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, path=auth.PATH, samesite="Strict", httponly=True)
    return response


def _login(request: web.Request, status: int, message: str | None = None) -> web.Response:
    response = _render(request, "login.html", {"message": message}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="psv-admin"'
    return response


def _too_many(request: web.Request, wait: int) -> web.Response:
    message = translate("throttled", language(request), wait=wait)
    response = _login(request, 429, message)
    response.headers["Retry-After"] = str(wait)
    return response


async def login_page(request: web.Request) -> web.Response:
    """GET /dashboard/login: the sign-in form."""
    return _login(request, 200)


async def login(request: web.Request) -> web.Response:
    """POST /dashboard/login: check the pasted token and keep it in the cookie."""
    wait = auth.wait_seconds(request)
    if wait is not None:
        return _too_many(request, wait)
    form = await request.post()
    token = str(form.get("token", "")).strip()
    try:
        await authenticate(request, token)
    except Unauthorized as refused:
        return _login(request, 401, refused.detail)
    response = web.HTTPSeeOther(auth.PATH)
    auth.set_cookie(request, response, token)
    raise response


async def logout(request: web.Request) -> web.Response:
    """POST /dashboard/logout: forget the token."""
    response = web.HTTPSeeOther(auth.PATH + "/login")
    auth.clear_cookie(response)
    raise response


async def scope(
    ctx: AdminContext, caller: Principal, asked: str | None
) -> tuple[int | None, dict[int, Tenant]]:
    """The region shown (None: the country) and every region; regional tokens get theirs."""
    async with ctx.db.uow() as uow:
        tenants = {t.id: t for t in await uow.session.scalars(select(Tenant).order_by(Tenant.code))}
        uow.session.expunge_all()
    if caller.tenant_id is not None:
        return caller.tenant_id, tenants
    chosen = next((t.id for t in tenants.values() if asked and t.code == asked), None)
    return chosen, tenants


async def signed_in_or_page(request: web.Request) -> Principal | web.Response:
    """The caller, or the page to answer instead (sign-in, throttled)."""
    wait = auth.wait_seconds(request)
    if wait is not None:
        return _too_many(request, wait)
    try:
        return await auth.signed_in(request)
    except Unauthorized as refused:
        has_token = bearer(request, cookie=True) is not None
        response = _login(request, 401, refused.detail if has_token else None)
        if has_token:
            auth.clear_cookie(response)
        return response


def _figures(figures: Figures) -> dict[str, Any]:
    data = figures.to_json()
    return {key: data[key] for key in FIGURES} | {
        "median_wait_hours": data["median_wait_hours"],
        "satisfaction": data["satisfaction"],
    }


@dataclass
class Seen:
    """What one signed-in request asked for and the figures found for it."""

    caller: Principal
    lang: str
    chosen: period.Period
    today: date
    error: str | None
    tenant_id: int | None
    tenants: dict[int, Tenant]
    overview: queries.Overview
    first_free: list[first_free.FirstFree] | None  # None: the first search is still running
    first_free_at: datetime | None
    money: DashboardSettings

    @property
    def shown(self) -> dict[int, Tenant]:
        """The regions in scope."""
        return {
            tid: t
            for tid, t in self.tenants.items()
            if self.tenant_id is None or tid == self.tenant_id
        }


async def collect(request: web.Request) -> Seen | web.Response:
    """The figures a signed-in request asks for, or the page to answer instead."""
    found = await signed_in_or_page(request)
    if isinstance(found, web.Response):
        return found
    ctx = context(request)
    lang = language(request)
    now = ctx.clock()
    today = datetime.now(ctx.tz).date()
    error = None
    try:
        chosen = period.parse(request.query, today)
    except period.PeriodError as bad:
        error = translate("bad_period", lang, why=str(bad))
        chosen = period.parse({}, today)
    tenant_id, tenants = await scope(ctx, found, request.query.get("region"))
    money = DashboardSettings()
    seen = await queries.overview(
        ctx.db,
        tenant_id=tenant_id,
        start=chosen.start,
        end=chosen.end,
        tz=ctx.tz,
        now=now,
        lang=lang,
        saving_soles=money.saving_soles,
        saving_hours=money.saving_hours,
    )
    cache = request.app[first_free.CACHE]
    offers = await cache.get(ctx.db, now)
    return Seen(
        caller=found,
        lang=lang,
        chosen=chosen,
        today=today,
        error=error,
        tenant_id=tenant_id,
        tenants=tenants,
        overview=seen,
        first_free=first_free.longest_first(offers, tenant_id),
        first_free_at=cache.computed_for,
        money=money,
    )


async def dashboard(request: web.Request) -> web.Response:
    """GET /dashboard: the figures of a period, for the country or one region."""
    found = await collect(request)
    if isinstance(found, web.Response):
        return found
    got = found
    ctx = context(request)
    lang, seen, tenants, tenant_id = got.lang, got.overview, got.tenants, got.tenant_id
    shown = got.shown
    regions = [
        (t.name, seen.report.regions.get(tid, Figures()).appointments, str(tid))
        for tid, t in shown.items()
    ]
    days = [d.isoformat() for d in seen.report.days]
    daily = list(seen.report.days.values())
    trend = charts.trend(
        days,
        [
            (translate("requests", lang), "requests", [f.requests for f in daily]),
            (translate("appointments", lang), "appointments", [f.appointments for f in daily]),
        ],
    )
    rows = [
        {"id": tid, "name": t.name, "f": _figures(seen.report.regions.get(tid, Figures()))}
        for tid, t in shown.items()
    ]
    values = {
        "caller": got.caller,
        "viewer": got.caller.role == VIEWER,
        "scope_name": translate("national", lang) if tenant_id is None else tenants[tenant_id].name,
        "tenant_id": tenant_id,
        "regions_all": list(tenants.values()) if got.caller.is_national else [],
        "region_code": None if tenant_id is None else tenants[tenant_id].code,
        "period": got.chosen,
        "choices": period.CHOICES,
        "live_today": got.chosen.includes(got.today),
        "error": got.error,
        "totals": _figures(seen.totals),
        "rows": rows,
        "bars": charts.bars(regions),
        "trend": trend,
        "services": seen.services,
        "waits": seen.waits,
        "first_free": got.first_free,
        "shown": first_free.SHOWN,
        "first_free_at": _local(got.first_free_at, ctx),
        "cache_minutes": round(first_free.CACHE_SECONDS / 60),
        "events": seen.events,
        "in_person": queries.IN_PERSON_EVENT,
        "tickets": seen.tickets,
        "savings": seen.savings,
        "money": got.money,
        "figures": FIGURES,
        "query": request.query_string,
        "now": datetime.now(ctx.tz).strftime("%Y-%m-%d %H:%M"),
    }
    return _render(request, "dashboard.html", values)


def _local(at: datetime | None, ctx: AdminContext) -> str:
    return "" if at is None else at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")
