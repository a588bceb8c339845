"""The page's figures as JSON and CSV (`/dashboard/figures.json`, `/dashboard/figures.csv`).

Same sign-in, scope and period (query string) as the page; counts only. The CSV is long
(one figure a line: section, region, service, figure, value) so a spreadsheet or the
Ministry's tools can pivot it however they like.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from aiohttp import web

from bot.dashboard.views import SECURITY_HEADERS, Seen, collect

NATIONAL = "PE"
Line = tuple[str, str, str, str, Any]


def figures(seen: Seen) -> dict[str, Any]:
    """Every figure of the page as one JSON document."""
    found = seen.overview
    return {
        "scope": NATIONAL if seen.tenant_id is None else seen.tenants[seen.tenant_id].code,
        "period": {
            "choice": seen.chosen.choice,
            "start": seen.chosen.start.isoformat(),
            "end": seen.chosen.end.isoformat(),
        },
        "totals": found.totals.to_json(),
        "regions": {
            t.code: found.report.regions[tid].to_json()
            for tid, t in seen.shown.items()
            if tid in found.report.regions
        },
        "days": {day.isoformat(): f.to_json() for day, f in found.report.days.items()},
        "services": [asdict(row) for row in found.services],
        "days_to_appointment": [asdict(row) for row in found.waits],
        "first_free_slot": {
            "computed_at": seen.first_free_at.isoformat() if seen.first_free_at else None,
            "computing": seen.first_free is None,
            "offers": [
                {
                    "region": row.region,
                    "service": row.service_code,
                    "days": row.days,
                    "horizon_days": row.horizon_days,
                }
                for row in seen.first_free or []
            ],
        },
        "events": found.events.to_json(),
        "tickets_waiting": asdict(found.tickets),
        "savings": asdict(found.savings)
        | {"soles_each": seen.money.saving_soles, "hours_each": seen.money.saving_hours},
    }


def lines(data: dict[str, Any]) -> list[Line]:
    """The JSON document as CSV lines: section, region, service, figure, value."""
    scope = str(data["scope"])
    out: list[Line] = []

    def flat(section: str, region: str, service: str, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if isinstance(value, dict):
                flat(section, region, service, {f"{key}_{k}": v for k, v in value.items()})
            else:
                out.append((section, region, service, key, value))

    flat("totals", scope, "", data["totals"])
    for code, values in data["regions"].items():
        flat("region", code, "", values)
    for day, values in data["days"].items():
        flat(f"day {day}", scope, "", values)
    for row in data["services"]:
        flat("service", scope, row["code"], {k: v for k, v in row.items() if k != "code"})
    for row in data["days_to_appointment"]:
        out.append(
            (
                "days_to_appointment",
                row["region"],
                row["service"],
                "median_days",
                row["median_days"],
            )
        )
    for row in data["first_free_slot"]["offers"]:
        out.append(("first_free_slot", row["region"], row["service"], "days", row["days"]))
    flat("events", scope, "", data["events"])
    flat("tickets_waiting", scope, "", data["tickets_waiting"])
    flat("savings", scope, "", data["savings"])
    return out


async def as_json(request: web.Request) -> web.Response:
    """GET /dashboard/figures.json: the page's figures for its period and scope."""
    seen = await collect(request)
    if isinstance(seen, web.Response):
        return seen
    return web.json_response(figures(seen), headers=SECURITY_HEADERS)


async def as_csv(request: web.Request) -> web.Response:
    """GET /dashboard/figures.csv: the same figures, one a line."""
    seen = await collect(request)
    if isinstance(seen, web.Response):
        return seen
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("section", "region", "service", "figure", "value"))
    for section, region, service, figure, value in lines(figures(seen)):
        writer.writerow((section, region, service, figure, "" if value is None else value))
    name = f"psv-{seen.chosen.start.isoformat()}-{seen.chosen.end.isoformat()}.csv"
    return web.Response(
        text=buffer.getvalue(),
        content_type="text/csv",
        headers=SECURITY_HEADERS | {"Content-Disposition": f'attachment; filename="{name}"'},
    )
