"""POST /tenants/{t}/citizens/rebind: a person who changed numbers gets their record back."""

from __future__ import annotations

from sqlalchemy import select

from core.models import Appointment, AuditEntry, ChannelIdentity, Citizen, Conversation
from tests.admin_api.conftest import Api
from tests.dialogs.support import Clock, Person, dialog, make_engine
from tests.factories import NOW, add_specialist

DNI = "45678912"
OLD, NEW = "7501", "7502"
BODY = {
    "document_type": "dni",
    "document_number": "45.678.912",
    "channel": "telegram",
    "address": NEW,
    "reason": "Cambió de número; identidad comprobada por videollamada",
}


def _booking(when: str) -> list[tuple[str, str]]:
    return [
        ("hola", "¿Acepta?"),
        ("si", "ayudar"),
        ("quiero una cita", "¿Con qué tema"),
        ("consultas laborales", "¿En qué región"),
        ("arequipa", "¿Qué día"),
        (when, "¿Cuál tiene?"),
        ("dni", "DNI"),
        (DNI, "nombre completo"),
        ("Rosa Huaman", "caso"),
        ("no me pagan", "¿Confirmo"),
        ("si", "confirmada"),
    ]


async def _lost_number(api: Api) -> tuple[Person, int]:
    """Rosa booked from her old chat, then again from a new one: two records."""
    async with api.db.uow() as uow:
        await add_specialist(uow, "PE-ARE", ("consultas-laborales",))
        await uow.commit()
    engine = make_engine(api.db, Clock(NOW))
    await engine.start()
    old = Person(engine, user=OLD, channel="telegram")
    new = Person(engine, user=NEW, channel="telegram")
    await dialog(old, _booking("el miercoles a las 10"))
    await dialog(new, _booking("el jueves a las 10"))
    async with api.db.uow() as uow:
        owner = await uow.session.scalar(select(Citizen).where(Citizen.document_number == DNI))
        assert owner is not None
        return new, owner.id


async def _bindings(api: Api) -> dict[str, int]:
    async with api.db.uow() as uow:
        rows = await uow.session.execute(
            select(ChannelIdentity.address, ChannelIdentity.citizen_id)
        )
        return {str(address): int(citizen) for address, citizen in rows}


async def test_an_admin_of_the_region_binds_the_new_chat(api: Api) -> None:
    new, owner_id = await _lost_number(api)
    before = await _bindings(api)
    assert before[OLD] == owner_id and before[NEW] != owner_id
    token = await api.token("regional", "PE-ARE", name="ana")

    status, answer = await api.call("POST", "/tenants/PE-ARE/citizens/rebind", token, BODY)

    assert status == 200, answer
    assert answer == {
        "citizen_id": owner_id,
        "channel": "telegram",
        "moved_from_citizen_id": before[NEW],
        "appointments_moved": 1,
        "addresses_ended": 1,
    }
    assert await _bindings(api) == {NEW: owner_id}
    async with api.db.uow() as uow:
        owners = set(await uow.session.scalars(select(Appointment.citizen_id)))
        assert owners == {owner_id}
        left = await uow.session.get(Citizen, before[NEW])
        assert left is not None and left.claimed_document_number is None
        entry = await uow.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "citizen.rebind")
        )
        assert entry is not None and entry.actor.endswith(":ana")
        assert entry.entity_id == str(owner_id) and entry.after is not None
        assert entry.after["appointments_moved"] == 1
        memory = await uow.session.scalar(
            select(Conversation.memory).where(Conversation.user_ref == NEW)
        )
        assert memory is not None and "citizen_id" not in memory
    # from the new chat, «mis citas» now lists both appointments of her record
    await dialog(new, [("hola", "¿Acepta?"), ("si", "ayudar"), ("mis citas", "¿Cuál tiene?")])
    await new.says("dni")
    reply = await new.says(DNI)
    shown = "\n".join(reply.options)
    assert "miércoles 2 de diciembre" in shown and "jueves 3 de diciembre" in shown


async def test_other_regions_viewers_and_bad_bodies_change_nothing(api: Api) -> None:
    await _lost_number(api)
    before = await _bindings(api)
    cusco = await api.token("regional", "PE-CUS")
    viewer = await api.token("viewer", "PE-ARE")
    arequipa = await api.token("regional", "PE-ARE")
    audits = await api.audit_count()
    path = "/tenants/PE-ARE/citizens/rebind"
    assert (await api.call("POST", "/tenants/PE-CUS/citizens/rebind", cusco, BODY))[0] == 404
    assert (await api.call("POST", path, cusco, BODY))[0] == 403
    assert (await api.call("POST", path, viewer, BODY))[0] == 403
    unknown = {**BODY, "document_number": "11111111"}
    assert (await api.call("POST", path, arequipa, unknown))[0] == 404
    for bad in (
        {**BODY, "document_number": "123"},
        {**BODY, "channel": "sms"},
        {**BODY, "address": "abc"},
        {**BODY, "reason": ""},
        {**BODY, "extra": 1},
    ):
        status, answer = await api.call("POST", path, arequipa, bad)
        assert status == 422, (bad, answer)
    assert await _bindings(api) == before
    assert await api.audit_count() == audits
