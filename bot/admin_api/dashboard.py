"""GET /dashboard: today's figures, national and per region, as a small HTML page.

Any admin token works (bearer header, or a `token` cookie for a browser); a regional token
sees its own region only. Only counts are shown: no personal data.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.auth import authenticate, bearer, throttled
from bot.admin_api.context import context, reading
from core import reports
from core.access import Unauthorized
from core.models import Tenant
from core.reports import Figures

COLUMNS = (
    ("requests", "Solicitudes"),
    ("appointments", "Citas reservadas"),
    ("attended", "Atendidas"),
    ("no_shows", "No asistieron"),
    ("cancelled", "Canceladas"),
    ("event_registrations", "Inscripciones a eventos"),
    ("median_wait_hours", "Espera mediana (h)"),
)


def _cells(figures: Figures) -> str:
    data = figures.to_json()
    cells = [escape("-" if data[key] is None else str(data[key])) for key, _ in COLUMNS]
    mean = figures.satisfaction_mean
    cells.append(escape("-" if mean is None else f"{mean} (n={figures.satisfaction_n})"))
    return "".join(f"<td>{c}</td>" for c in cells)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='es'><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='60'>"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
        "th:first-child,td:first-child{text-align:left}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


async def dashboard(request: web.Request) -> web.Response:
    """GET /dashboard: today's national and regional figures (refreshes every minute)."""
    ctx = context(request)
    wait = throttled(request)
    if wait is not None:
        page = _page("PSV: acceso", f"<p>Demasiados intentos; espere {wait} s.</p>")
        return web.Response(
            text=page, status=429, content_type="text/html", headers={"Retry-After": str(wait)}
        )
    try:
        caller = await authenticate(request, bearer(request, cookie=True))
    except Unauthorized as exc:
        page = _page("PSV: acceso", f"<p>{escape(exc.detail)}</p>")
        return web.Response(
            text=page,
            status=401,
            content_type="text/html",
            headers={"WWW-Authenticate": 'Bearer realm="psv-admin"'},
        )
    today = datetime.now(ctx.tz).date()
    async with reading(request) as uow:
        tenants = {t.id: t for t in await uow.session.scalars(select(Tenant))}
        found = await reports.report(
            uow, tenant_id=caller.tenant_id, start=today, end=today, tz=ctx.tz
        )
    header = "<tr><th>Región</th>" + "".join(f"<th>{escape(h)}</th>" for _, h in COLUMNS)
    header += "<th>Satisfacción</th></tr>"
    scope = "Nacional" if caller.tenant_id is None else tenants[caller.tenant_id].name
    rows = [f"<tr><th>{escape(scope)}</th>{_cells(found.totals)}</tr>"]
    for tid in sorted(tenants, key=lambda t: tenants[t].code):
        if caller.tenant_id is not None and tid != caller.tenant_id:
            continue
        figures = found.regions.get(tid, Figures())
        rows.append(f"<tr><td>{escape(tenants[tid].name)}</td>{_cells(figures)}</tr>")
    body = (
        f"<p>Hoy, {escape(today.isoformat())} ({escape(ctx.settings.timezone)}).</p>"
        f"<table>{header}{''.join(rows)}</table>"
    )
    return web.Response(text=_page("PSV: tablero del día", body), content_type="text/html")
