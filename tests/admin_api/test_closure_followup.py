"""POST /tenants/{t}/closures follows up the appointments it covers and says how many."""

from __future__ import annotations

from sqlalchemy import select

from bot.outbox import notify
from core import booking, citizens
from core.models import Appointment, AuditEntry, OutboxMessage
from tests.admin_api.conftest import Api
from tests.factories import NOW, add_citizen, add_specialist, lima

CLOSURE = {"starts_on": "2026-12-02", "ends_on": "2026-12-02", "reason": "Paro regional"}


async def _booked_with_reminders(api: Api) -> int:
    async with api.db.uow() as uow:
        await add_specialist(uow, "PE-ARE")
        citizen = await add_citizen(uow)
        await citizens.link_channel(uow, citizen, "telegram", "7501")
        appointment = await booking.book(
            uow, tenant_code="PE-ARE", service_code="consultas-laborales",
            citizen_id=citizen.id, start=lima(2026, 12, 2, 10), now=NOW, channel="telegram",
        )  # fmt: skip
        await notify.appointment_booked(uow, appointment.id, now=NOW)
        await uow.commit()
    return appointment.id


async def _state(api: Api, appointment_id: int) -> tuple[str, dict[str, str]]:
    async with api.db.uow() as uow:
        row = await uow.session.get(Appointment, appointment_id)
        assert row is not None
        outbox = await uow.session.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.status).where(
                OutboxMessage.subject == f"appointment:{appointment_id}"
            )
        )
        return row.status.value, {str(k): str(s) for k, s in outbox}


async def test_the_answer_counts_what_the_closure_did(api: Api) -> None:
    api.ctx.clock = lambda: NOW
    appointment = await _booked_with_reminders(api)
    token = await api.token("regional", "PE-ARE", name="ana")
    status, body = await api.call("POST", "/tenants/PE-ARE/closures", token, CLOSURE)
    assert status == 201, body
    assert body["kind"] == "regional" and body["starts_on"] == "2026-12-02"
    assert body["appointments"] == {"moved": 0, "cancelled": 1, "reoffered": 1}
    state, outbox = await _state(api, appointment)
    assert state == "cancelled"
    key = f"appointment:{appointment}"
    assert outbox[f"{key}:reminder:60"] == "withdrawn"
    assert outbox[f"{key}:reminder:1440"] == "withdrawn"
    assert outbox[f"{key}:cancelled:citizen"] == "pending"
    async with api.db.uow() as uow:
        actions = list(
            await uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.actor.like("%ana%"))
            )
        )
    assert "closure.add.regional" in actions and "appointment.cancel" in actions
    # A day with nothing booked: the closure is added, nothing else happens.
    quiet = {**CLOSURE, "starts_on": "2026-12-04", "ends_on": "2026-12-04"}
    status, body = await api.call("POST", "/tenants/PE-ARE/closures", token, quiet)
    assert status == 201 and body["appointments"] == {"moved": 0, "cancelled": 0, "reoffered": 0}


async def test_a_refused_closure_touches_no_appointment(api: Api) -> None:
    api.ctx.clock = lambda: NOW
    appointment = await _booked_with_reminders(api)
    viewer = await api.token("viewer", "PE-ARE")
    status, _ = await api.call("POST", "/tenants/PE-ARE/closures", viewer, CLOSURE)
    assert status == 403
    cusco = await api.token("regional", "PE-CUS")
    status, _ = await api.call("POST", "/tenants/PE-ARE/closures", cusco, CLOSURE)
    assert status == 403
    regional = await api.token("regional", "PE-ARE")
    backwards = {**CLOSURE, "starts_on": "2026-12-03"}
    status, body = await api.call("POST", "/tenants/PE-ARE/closures", regional, backwards)
    assert status == 422, body
    state, outbox = await _state(api, appointment)
    assert state == "booked"
    assert outbox[f"appointment:{appointment}:reminder:60"] == "pending"
