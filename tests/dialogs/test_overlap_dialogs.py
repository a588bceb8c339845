"""One person, the same time, twice: the second booking is refused kindly, showing the first.

Issue 11: a citizen booked «Patrocinio» on Monday at 4:00 p. m. twice, with two specialists.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.conversation.engine import Engine
from bot.outbox import notify
from core import catalog, roster
from core.db import Database
from core.models import Appointment, AppointmentStatus, OutboxMessage
from tests.dialogs.support import Clock, Person, dialog, make_engine
from tests.factories import NOW, add_specialist, lima

PATROCINIO = "patrocinio-judicial-gratuito"
MONDAY_4PM = "lunes 7 de diciembre, 4:00\u202fp.\u202fm."


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    async with db.uow() as uow:
        for name in ("Ana Ríos", "Beto Paz"):
            await add_specialist(uow, "PE-ARE", (PATROCINIO,), name=name)
        await uow.commit()
    engine = make_engine(db, Clock(NOW))
    await engine.start()
    yield engine


CASE_QUESTION = ("cuéntenos su caso", "tell us about your case")


async def described(person: Person, description: str, expected: list[str]) -> None:
    """Tell the case if the bot asks for it (it may have heard it already); then `expected`."""
    assert person.last is not None
    reply = person.last
    if any(question in reply.text for question in CASE_QUESTION):
        reply = await person.says(description)
    shown = reply.text + "\n" + "\n".join(reply.options)
    for fragment in expected:
        assert fragment in shown, f"{fragment!r} not in:\n{shown}"


async def _booked(db: Database) -> list[tuple[int, object]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(Appointment.specialist_id, Appointment.start_utc).where(
                Appointment.status == AppointmentStatus.BOOKED
            )
        )
        return [(r[0], r[1]) for r in rows]


async def test_patrocinio_monday_4pm_twice_is_refused_showing_the_first(
    engine: Engine, db: Database
) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            ("hola", "¿Acepta?"),
            ("si", "¿En qué le puedo ayudar?"),
            ("quiero una cita", "¿Con qué tema"),
            ("patrocinio", "¿En qué región"),
            ("arequipa", "¿Qué día"),
            ("el lunes a las 4 de la tarde", "¿Cuál tiene?"),
            ("dni", "número de su DNI"),
            ("40123456", "nombre completo"),
            ("Lucia Quispe", []),
        ],
    )
    await described(person, "me despidieron sin pagarme", [MONDAY_4PM, "¿Confirmo la cita?"])
    await dialog(
        person,
        [
            ("si", ["Su cita está confirmada", MONDAY_4PM]),
            # The same again: the other specialist is free, but the person is not.
            ("kiero otra cita", "¿Con qué tema"),
            ("patrocinio judicial", "¿Qué día"),  # the region is remembered
            ("lunes 4pm", []),
        ],
    )
    await described(person, "otro despido", [MONDAY_4PM, "¿Confirmo la cita?"])
    await dialog(
        person,
        [
            (
                "sí",
                [
                    "Usted ya tiene una cita a esa hora",
                    f"(Patrocinio judicial gratuito, {MONDAY_4PM})",
                    "«mis citas»",
                    "Elijamos otra fecha",
                    "¿Qué día le conviene?",
                ],
            ),
        ],
    )
    booked = await _booked(db)
    assert [start for _, start in booked] == [lima(2026, 12, 7, 16)]
    # Another time the same day is fine: the conversation goes on from the day.
    await dialog(
        person,
        [
            ("lunes a las 10", "¿Confirmo la cita?"),
            ("si", ["Su cita está confirmada", "lunes 7 de diciembre, 10:00"]),
        ],
    )
    assert sorted(start for _, start in await _booked(db)) == [
        lima(2026, 12, 7, 10),
        lima(2026, 12, 7, 16),
    ]
    # Moving the 10:00 onto the 4 p. m. one is refused the same way; nothing changes.
    held = f"Usted ya tiene una cita a esa hora (Patrocinio judicial gratuito, {MONDAY_4PM})"
    await dialog(
        person,
        [
            ("mis citas", ["Sus próximas citas", "lunes 7 de diciembre, 10:00"]),
            ("1", "¿Qué desea hacer"),
            ("cambiar la hora", "¿Para qué día"),
            ("el mismo lunes", "Horarios libres"),
            ("4 de la tarde", f"¿Cambio su cita al {MONDAY_4PM}?"),
            ("si", [held, "Su cita anterior sigue en pie"]),
        ],
    )
    assert sorted(start for _, start in await _booked(db)) == [
        lima(2026, 12, 7, 10),
        lima(2026, 12, 7, 16),
    ]


async def test_in_english_the_refusal_shows_the_first_too(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            ("hola", "¿Acepta?"),
            ("si", "¿En qué le puedo ayudar?"),
            ("idioma", "English"),
            ("english", "How can I help"),
            ("appointment", "What do you need help with?"),
            ("patrocinio", "Which region"),
            ("arequipa", "Which day"),
            ("monday 4 pm", "Which one"),
            ("dni", "DNI"),
            ("40123456", "full name"),
            ("Lucia Quispe", []),
        ],
    )
    await described(person, "fired without pay", ["Shall I confirm"])
    await dialog(
        person,
        [
            ("yes", "confirmed"),
            ("appointment", "What do you need help with?"),
            ("patrocinio", "Which day"),
            ("monday 4 pm", []),
        ],
    )
    await described(person, "again", ["Shall I confirm"])
    refused = await person.says("yes")
    for fragment in (
        "You already have an appointment at that time",
        "Monday, December 7",
        "«my appointments»",
    ):
        assert fragment in refused.text
    assert len(await _booked(db)) == 1


async def test_a_new_time_offered_after_a_closure_that_overlaps_is_refused_kindly(
    engine: Engine, db: Database
) -> None:
    """Wednesday closes; of the new times offered, 11:30 today is the person's own: refused."""
    person = Person(engine)
    await dialog(
        person,
        [
            ("hola", "¿Acepta?"),
            ("si", "¿En qué le puedo ayudar?"),
            ("1", "¿Con qué tema"),
            ("patrocinio", "¿En qué región"),
            ("arequipa", "¿Qué día"),
            ("hoy a las 11 y media", "¿Cuál tiene?"),
            ("dni", "número de su DNI"),
            ("40123456", "nombre completo"),
            ("Lucia Quispe", []),
        ],
    )
    await described(person, "despido", ["¿Confirmo la cita?"])
    await dialog(
        person,
        [
            ("si", "Su cita está confirmada"),
            ("otra cita", "¿Con qué tema"),
            ("patrocinio", "¿Qué día"),
            ("miercoles a las 10", []),
        ],
    )
    await described(person, "otro caso", ["¿Confirmo la cita?"])
    await dialog(person, [("si", "Su cita está confirmada")])
    async with db.uow() as uow:
        region = await catalog.get_tenant(uow, "PE-ARE")
        wednesday = lima(2026, 12, 2, 10).date()
        await roster.add_closure(uow, region.id, wednesday, wednesday, reason="Paro", by="a")
        counts = await notify.after_closure(
            uow, tenant_id=region.id, starts_on=wednesday, ends_on=wednesday, actor="a", now=NOW
        )
        await uow.commit()
    assert counts == {"moved": 0, "cancelled": 1, "reoffered": 1}
    async with db.uow() as uow:
        notice = await uow.session.scalar(
            select(OutboxMessage.payload)
            .where(OutboxMessage.address == person.user, OutboxMessage.kind == "notification")
            .where(OutboxMessage.idempotency_key.like("%:cancelled:citizen"))
        )
    assert notice is not None
    offers = [payload for payload, _ in notice["options"] if payload.startswith("rebook:")]
    assert offers[0].endswith(lima(2026, 12, 1, 11, 30).isoformat())  # the other specialist is free
    refused = await person.says(payload=offers[0])
    assert "Usted ya tiene una cita a esa hora" in refused.text
    assert "(Patrocinio judicial gratuito, martes 1 de diciembre, 11:30" in refused.text
    assert "nueva cita" in (await person.says(payload=offers[1])).text
    assert len(await _booked(db)) == 2
