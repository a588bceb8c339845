"""Forged case buttons from a specialist's own chat: the help, politely, and nothing changed."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.db import Database
from core.models import Appointment, AppointmentStatus, OutboxMessage, Specialist
from tests.dialogs.support import Clock, Person, dialog, make_engine
from tests.factories import NOW, add_specialist

BOOK = [
    ("hola", "¿Acepta?"),
    ("sí", "¿En qué le puedo ayudar?"),
    ("pedir una cita", "¿Con qué tema"),
    ("consultas laborales", "¿En qué región"),
    ("arequipa", "¿Qué día"),
    ("el miércoles a las 10", "¿Cuál tiene?"),
    ("1", "DNI"),
    ("40123456", "nombre completo"),
    ("Lucia Quispe", "caso"),
    ("Despido", "¿Confirmo"),
    ("si", "confirmada"),
]
# Digits that str.isdigit() accepts but that are not ASCII: superscript, Arabic-Indic, fullwidth.
LOOKALIKES = (
    str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"),
    str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
    str.maketrans("0123456789", "０１２３４５６７８９"),
)


async def test_forged_case_buttons_get_the_help_and_change_nothing(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(NOW)
    async with db.uow() as uow:
        spec = await add_specialist(uow, "PE-ARE", ("consultas-laborales",), name="Ana Rios")
        address = spec.contact_address
        await uow.commit()
    engine = make_engine(db, clock)
    await engine.start()
    await dialog(Person(engine), BOOK)
    async with db.uow() as uow:
        [booked] = list(await uow.session.scalars(select(Appointment)))
        booked_id, start = booked.id, booked.start_utc
        assert booked.specialist_id == spec.id
    clock.now = start + timedelta(minutes=40)
    me = Person(engine, user=address, channel="telegram")
    forged = [
        f"sp:{action}:{str(booked_id).translate(t)}"
        for t in LOOKALIKES
        for action in ("ack", "attended")
    ]
    forged += ["sp:ack:" + "9" * 40, "sp:ack:-1", "sp:ack: 1", "sp:ack:", "sp:ack:1\x00"]
    caplog.set_level(logging.DEBUG)
    for payload in forged:
        reply = await me.says(payload=payload)
        assert "agenda" in reply.text, payload
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    async with db.uow() as uow:
        after = await uow.session.get_one(Appointment, booked_id)
        assert (after.status, after.acknowledged_at) == (AppointmentStatus.BOOKED, None)
        assert (await uow.session.get_one(Specialist, spec.id)).active


async def test_lookalike_digits_typed_or_forged_are_not_numbers(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(NOW)
    async with db.uow() as uow:
        spec = await add_specialist(uow, "PE-ARE", ("consultas-laborales",), name="Ana Rios")
        address = spec.contact_address
        await uow.commit()
    engine = make_engine(db, clock)
    await engine.start()
    citizen = Person(engine)
    await dialog(citizen, BOOK)
    async with db.uow() as uow:
        # The case card (with its numbered options) reached the specialist.
        await uow.session.execute(update(OutboxMessage).values(status="sent"))
        await uow.commit()
        [booked] = list(await uow.session.scalars(select(Appointment)))
        booked_id = booked.id
    me = Person(engine, user=address, channel="telegram")
    caplog.set_level(logging.DEBUG)
    for typed in ("³", "٣", "１", "1\u0663"):
        reply = await me.says(typed)
        assert "agenda" in reply.text, typed
    for payload in (f"survey:{booked_id}:³", "survey:³:5", "rebook:٣:x", f"rebook:{booked_id}٣:x"):
        await citizen.says(payload=payload)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    async with db.uow() as uow:
        after = await uow.session.get_one(Appointment, booked_id)
        assert (after.status, after.acknowledged_at) == (AppointmentStatus.BOOKED, None)
