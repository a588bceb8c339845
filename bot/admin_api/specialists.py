"""A region's specialists: list, add, CSV import, weekly hours, days off, deactivate."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.auth import region_reading, scoped_tenant
from bot.admin_api.bodies import json_object, path_id
from bot.admin_api.closures import closure_body
from bot.admin_api.context import context, principal
from bot.admin_api.errors import ApiError, conflict, invalid
from bot.admin_api.formats import SpanError, format_hours, parse_span, parse_spans
from bot.admin_api.pagination import fetch, listing, page_of
from bot.conversation import relay
from bot.outbox import notify
from core import roster
from core.errors import NotActive
from core.models import (
    Service,
    Specialist,
    SpecialistService,
    Tenant,
    WeeklyBreak,
    WorkingHours,
)
from core.roster import WeeklySpan
from core.uow import UnitOfWork

CHANNELS = ("telegram", "whatsapp")
# ASCII digits only (\d would take «٣» too), matched whole (fullmatch, not $).
TELEGRAM_ID = re.compile(r"-?[0-9]{1,20}")
E164 = re.compile(r"\+[0-9]{8,15}")
COLUMNS = ("name", "contact_channel", "contact_address", "services", "hours")
MAX_ROWS = 5000


@dataclass(frozen=True)
class NewSpecialist:
    """A specialist to add, checked."""

    name: str
    channel: str
    address: str
    services: tuple[str, ...]
    hours: tuple[WeeklySpan, ...]


class RowError(ValueError):
    """Why a specialist's data cannot be used: every problem found, not only the first."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def _check(
    name: Any,
    channel: Any,
    address: Any,
    services: Any,
    hours: Any,
    known_services: frozenset[str],
) -> NewSpecialist:
    problems: list[str] = []
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 120:
        problems.append("name must have 1 to 120 characters")
    if channel not in CHANNELS:
        problems.append(f"contact_channel must be one of {', '.join(CHANNELS)}")
    address = address.strip() if isinstance(address, str) else ""
    if channel == "whatsapp":
        address = address.removeprefix("whatsapp:")
        if not E164.fullmatch(address):
            problems.append("a WhatsApp contact_address is a number like +51987654321")
    elif channel == "telegram" and not TELEGRAM_ID.fullmatch(address):
        problems.append("a Telegram contact_address is the numeric chat id")
    if not isinstance(services, list) or not services:
        problems.append("services must list at least one service code")
    else:
        unknown = [s for s in services if s not in known_services]
        if unknown:
            problems.append(
                f"unknown service(s): {', '.join(map(str, unknown))} "
                f"(codes: {', '.join(sorted(known_services))})"
            )
    spans: list[Any] = []
    if not isinstance(hours, list) or not all(isinstance(h, str) for h in hours):
        problems.append("hours must be a list like ['mon 08:30-13:00']")
    else:
        for text in hours:  # each span on its own, so every bad one is named
            try:
                parse_span(text)
            except SpanError as exc:
                problems.append(f"hours: {exc}")
        if len(problems) == 0:
            try:
                spans = parse_spans(hours)
            except SpanError as exc:
                problems.append(f"hours: {exc}")
    if problems:
        raise RowError(*problems)
    assert isinstance(name, str)
    return NewSpecialist(name.strip(), channel, address, tuple(services), tuple(spans))


async def _known_services(uow: UnitOfWork) -> frozenset[str]:
    return frozenset(await uow.session.scalars(select(Service.code)))


async def _taken(uow: UnitOfWork, tenant: Tenant) -> set[tuple[str, str]]:
    rows = await uow.session.execute(
        select(Specialist.contact_channel, Specialist.contact_address).where(
            Specialist.tenant_id == tenant.id
        )
    )
    return {(c, a) for c, a in rows}


async def _elsewhere(uow: UnitOfWork, tenant: Tenant) -> set[tuple[str, str]]:
    """Contacts of active specialists of other regions (a chat is in one region at most)."""
    rows = await uow.session.execute(
        select(Specialist.contact_channel, Specialist.contact_address).where(
            Specialist.tenant_id != tenant.id, Specialist.active.is_(True)
        )
    )
    return {(c, a) for c, a in rows}


