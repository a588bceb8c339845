"""Resources with their rules: CSV import, services, days off, events, tickets, outbox, reports."""

from __future__ import annotations

from sqlalchemy import func, select

from core.models import AuditEntry, Conversation, HandoffRequest, OutboxMessage, Specialist
from tests.admin_api import world
from tests.admin_api.conftest import Api
from tests.factories import add_specialist

HEADER = "name,contact_channel,contact_address,services,hours\n"


async def _specialists(api: Api) -> int:
    async with api.db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Specialist)) or 0)


async def test_csv_import_reports_bad_lines_and_is_all_or_nothing(api: Api) -> None:
    token = await api.token("regional", "PE-ARE")
    text = (
        HEADER
        + "Ana Torres,telegram,111111,consultas-laborales,mon 08:30-13:00;tue 08:30-13:00\n"
        + "Sin Canal,fax,222,consultas-laborales,\n"
        + "Rosa Díaz,whatsapp,+51987000111,consultas-laborales;no-existe,\n"
        + "\n"
        + "Luis Paz,telegram,333333,consultas-laborales,mon 13:00-12:00\n"
        + "Otra Ana,telegram,111111,consultas-laborales,\n"
    )
    path = "/tenants/PE-ARE/specialists/import"
    audits = await api.audit_count()
    status, body = await api.call("POST", path, token, {"csv": text})
    assert status == 422 and body["error"] == "invalid"
    rows = body["details"]["rows"]
    assert [r["line"] for r in rows] == [3, 4, 6, 7]
    assert "contact_channel" in rows[0]["message"] and "no-existe" in rows[1]["message"]
    assert "after the start" in rows[2]["message"] and "already" in rows[3]["message"]
    assert await _specialists(api) == 0 and await api.audit_count() == audits

    status, body = await api.call("POST", path, token, {"csv": text, "skip_bad": True})
    assert status == 200 and body["imported"] == 1 and len(body["skipped"]) == 4
    status, body = await api.call("GET", "/tenants/PE-ARE/specialists", token)
    [ana] = body["items"]
    assert ana["name"] == "Ana Torres" and ana["hours"] == ["mon 08:30-13:00", "tue 08:30-13:00"]
    assert ana["services"] == ["consultas-laborales"]


async def test_csv_header_in_any_case_and_without_hours(api: Api) -> None:
    token = await api.token("regional", "PE-ARE")
    path = "/tenants/PE-ARE/specialists/import"
    text = (
        " Name ,Contact_Channel,CONTACT_ADDRESS,Services\n"
        "Eva Ccori,telegram,444444,consultas-laborales\n"
    )
    status, body = await api.call("POST", path, token, {"csv": text})
    assert status == 200 and body == {"imported": 1, "skipped": []}
    status, body = await api.call("POST", path, token, {"csv": "name,services\nX,y\n"})
    assert status == 422 and body["details"]["rows"][0]["line"] == 1
    assert "contact_channel, contact_address" in body["message"]
    status, body = await api.call("GET", "/tenants/PE-ARE/specialists", token)
    [eva] = body["items"]
    assert eva["name"] == "Eva Ccori" and eva["hours"] == []


async def test_service_rules_validated_and_audited(api: Api) -> None:
    token = await api.token("regional", "PE-ARE", name="jefa")
    path = "/tenants/PE-ARE/services/consultas-laborales"
    audits = await api.audit_count()
    for body in ({"horizon_days": 0}, {"buffer_minutes": -1}, {"enabled": "yes"}, {}, {"x": 1}):
        status, answer = await api.call("PATCH", path, token, body)
        assert status == 422, body
    assert await api.audit_count() == audits
    status, answer = await api.call("PATCH", path, token, {"horizon_days": 45, "enabled": False})
    assert status == 200 and answer["horizon_days"] == 45 and answer["enabled"] is False
    async with api.db.uow() as uow:
        entry = await uow.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "service.update")
        )
        assert entry is not None
        assert entry.before == {"horizon_days": 30, "enabled": True}
        assert entry.after == {"horizon_days": 45, "enabled": False}
        assert entry.actor.endswith(":jefa")
    status, answer = await api.call(
        "PATCH", "/tenants/PE-ARE/services/nope", token, {"enabled": True}
    )
    assert status == 404


async def test_day_off_moves_or_cancels_appointments(api: Api) -> None:
    cusco = await world.build(api.db, "PE-CUS")
    token = await api.token("regional", "PE-CUS")
    status, body = await api.call(
        "POST",
        f"/tenants/PE-CUS/specialists/{cusco.specialist_id}/days-off",
        token,
        {"starts_on": "2026-12-02", "ends_on": "2026-12-02", "reason": "salud"},
    )
    assert status == 201, body
    assert body["kind"] == "day_off" and body["specialist_id"] == cusco.specialist_id
    # bot.outbox.notify.after_day_off ran: the one appointment that day had nobody to move to.
    assert body["appointments"] is not None
    assert sum(body["appointments"].values()) in (0, 1)
    status, body = await api.call(
        "POST",
        "/tenants/PE-CUS/specialists/999999/days-off",
        token,
        {"starts_on": "2026-12-02", "ends_on": "2026-12-01"},
    )
    assert status == 422


