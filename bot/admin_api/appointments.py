"""A region's appointments: a filtered list (documents masked) and a CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.auth import region_reading, scoped_tenant
from bot.admin_api.bodies import iso, query_choice, query_day, query_int
from bot.admin_api.context import AdminContext, context, record_change
from bot.admin_api.errors import invalid
from bot.admin_api.formats import first_name, mask_document
from bot.admin_api.pagination import AnySelect, Page, fetch, listing, page_of
from core.models import Appointment, AppointmentStatus, Citizen, Service, Specialist, Tenant
from core.uow import UnitOfWork

STATUSES = tuple(s.value for s in AppointmentStatus)
EXPORT_BATCH = 500
EXPORT_COLUMNS = (
    "id",
    "start",
    "end",
    "status",
    "service",
    "specialist",
    "citizen_name",
    "doc_type",
    "document",
    "channel",
    "created_at",
)


def _query(request: web.Request, ctx: AdminContext, tenant: Tenant) -> AnySelect:
    query = (
        select(Appointment, Service.code, Specialist.name, Citizen)
        .join(Service, Service.id == Appointment.service_id)
        .join(Specialist, Specialist.id == Appointment.specialist_id)
        .join(Citizen, Citizen.id == Appointment.citizen_id)
        .where(Appointment.tenant_id == tenant.id)
    )
    first, last = query_day(request, "from"), query_day(request, "to")
    if first and last and last < first:
        raise invalid("'to' must be on or after 'from'")
    if first:
        query = query.where(
            Appointment.start_utc >= datetime.combine(first, time(), ctx.tz).astimezone(UTC)
        )
    if last:
        after = datetime.combine(last + timedelta(days=1), time(), ctx.tz).astimezone(UTC)
        query = query.where(Appointment.start_utc < after)
    status = query_choice(request, "status", STATUSES)
    if status:
        query = query.where(Appointment.status == AppointmentStatus(status))
    service = request.query.get("service")
    if service:
        query = query.where(Service.code == service)
    specialist = query_int(request, "specialist")
    if specialist is not None:
        query = query.where(Appointment.specialist_id == specialist)
    return query


async def _check_service(uow: UnitOfWork, request: web.Request) -> None:
    """An unknown `service` filter is an error naming the valid codes, never an empty list."""
    code = request.query.get("service")
    if not code:
        return
    codes = sorted(await uow.session.scalars(select(Service.code)))
    if code not in codes:
        raise invalid(
            f"unknown service {code[:80]!r}; the service codes are: {', '.join(codes)}",
            field="service",
        )


def _row_json(a: Appointment, code: str, specialist: str, c: Citizen) -> dict[str, Any]:
    return {
        "id": a.id,
        "start": iso(a.start_utc),
        "end": iso(a.end_utc),
        "status": a.status.value,
        "service": code,
        "specialist_id": a.specialist_id,
        "specialist": specialist,
        "first_name": first_name(c.name or c.representative_name),
        "doc_type": c.document_type.value if c.document_type else None,
        "document": mask_document(c.document_number),
        "channel": a.channel,
        "created_at": iso(a.created_at),
    }


async def list_appointments(request: web.Request) -> web.Response:
    """GET /tenants/{t}/appointments: filters from, to, service, status, specialist."""
    page = page_of(request)
    ctx = context(request)
    async with region_reading(request) as (uow, tenant):
        await _check_service(uow, request)
        rows, cursor = await fetch(uow, _query(request, ctx, tenant), Appointment.id, page)
    return listing([_row_json(*row) for row in rows], cursor)


async def export_appointments(request: web.Request) -> web.StreamResponse:
    """GET /tenants/{t}/appointments.csv: the same filters, full documents, as CSV."""
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        await _check_service(uow, request)
        query = _query(request, ctx, tenant)
        filters = {"filters": dict(request.query)}
        await record_change(
            uow, request, tenant.id, "appointments.export", "appointment", "*", after=filters
        )
        await uow.commit()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="appointments-{tenant.code}.csv"',
        }
    )
    await response.prepare(request)
    await response.write(_csv_line(EXPORT_COLUMNS))
    after: int | None = None
    while True:
        async with ctx.db.uow() as uow:
            rows, cursor = await _batch(uow, query, after)
            lines = [_export_line(*row, tz=ctx.tz) for row in rows]
            after = rows[-1][0].id if rows else None
        await response.write(b"".join(lines))
        if cursor is None:
            break
    await response.write_eof()
    return response


async def _batch(
    uow: UnitOfWork, query: AnySelect, after: int | None
) -> tuple[list[Any], str | None]:
    rows, cursor = await fetch(uow, query, Appointment.id, Page(EXPORT_BATCH, after))
    return list(rows), cursor


def _local(moment: datetime | None, tz: tzinfo) -> str | None:
    """A stored UTC time as the region's local time with its offset (10:00-05:00 in Lima)."""
    return moment.astimezone(tz).isoformat() if moment is not None else None


def _export_line(a: Appointment, code: str, specialist: str, c: Citizen, *, tz: tzinfo) -> bytes:
    return _csv_line(
        (
            a.id,
            _local(a.start_utc, tz),
            _local(a.end_utc, tz),
            a.status.value,
            code,
            specialist,
            c.name or c.representative_name or "",
            c.document_type.value if c.document_type else "",
            c.document_number or "",
            a.channel,
            _local(a.created_at, tz),
        )
    )


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV
# injection"); such a cell is written with a leading single quote, which shows it as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_line(values: tuple[object, ...]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(v) for v in values])
    return buffer.getvalue().encode("utf-8")