# Says nothing of who the other specialist is, nor of which region.
OTHER_REGION = (
    "that contact is an active specialist of another region; a chat address can be a "
    "specialist in one region only (that region must deactivate it first)"
)


async def _add(uow: UnitOfWork, tenant: Tenant, new: NewSpecialist, by: str) -> Specialist:
    spec = await roster.add_specialist(
        uow,
        tenant.code,
        name=new.name,
        services=new.services,
        contact_channel=new.channel,
        contact_address=new.address,
        by=by,
    )
    if new.hours:
        await roster.set_weekly_hours(uow, tenant.id, spec.id, hours=new.hours, by=by)
    return spec


async def _json_of(uow: UnitOfWork, specs: Sequence[Specialist]) -> list[dict[str, Any]]:
    ids = [s.id for s in specs]
    services: dict[int, list[str]] = {i: [] for i in ids}
    for spec_id, code in await uow.session.execute(
        select(SpecialistService.specialist_id, Service.code)
        .join(Service, Service.id == SpecialistService.service_id)
        .where(SpecialistService.specialist_id.in_(ids))
        .order_by(Service.code)
    ):
        services[spec_id].append(code)
    hours: dict[int, list[str]] = {i: [] for i in ids}
    for row in await uow.session.scalars(
        select(WorkingHours)
        .where(WorkingHours.specialist_id.in_(ids))
        .order_by(WorkingHours.weekday, WorkingHours.start_time)
    ):
        hours[row.specialist_id].append(format_hours(row.weekday, row.start_time, row.end_time))
    return [
        {
            "id": s.id,
            "name": s.name,
            "contact_channel": s.contact_channel,
            "contact_address": s.contact_address,
            "services": services[s.id],
            "active": s.active,
            "hours": hours[s.id],
        }
        for s in specs
    ]


async def list_specialists(request: web.Request) -> web.Response:
    """GET /tenants/{t}/specialists."""
    page = page_of(request)
    async with region_reading(request) as (uow, tenant):
        query = select(Specialist).where(Specialist.tenant_id == tenant.id)
        rows, cursor = await fetch(uow, query, Specialist.id, page)
        items = await _json_of(uow, [r for (r,) in rows])
    return listing(items, cursor)


async def add_specialist(request: web.Request) -> web.Response:
    """POST /tenants/{t}/specialists: one new specialist (201)."""
    body = await json_object(request, allowed=frozenset(COLUMNS))
    data = body.data
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        try:
            new = _check(
                data.get("name"),
                data.get("contact_channel"),
                data.get("contact_address"),
                data.get("services"),
                data.get("hours", []),
                await _known_services(uow),
            )
        except RowError as exc:
            raise invalid(str(exc)) from None
        if (new.channel, new.address) in await _taken(uow, tenant):
            raise conflict("a specialist of this region already has that contact")
        if (new.channel, new.address) in await _elsewhere(uow, tenant):
            raise conflict(OTHER_REGION, field="contact_address")
        spec = await _add(uow, tenant, new, principal(request).actor)
        [answer] = await _json_of(uow, [spec])
        await uow.commit()
    return web.json_response(answer, status=201)