async def test_events_tickets_outbox(api: Api) -> None:
    cusco = await world.build(api.db, "PE-CUS")
    token = await api.token("regional", "PE-CUS")
    t = "/tenants/PE-CUS"
    status, body = await api.call("GET", f"{t}/events/{cusco.event_id}/attendees", token)
    [seat] = body["items"]
    assert seat["first_name"] == "Lucía" and seat["document"] == "****" + cusco.document[-4:]
    status, body = await api.call("POST", f"{t}/events/{cusco.event_id}/cancel", token, {})
    assert status == 200 and body["registrations"] == 1
    status, body = await api.call("POST", f"{t}/events/{cusco.event_id}/cancel", token, {})
    assert status == 409
    status, body = await api.call("GET", f"{t}/events", token)
    assert body["items"][0]["status"] == "cancelled" and body["items"][0]["confirmed"] == 0

    status, body = await api.call("GET", f"{t}/tickets?status=open", token)
    assert [x["id"] for x in body["items"]] == [cusco.ticket_id]
    status, body = await api.call(
        "POST", f"{t}/tickets/{cusco.ticket_id}/assign", token, {"specialist_id": 999999}
    )
    assert status == 422
    status, body = await api.call(
        "POST",
        f"{t}/tickets/{cusco.ticket_id}/assign",
        token,
        {"specialist_id": cusco.specialist_id},
    )
    assert status == 200 and body["status"] == "assigned"
    async with api.db.uow() as uow:  # the relay starts: both sides are told (relay.assign)
        told = set(
            await uow.session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.subject == f"ticket:{cusco.ticket_id}"
                )
            )
        )
    assert told == {
        f"ticket:{cusco.ticket_id}:assigned:{cusco.specialist_id}",
        f"ticket:{cusco.ticket_id}:connected:{cusco.specialist_id}",
    }

    status, body = await api.call("GET", f"{t}/outbox?status=failed", token)
    [stuck] = body["items"]
    assert stuck["address"] == "****" + world.PHONE[-4:] and world.PHONE not in str(body)
    status, body = await api.call("POST", f"{t}/outbox/{cusco.outbox_id}/retry", token, {})
    assert status == 200 and body["status"] == "pending" and body["attempts"] == 0
    status, body = await api.call("POST", f"{t}/outbox/{cusco.outbox_id}/retry", token, {})
    assert status == 409
    async with api.db.uow() as uow:
        row = await uow.session.get(OutboxMessage, cusco.outbox_id)
        assert row is not None and row.status == "pending" and row.last_error is None


