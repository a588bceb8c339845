"""Every change through the admin API leaves audit entries: who, when, what, before and after."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.admin_api.routes import ROUTES
from bot.flows.registry import template_sources
from core.models import AuditEntry, Tenant
from core.types import utcnow
from tests.admin_api import world
from tests.admin_api.conftest import Api
from tests.admin_api.test_scope import route_of

# Routes that read, or try things in a sandbox: no audit entry expected.
READS = {"validate", "try"}


def _mutating() -> set[tuple[str, str]]:
    return {
        (method, path)
        for method, path, _ in ROUTES
        if method != "GET" and path.rsplit("/", 1)[-1] not in READS
    } | {("GET", "/tenants/{t}/appointments.csv")}


def _calls(w: world.World) -> list[tuple[str, str, Any, str, bool]]:
    """(method, path, body, expected action prefix, whether a `before` is expected)."""
    t = f"/tenants/{w.tenant}"
    f = f"{t}/flows/menu"
    menu = template_sources()["menu"]
    draft = menu.replace("¿En qué le puedo ayudar?", "¿Qué necesita hoy?")
    second = menu.replace("¿En qué le puedo ayudar?", "¿Qué necesita ahora?")
    event = {
        "title": "Taller",
        "service": "capacitacion-laboral",
        "start": "2030-01-10T10:00:00-05:00",
        "duration_minutes": 60,
        "seats": 5,
    }
    person = {
        "name": "Nuevo",
        "contact_channel": "telegram",
        "contact_address": "123456",
        "services": ["consultas-laborales"],
    }
    csv = "name,contact_channel,contact_address,services\nRuth,telegram,5551,consultas-laborales\n"
    return [
        ("POST", f"{f}/drafts", {"yaml": draft}, "flow.draft", False),
        ("POST", f"{f}/publish", {}, "flow.publish", True),
        ("POST", f"{f}/drafts", {"yaml": second}, "flow.draft", False),
        ("POST", f"{f}/publish", {}, "flow.publish", True),
        ("POST", f"{f}/rollback", {}, "flow.rollback", True),
        ("POST", f"{f}/reset", {}, "flow.reset", True),
        ("PATCH", f"{t}/services/consultas-laborales", {"horizon_days": 60}, "service.", True),
        ("POST", f"{t}/specialists", person, "specialist.add", False),
        ("POST", f"{t}/specialists/import", {"csv": csv}, "specialist.", False),
        (
            "PUT",
            f"{t}/specialists/{w.specialist_id}/hours",
            {"hours": ["tue 09:00-12:00"]},
            "specialist.hours",
            True,
        ),
        (
            "POST",
            f"{t}/specialists/{w.specialist_id}/days-off",
            {"starts_on": "2027-03-01", "ends_on": "2027-03-02", "reason": "vacaciones"},
            "closure.add.day_off",
            False,
        ),
        (
            "POST",
            f"{t}/closures",
            {"starts_on": "2027-02-01", "ends_on": "2027-02-01"},
            "closure.add",
            False,
        ),
        ("DELETE", f"{t}/closures/{w.closure_id}", None, "closure.remove", True),
        ("POST", f"{t}/events", event, "event.create", False),
        ("POST", f"{t}/events/{w.event_id}/cancel", {}, "event.cancel", True),
        ("GET", f"{t}/appointments.csv?status=booked", None, "appointments.export", False),
        (
            "POST",
            f"{t}/tickets/{w.ticket_id}/assign",
            {"specialist_id": w.specialist_id},
            "ticket.assign",
            True,
        ),
        ("POST", f"{t}/outbox/{w.outbox_id}/retry", {}, "outbox.retry", True),
        (
            "POST",
            f"{t}/citizens/rebind",
            {
                "document_type": "dni",
                "document_number": w.document,
                "channel": "telegram",
                "address": "778",
                "reason": "cambió de número",
            },
            "citizen.rebind",
            True,
        ),
        (
            "POST",
            f"{t}/specialists/{w.specialist_id}/deactivate",
            {},
            "specialist.deactivate",
            True,
        ),
        ("POST", f"{t}/onboard", {"admin_name": "Jefa"}, "tenant.onboard", True),
    ]


async def _entries_after(api: Api, last_id: int) -> list[AuditEntry]:
    async with api.db.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id)
        )
        found = list(rows)
        uow.session.expunge_all()
        return found


async def test_every_change_is_audited_with_who_when_what_before_and_after(api: Api) -> None:
    cusco = await world.build(api.db, "PE-CUS")
    national = await api.token("national", name="lima")
    regional = await api.token("regional", "PE-CUS", name="cusi")
    async with api.db.uow() as uow:
        tenant_id = await uow.session.scalar(select(Tenant.id).where(Tenant.code == "PE-CUS"))
        me = await uow.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()))
    calls = _calls(cusco)
    # Every mutating route of the router is in the list (a new route must be added here).
    assert {route_of(method, path) for method, path, *_ in calls} == _mutating()
    last = me or 0
    started = utcnow() - timedelta(seconds=5)
    for method, path, body, action, with_before in calls:
        # Onboarding is for national admins; everything else as the region's own admin.
        token = national if path.endswith("/onboard") else regional
        status, answer = await api.call(method, path, token, body)
        assert status < 400, (method, path, status, answer)
        entries = await _entries_after(api, last)
        assert entries, f"{method} {path} left no audit entry"
        last = entries[-1].id
        mine = [e for e in entries if e.action.startswith(action)]
        assert mine, (method, path, [e.action for e in entries])
        who = ":lima" if path.endswith("/onboard") else ":cusi"
        for entry in entries:
            assert entry.actor.startswith("token:") and entry.actor.endswith(who), entry.actor
            assert entry.tenant_id == tenant_id, (path, entry.action)
            assert entry.at >= started and entry.entity and entry.entity_id, (path, entry.action)
        for entry in mine:
            if action == "appointments.export":
                assert entry.after == {"filters": {"status": "booked"}}, entry.after
                continue
            assert entry.after is not None or action == "closure.remove", (path, entry.action)
            if with_before:
                assert entry.before is not None, (path, entry.action)


async def test_refused_changes_leave_no_audit_entry(api: Api) -> None:
    cusco = await world.build(api.db, "PE-CUS")
    token = await api.token("regional", "PE-CUS")
    before = await api.audit_count()
    t = "/tenants/PE-CUS"
    for method, path, body in (
        ("PATCH", f"{t}/services/consultas-laborales", {"horizon_days": 0}),
        ("POST", f"{t}/events/{cusco.event_id}/cancel", {"why": "x"}),
        ("POST", f"{t}/outbox/{cusco.outbox_id + 1000}/retry", {}),
        ("POST", f"{t}/flows/menu/drafts", {"yaml": "steps: ["}),
    ):
        status, _ = await api.call(method, path, token, body)
        assert status >= 400, path
    assert await api.audit_count() == before