def _csv_rows(text: str) -> list[tuple[int, Mapping[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    # Column names as spreadsheets write them: any case, stray spaces.
    header = [h.strip().lower() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in COLUMNS[:4] if c not in header]
    if missing:
        raise invalid(
            f"the CSV header lacks {', '.join(missing)}; columns: {','.join(COLUMNS)}",
            rows=[{"line": 1, "message": f"missing column(s) {', '.join(missing)}"}],
        )
    rows: list[tuple[int, Mapping[str, str]]] = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise invalid(f"at most {MAX_ROWS} rows per import")
        clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if any(clean.values()):
            rows.append((reader.line_num, clean))
    return rows


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


async def import_specialists(request: web.Request) -> web.Response:
    """POST /tenants/{t}/specialists/import: a CSV, all or nothing unless skip_bad."""
    body = await json_object(request, allowed=frozenset({"csv", "skip_bad"}))
    text = body.text("csv", max_length=1_000_000)
    skip_bad = body.boolean("skip_bad")
    assert text is not None
    try:
        rows = await asyncio.to_thread(_csv_rows, text)  # up to 1 MiB: off the event loop
    except csv.Error as exc:
        raise invalid(f"the CSV cannot be read: {exc}") from None
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        known = await _known_services(uow)
        taken = await _taken(uow, tenant)
        elsewhere = await _elsewhere(uow, tenant)
        good: list[NewSpecialist] = []
        bad: list[dict[str, Any]] = []
        for line, row in rows:
            try:
                new = _check(
                    row.get("name"),
                    row.get("contact_channel"),
                    row.get("contact_address"),
                    _split(row.get("services", "")),
                    _split(row.get("hours", "")),
                    known,
                )
                if (new.channel, new.address) in taken:
                    raise RowError("a specialist of this region already has that contact")
                if (new.channel, new.address) in elsewhere:
                    raise RowError(OTHER_REGION)
            except RowError as exc:
                bad.extend({"line": line, "message": problem} for problem in exc.problems)
                continue
            taken.add((new.channel, new.address))
            good.append(new)
        if bad and not skip_bad:
            raise ApiError(
                422,
                f"{len({b['line'] for b in bad})} of {len(rows)} rows are wrong; nothing was "
                "imported (fix them, or import the others with skip_bad: --skip-bad in "
                "psv-admin)",
                details={"rows": bad},
            )
        by = principal(request).actor
        for new in good:
            await _add(uow, tenant, new, by)
        await uow.commit()
    return web.json_response({"imported": len(good), "skipped": bad})


async def set_hours(request: web.Request) -> web.Response:
    """PUT /tenants/{t}/specialists/{id}/hours: replace weekly hours and breaks."""
    body = await json_object(request, allowed=frozenset({"hours", "breaks"}))
    hours = body.strings("hours", max_items=50, max_length=40)
    breaks = body.strings("breaks", max_items=50, max_length=40, required=False) or []
    assert hours is not None
    try:
        hour_spans, break_spans = parse_spans(hours), parse_spans(breaks)
    except SpanError as exc:
        raise invalid(str(exc)) from None
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        spec_id = _spec_id(request)
        await roster.set_weekly_hours(
            uow,
            tenant.id,
            spec_id,
            hours=hour_spans,
            breaks=break_spans,
            by=principal(request).actor,
        )
        spec = await roster.get_specialist(uow, tenant.id, spec_id)
        [answer] = await _json_of(uow, [spec])
        answer["breaks"] = [
            format_hours(b.weekday, b.start_time, b.end_time)
            for b in await uow.session.scalars(
                select(WeeklyBreak)
                .where(WeeklyBreak.specialist_id == spec_id)
                .order_by(WeeklyBreak.weekday, WeeklyBreak.start_time)
            )
        ]
        await uow.commit()
    return web.json_response(answer)


def _spec_id(request: web.Request) -> int:
    return path_id(request, "specialist")


async def day_off(request: web.Request) -> web.Response:
    """POST /tenants/{t}/specialists/{id}/days-off: whole days away (201)."""
    starts_on, ends_on, reason = await closure_body(request)
    ctx = context(request)
    actor = principal(request).actor
    now = ctx.clock()
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        spec_id = _spec_id(request)
        closure = await roster.add_closure(
            uow, tenant.id, starts_on, ends_on, reason=reason, by=actor, specialist_id=spec_id
        )
        followed = await notify.after_day_off(
            uow,
            specialist_id=spec_id,
            starts_on=starts_on,
            ends_on=ends_on,
            actor=actor,
            now=now,
        )
        await uow.commit()
    return web.json_response(
        {
            "id": closure.id,
            "kind": closure.kind,
            "specialist_id": spec_id,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "reason": reason,
            "appointments": followed,
        },
        status=201,
    )


async def deactivate(request: web.Request) -> web.Response:
    """POST /tenants/{t}/specialists/{id}/deactivate: offer no more of their time."""
    await json_object(request, allowed=frozenset())
    ctx = context(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        spec_id = _spec_id(request)
        spec = await roster.get_specialist(uow, tenant.id, spec_id)
        if not spec.active:
            raise NotActive("the specialist is already inactive")
        await roster.deactivate(uow, tenant.id, spec_id, by=principal(request).actor)
        # A conversation they were relaying goes to a colleague or back to the queue now.
        await relay.release(uow, spec_id, ctx.clock())
        [answer] = await _json_of(uow, [spec])
        await uow.commit()
    return web.json_response(answer)