async def test_appointments_filters_and_export(api: Api) -> None:
    cusco = await world.build(api.db, "PE-CUS")
    token = await api.token("regional", "PE-CUS")
    t = "/tenants/PE-CUS"
    status, body = await api.call("GET", f"{t}/appointments?from=2026-12-02&to=2026-12-02", token)
    assert [a["id"] for a in body["items"]] == [cusco.appointment_id]
    status, body = await api.call("GET", f"{t}/appointments?from=2026-12-03", token)
    assert body["items"] == []
    status, body = await api.call("GET", f"{t}/appointments?status=cancelled", token)
    assert body["items"] == []
    status, body = await api.call("GET", f"{t}/appointments?status=lost", token)
    assert status == 422
    response = await api.client.get(
        f"/api/admin{t}/appointments.csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 200 and response.content_type == "text/csv"
    lines = (await response.text()).splitlines()
    assert lines[0].startswith("id,start,end,status")
    assert len(lines) == 2 and cusco.document in lines[1] and world.CITIZEN_NAME in lines[1]


async def test_reports_and_dashboard(api: Api) -> None:
    await world.build(api.db, "PE-CUS")
    national = await api.token("national")
    # The appointment was booked at NOW (1 Dec 2026, 09:00 Lima) for 2 Dec 10:00.
    status, body = await api.call(
        "GET", "/reports?tenant=PE-CUS&from=2026-11-30&to=2026-12-02", national
    )
    assert status == 200 and [d["date"] for d in body["days"]][1] == "2026-12-01"
    assert body["days"][1]["appointments"] == 1 and body["days"][0]["appointments"] == 0
    assert body["totals"]["appointments"] == 1 and body["totals"]["median_wait_hours"] == 25.0
    # Registrations and the survey answer are of today.
    status, body = await api.call("GET", "/reports?tenant=PE-CUS", national)
    assert status == 200 and len(body["days"]) == 7
    totals = body["totals"]
    assert totals["event_registrations"] == 1
    assert totals["satisfaction"] == {"mean": 4.0, "n": 1}
    status, body = await api.call("GET", "/reports", national)
    assert body["tenant"] is None and [r["tenant"] for r in body["regions"]] == ["PE-CUS"]
    status, body = await api.call("GET", "/reports?tenant=PE-ARE", national)
    assert body["totals"]["appointments"] == 0
    arequipa = await api.token("viewer", "PE-ARE")
    status, body = await api.call("GET", "/reports?tenant=PE-CUS", arequipa)
    assert status == 403
    status, body = await api.call("GET", "/reports?from=2026-01-02&to=2026-01-01", national)
    assert status == 422

    response = await api.client.get("/dashboard", cookies={"token": national})
    page = await response.text()
    assert response.status == 200 and "Cusco" in page and "Nacional" in page
    response = await api.client.get("/dashboard")
    assert response.status == 401


async def test_audit_list_is_scoped(api: Api) -> None:
    await world.build(api.db, "PE-CUS")
    cusco = await api.token("regional", "PE-CUS")
    await api.call(
        "POST",
        "/tenants/PE-CUS/closures",
        cusco,
        {"starts_on": "2027-05-01", "ends_on": "2027-05-01", "reason": "x"},
    )
    status, body = await api.call("GET", "/audit?action=closure.add.regional", cusco)
    assert status == 200 and body["items"][0]["tenant"] == "PE-CUS"
    assert body["items"][0]["after"]["starts_on"] == "2027-05-01"
    status, body = await api.call("GET", "/audit?tenant=PE-ARE", cusco)
    assert status == 403
    status, body = await api.call("GET", "/audit?tenant=PE-ARE", await api.token("national"))
    assert status == 200 and body["items"] == []


async def test_a_specialist_relays_one_conversation_at_a_time(api: Api) -> None:
    """The database refuses a second relay; the API says why and changes nothing."""
    cusco = await world.build(api.db, "PE-CUS")
    token = await api.token("regional", "PE-CUS")
    async with api.db.uow() as uow:
        other = Conversation(channel="telegram", user_ref="778", answers={}, memory={}, state={})
        uow.session.add(other)
        await uow.session.flush()
        second = HandoffRequest(
            conversation_id=other.id,
            tenant_id=(await uow.session.get_one(Specialist, cusco.specialist_id)).tenant_id,
            service_id=None,
            citizen_id=None,
        )
        uow.session.add(second)
        await uow.session.flush()
        second_id = second.id
        await uow.commit()
    path = "/tenants/PE-CUS/tickets/{}/assign"
    body = {"specialist_id": cusco.specialist_id}
    status, _ = await api.call("POST", path.format(cusco.ticket_id), token, body)
    assert status == 200
    status, answer = await api.call("POST", path.format(second_id), token, body)
    assert (status, answer["error"]) == (409, "conflict")
    assert "another citizen" in answer["message"]
    async with api.db.uow() as uow:
        row = await uow.session.get_one(HandoffRequest, second_id)
        assert (row.status, row.specialist_id) == ("open", None)
        told = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.subject == f"ticket:{second_id}")
        )
        assert told == 0


async def test_reassigning_a_relayed_ticket_tells_the_previous_specialist(api: Api) -> None:
    cusco = await world.build(api.db, "PE-CUS")
    token = await api.token("regional", "PE-CUS")
    async with api.db.uow() as uow:
        colleague = (await add_specialist(uow, "PE-CUS", ())).id
        await uow.commit()
    path = f"/tenants/PE-CUS/tickets/{cusco.ticket_id}/assign"
    status, _ = await api.call("POST", path, token, {"specialist_id": cusco.specialist_id})
    assert status == 200
    status, body = await api.call("POST", path, token, {"specialist_id": colleague})
    assert (status, body["specialist_id"]) == (200, colleague)
    async with api.db.uow() as uow:
        keys = set(
            await uow.session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.subject == f"ticket:{cusco.ticket_id}"
                )
            )
        )
    assert f"ticket:{cusco.ticket_id}:handed-over:{cusco.specialist_id}:{colleague}" in keys
    assert f"ticket:{cusco.ticket_id}:connected:{colleague}" in keys


async def test_deactivating_a_relaying_specialist_hands_the_citizen_on_at_once(api: Api) -> None:
    cusco = await world.build(api.db, "PE-CUS")
    token = await api.token("regional", "PE-CUS")
    path = f"/tenants/PE-CUS/tickets/{cusco.ticket_id}/assign"
    status, _ = await api.call("POST", path, token, {"specialist_id": cusco.specialist_id})
    assert status == 200
    status, _ = await api.call(
        "POST", f"/tenants/PE-CUS/specialists/{cusco.specialist_id}/deactivate", token, {}
    )
    assert status == 200
    async with api.db.uow() as uow:
        ticket = await uow.session.get_one(HandoffRequest, cusco.ticket_id)
        assert (ticket.status, ticket.specialist_id) == ("open", None)  # nobody else in Cusco
        told = await uow.session.scalar(
            select(OutboxMessage.payload).where(
                OutboxMessage.idempotency_key
                == f"ticket:{cusco.ticket_id}:released:{cusco.specialist_id}:0"
            )
        )
    assert told is not None and "ya no está disponible" in told["text"]
