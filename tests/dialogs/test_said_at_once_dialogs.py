"""Everything said at once is kept: service, region, day, time, document and story fill the
questions they answer, from any message, the one written before consent included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import select

from bot.conversation.engine import Engine
from core.db import Database
from core.models import Appointment, Citizen, Service
from tests.dialogs.support import Clock, Person, dialog, make_engine
from tests.factories import NOW, add_specialist, lima


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    async with db.uow() as uow:
        await add_specialist(
            uow,
            "PE-ARE",
            ("consultas-laborales", "patrocinio-judicial-gratuito", "conciliacion-administrativa"),
        )
        await uow.commit()
    engine = make_engine(db, Clock(NOW))
    await engine.start()
    yield engine


async def _booked(db: Database) -> tuple[datetime, str | None, str, str | None]:
    """The one appointment's start and story, its service code and its citizen's document."""
    async with db.uow() as uow:
        appointment = await uow.session.scalar(select(Appointment))
        assert appointment is not None
        service = await uow.session.get_one(Service, appointment.service_id)
        citizen = await uow.session.get_one(Citizen, appointment.citizen_id)
        return (
            appointment.start_utc,
            appointment.case_description,
            service.code,
            citizen.document_number,
        )


async def test_a_first_message_with_everything_books_in_eight_messages(
    engine: Engine, db: Database
) -> None:
    person = Person(engine)
    turns = [
        # Was: the plain list of services after consent; day, time, region and reason lost.
        (
            "quiero una cita el lunes a las 10 en arequipa porque me despidieron",
            "¿Acepta?",
        ),
        ("si", ["¿A cuál de estos", "Consultas laborales"]),
        ("consultas laborales", ["Consultas laborales, Arequipa", "documento"]),
        ("dni 40123456", "nombre completo"),
        ("Lucia Quispe Mamani", ["lunes 7 de diciembre, 10:00", "¿Confirmo la cita?"]),
        ("si", "Su cita está confirmada"),
    ]
    await dialog(person, turns)
    assert len(turns) <= 8
    start, story, service, document = await _booked(db)
    assert (service, document) == ("consultas-laborales", "40123456")
    assert start == lima(2026, 12, 7, 10)
    assert story == "quiero una cita el lunes a las 10 en arequipa porque me despidieron"


async def test_the_document_and_a_place_in_the_first_message_are_kept(
    engine: Engine, db: Database
) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            (
                "buenas, necesito conciliacion con mi empleador, vivo en arequipa, "
                "mi dni es 40 123 456, puede ser el miercoles a las 3 y media de la tarde",
                "¿Acepta?",
            ),
            ("sí", ["Conciliación administrativa laboral, Arequipa", "nombre completo"]),
            ("Lucia Quispe", ["miércoles 2 de diciembre, 3:30", "¿Confirmo la cita?"]),
            ("si", "Su cita está confirmada"),
        ],
    )
    start, _, service, document = await _booked(db)
    assert (service, document) == ("conciliacion-administrativa", "40123456")
    assert start == lima(2026, 12, 2, 15, 30)


async def test_free_words_at_the_menu_name_the_service(engine: Engine) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            ("hola", "¿Acepta?"),
            ("si", "¿En qué le puedo ayudar?"),
            # Was «Disculpe, no le entendí. Responda con el número de una opción.»
            ("conciliacion", "¿En qué región"),
            ("arequipa", "Conciliación administrativa laboral, Arequipa"),
        ],
    )


async def test_words_added_at_a_later_question_answer_the_questions_ahead(
    engine: Engine,
) -> None:
    await dialog(
        Person(engine),
        [
            ("hola", "¿Acepta?"),
            ("si", "¿En qué le puedo ayudar?"),
            ("quiero una cita", "¿Con qué tema"),
            (
                "conciliacion en arequipa para el jueves a las 11 y media",
                ["Conciliación administrativa laboral, Arequipa", "documento"],
            ),
        ],
    )


async def test_a_heard_day_that_does_not_fit_is_explained_and_asked(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            ("consultas laborales en arequipa el domingo", "¿Acepta?"),
            ("si", ["Consultas laborales, Arequipa", "domingo 6 de diciembre", "¿Qué día"]),
        ],
    )


@pytest.mark.parametrize(
    ("first", "opened"),
    [
        ("hola quiero cancelar mi cita", "Para buscar sus citas necesito su documento"),
        ("buenas, hay cursos?", "Capacitaciones virtuales gratuitas"),
        ("quiero hablar con una persona", "Le comunico con una persona"),
        ("hola, quiero ver mis citas por favor", "Para buscar sus citas necesito su documento"),
    ],
)
async def test_the_menu_option_a_first_message_names_opens_after_consent(
    engine: Engine, first: str, opened: str
) -> None:
    """Was the menu, the first message forgotten: the person had to say it again."""
    person = Person(engine, channel="whatsapp", user="whatsapp:+14155550131")
    reply = await dialog(person, [(first, "¿Acepta?"), ("si", opened)])
    assert "¿En qué le puedo ayudar?" not in reply.text


async def test_a_greeting_before_consent_shows_the_menu(engine: Engine) -> None:
    await dialog(
        Person(engine), [("buenas tardes", "¿Acepta?"), ("si", "¿En qué le puedo ayudar?")]
    )


async def test_words_before_a_declined_consent_are_not_kept_for_later(engine: Engine) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            ("quiero cancelar mi cita", "¿Acepta?"),
            ("no", "Sin su autorización"),
            ("hola", "¿Acepta?"),
            ("sí", "¿En qué le puedo ayudar?"),  # the old words opened nothing
        ],
    )
    reply = await dialog(person, [("2", "Para buscar sus citas")])  # the menu is live
    assert reply.options
