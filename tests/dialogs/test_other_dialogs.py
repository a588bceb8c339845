"""My appointments, training events, orientation, hand-off, language, data erasure."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.conversation.engine import Engine
from core import events
from core.db import Database
from core.models import (
    Appointment,
    AppointmentStatus,
    ChannelIdentity,
    Citizen,
    EventRegistration,
    HandoffRequest,
    RegistrationStatus,
)
from tests.dialogs.support import Clock, Person, dialog, make_engine
from tests.factories import NOW, add_citizen, add_event, add_specialist, lima

CONSENT = [("hola", "¿Acepta?"), ("sí", "¿En qué le puedo ayudar?")]
BOOKED = [
    *CONSENT,
    ("pedir una cita", "¿Con qué tema"),
    ("consultas laborales", "¿En qué región"),
    ("arequipa", "¿Qué día"),
    ("el miércoles a las 10", "¿Cuál tiene?"),
    ("1", "DNI"),
    ("40123456", "nombre completo"),
    ("Lucía Quispe", "caso"),
    ("Despido", "¿Confirmo"),
    ("sí", "confirmada"),
]


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    async with db.uow() as uow:
        await add_specialist(uow, "PE-ARE", ("consultas-laborales",), name="Ana Ríos")
        await add_specialist(uow, "PE-ARE", ("consultas-laborales",), name="Jorge Mamani")
        await uow.commit()
    engine = make_engine(db, Clock(NOW))
    await engine.start()
    yield engine


async def _appointments(db: Database) -> list[tuple[AppointmentStatus, object, str | None]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(Appointment).order_by(Appointment.id))
        return [(a.status, a.start_utc, a.cancel_reason) for a in rows]


async def test_cancel_an_appointment_with_a_reason(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(person, BOOKED)
    await dialog(
        person,
        [
            ("mis citas", ["Sus próximas citas", "miércoles 2 de diciembre"]),
            ("1", "¿Qué desea hacer"),
            ("cancelarla", "¿Por qué"),
            ("Conseguí trabajo", "¿Confirma"),
            ("sí", "fue cancelada"),
        ],
    )
    assert await _appointments(db) == [
        (AppointmentStatus.CANCELLED, lima(2026, 12, 2, 10), "Conseguí trabajo")
    ]


async def test_reschedule_an_appointment(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(person, BOOKED)
    await dialog(
        person,
        [
            ("menú", "¿En qué le puedo ayudar?"),
            ("2", "Sus próximas citas"),
            ("1", "¿Qué desea hacer"),
            ("1", "¿Para qué día"),
            ("el jueves", "Horarios libres para el jueves 3 de diciembre"),
            ("a las 3 de la tarde", "¿Cambio su cita al jueves 3 de diciembre, 3:00"),
            ("sí", "ahora es el jueves 3 de diciembre"),
        ],
    )
    rows = await _appointments(db)
    assert rows == [
        (AppointmentStatus.CANCELLED, lima(2026, 12, 2, 10), "rescheduled"),
        (AppointmentStatus.BOOKED, lima(2026, 12, 3, 15), None),
    ]


async def test_no_appointments_says_so_and_offers_the_menu_instead_of_asking_again(
    engine: Engine,
) -> None:
    person = Person(engine)
    reply = await dialog(
        person,
        [
            *CONSENT,
            ("quiero ver mis citas", "¿Cuál tiene?"),
            ("1", "número"),
            ("40 999 999", ["No tiene citas próximas", "¿En qué le puedo ayudar?"]),
        ],
    )
    assert "número de su DNI" not in reply.text and "No hay opciones" not in reply.text
    # the menu is live: a booking follows, and the DNI typed a moment ago is not asked again
    await dialog(
        person,
        [
            ("pedir una cita", "¿Con qué tema"),
            ("consultas laborales", "¿En qué región"),
            ("arequipa", "¿Qué día"),
            ("el miercoles a las 10", "nombre completo"),
        ],
    )


async def test_a_dni_typed_where_its_type_is_asked_is_not_asked_again(engine: Engine) -> None:
    """«mis citas», then the number at «¿Cuál tiene?»: was «Escriba el número de su DNI.»"""
    await dialog(
        Person(engine, channel="whatsapp", user="whatsapp:+14155550160"),
        [*CONSENT, ("mis citas", "¿Cuál tiene?"), ("45 678 912", "No tiene citas próximas")],
    )


async def test_a_cancelled_appointment_is_not_listed_and_the_list_is_then_empty(
    engine: Engine, db: Database
) -> None:
    person = Person(engine, channel="whatsapp", user="whatsapp:+51911222333")
    await dialog(
        person,
        [
            *BOOKED[:8],
            ("Lucia Quispe", "número de teléfono"),
            ("no", "caso"),
            *BOOKED[-2:],
            ("menu", "¿En qué le puedo ayudar?"),
            ("2", "Sus próximas citas"),
            ("1", "¿Qué desea hacer"),
            ("2", "¿Por qué"),
            ("ya no la necesito", "¿Confirma"),
            ("si", "fue cancelada"),
            ("ver mis citas", ["No tiene citas próximas", "¿En qué le puedo ayudar?"]),
            ("2", "No tiene citas próximas"),
        ],
    )
    assert [status for status, _, _ in await _appointments(db)] == [AppointmentStatus.CANCELLED]


@pytest.mark.parametrize(
    ("first", "greeting", "question"),
    [
        ("hello", "Hello! I am the virtual assistant", "Which language"),
        ("hi, i need a lawyer", "Hello! I am the virtual assistant", "Which language"),
        ("napaykullayki", "Allinmi hamusqayki", "Ima simipitaq"),
    ],
)
async def test_a_first_message_in_english_or_quechua_asks_the_language_on_whatsapp(
    engine: Engine, first: str, greeting: str, question: str
) -> None:
    # WhatsApp says nothing of the person's language: was the Spanish greeting and notice.
    person = Person(engine, channel="whatsapp", user="whatsapp:+14155550125")
    await dialog(person, [(first, [greeting, question, "English", "Runasimi"])])


async def test_a_spanish_first_message_on_whatsapp_goes_to_the_notice(engine: Engine) -> None:
    person = Person(engine, channel="whatsapp", user="whatsapp:+14155550126")
    reply = await dialog(person, [("buenos dias", ["¡Hola! Soy el asistente", "¿Acepta?"])])
    assert "English" not in reply.options


async def test_no_appointments_in_english_and_quechua(engine: Engine) -> None:
    english = Person(engine, lang_hint="en")
    await dialog(
        english,
        [
            ("hello", "Which language"),
            ("english", "Law 29733"),
            ("yes", "How can I help you?"),
            ("my appointment", "Which one do you have?"),
            ("dni", "number"),
            ("40999999", ["no upcoming appointments", "How can I help you?"]),
        ],
    )
    quechua = Person(engine, lang_hint="en")
    await dialog(
        quechua,
        [
            ("napaykullayki", "Which language"),
            ("3", "Ley 29733"),
            ("ari", "Imapitaq"),
            ("2", "Mayqintaq"),
            ("1", "yupayta"),
            ("40999998", ["hamuq citayki kanchu", "Imapitaq"]),
        ],
    )


async def test_events_register_waitlist_and_cancel(engine: Engine, db: Database) -> None:
    async with db.uow() as uow:
        event = await add_event(uow, "PE-ARE", seats=1)
        first = await add_citizen(uow)
        await events.register_for_event(uow, event.id, first.id, now=NOW)
        await uow.commit()
    person = Person(engine)
    await dialog(
        person,
        [
            *CONSENT,
            ("capacitaciones", "¿Qué desea hacer?"),
            ("1", "¿De qué región?"),
            ("Arequipa", "Derechos laborales básicos"),
            ("1", "¿Cuál tiene?"),
            ("dni", "número"),
            ("40123456", "nombre completo"),
            ("Lucía Quispe", ["lista de espera", "puesto 1"]),
        ],
    )
    async with db.uow() as uow:  # the first person leaves: Lucía moves up
        await events.cancel_registration(uow, event.id, first.id, now=NOW)
        await uow.commit()
    await dialog(
        person,
        [
            ("menú", "¿En qué le puedo ayudar?"),
            ("capacitaciones", "¿Qué desea hacer?"),
            ("cancelar una inscripción", "¿Cuál desea cancelar?"),
            ("1", "¿Confirma"),
            ("sí", "fue cancelada"),
        ],
    )
    async with db.uow() as uow:
        statuses = [
            r.status
            for r in await uow.session.scalars(
                select(EventRegistration).order_by(EventRegistration.position)
            )
        ]
    assert statuses == [RegistrationStatus.CANCELLED, RegistrationStatus.CANCELLED]


async def _cusco_event(db: Database) -> None:
    async with db.uow() as uow:
        await add_event(uow, "PE-CUS", seats=10)
        await uow.commit()


@pytest.mark.parametrize(
    "said",
    [
        "quiero inscribirme en una capacitacion en cusco",
        "kiero anotarme a un curso en el cuzco",  # Cusco's older spelling, heard too
        "quiero ver las capacitaciones de qosqo",
    ],
)
async def test_signing_up_in_a_region_at_the_menu_lists_its_events(
    engine: Engine, db: Database, said: str
) -> None:
    await _cusco_event(db)
    person = Person(engine, channel="whatsapp", user="whatsapp:+14155550124")
    # Was «¿Qué desea hacer?», then «¿De qué región?»: both said already.
    await dialog(
        person, [*CONSENT, (said, ["Próximas capacitaciones en Cusco", "Derechos laborales"])]
    )


async def test_a_first_message_about_a_course_goes_to_the_events_not_a_service(
    engine: Engine, db: Database
) -> None:
    await _cusco_event(db)
    await dialog(
        Person(engine),
        [
            ("quiero inscribirme a un curso", "¿Acepta?"),
            # Was «¿En qué región vive o trabaja?» and then «Registro de organizaciones
            # sindicales, Cusco»: «inscribirme» read as a union's registration.
            ("si", "¿De qué región?"),
            ("cusco", "Próximas capacitaciones en Cusco"),
        ],
    )


async def test_no_course_in_the_region_shows_the_menu_not_a_service_from_the_words(
    engine: Engine,
) -> None:
    await dialog(
        Person(engine),
        [
            ("quiero inscribirme a un curso", "¿Acepta?"),
            ("si", "¿De qué región?"),
            # Was the booking of «Registro de organizaciones sindicales» after the menu.
            ("arequipa", ["no hay capacitaciones programadas en Arequipa", "¿En qué le puedo"]),
        ],
    )


async def test_a_region_said_with_the_events_answers_their_region_question(
    engine: Engine, db: Database
) -> None:
    await _cusco_event(db)
    await dialog(
        Person(engine),
        [
            *CONSENT,
            ("capacitaciones en cusco", "¿Qué desea hacer?"),
            ("1", "Próximas capacitaciones en Cusco"),
        ],
    )


async def test_cancelling_a_registration_at_the_menu_asks_for_the_document(
    engine: Engine,
) -> None:
    await dialog(
        Person(engine),
        [
            *CONSENT,
            ("quiero cancelar mi inscripcion al curso", "necesito su documento"),
        ],
    )


async def test_no_events_in_the_region_says_so_and_shows_the_menu(engine: Engine) -> None:
    person = Person(engine, channel="whatsapp", user="whatsapp:+14155550123")
    reply = await dialog(
        person,
        [
            *CONSENT,
            ("hay algun curso?", "¿Qué desea hacer?"),
            ("1", "¿De qué región?"),
            ("cuzco", ["no hay capacitaciones programadas en Cusco", "¿En qué le puedo ayudar?"]),
        ],
    )
    assert "No hay opciones" not in reply.text and "¿De qué región?" not in reply.text
    await dialog(person, [("2", "¿Cuál tiene?")])  # the menu's numbers work at once


async def test_no_registrations_says_so_and_a_booking_then_skips_the_document(
    engine: Engine, db: Database
) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            *CONSENT,
            ("capacitaciones", "¿Qué desea hacer?"),
            ("cancelar mi inscripcion", "¿Cuál tiene?"),
            ("DNI", "número"),
            ("40.555.666", ["No tiene inscripciones", "¿En qué le puedo ayudar?"]),
            ("1", "¿Con qué tema"),
            ("consultas laborales", "¿En qué región"),
            ("arequipa", "¿Qué día"),
            ("el miercoles a las 10", "nombre completo"),
            ("Rosa Huamán", "caso"),
            ("Despido", "¿Confirmo"),
            ("si", "confirmada"),
        ],
    )
    async with db.uow() as uow:
        people = (await uow.session.execute(select(Citizen.document_number, Citizen.name))).all()
    assert [tuple(p) for p in people] == [("40555666", "Rosa Huamán")]


async def test_orientation_then_booking_keeps_the_service(engine: Engine) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            *CONSENT,
            ("orientación", "¿Sobre qué tema"),
            ("consultas", ["Consultas laborales:", "¿Desea pedir una cita"]),
            ("sí", "¿En qué región"),
            ("arequipa", ["Consultas laborales, Arequipa", "¿Qué día"]),
        ],
    )


async def test_talk_to_a_person_records_a_request(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            *CONSENT,
            ("quiero hablar con un abogado", "¿De qué región"),
            ("cusco", "¿en qué necesita ayuda?"),
            ("Mi empleador no me paga hace dos meses", ["Registré su pedido", "Cusco"]),
        ],
    )
    async with db.uow() as uow:
        request = await uow.session.scalar(select(HandoffRequest))
        assert request is not None and request.status == "open"
        assert request.note == "Mi empleador no me paga hace dos meses"


async def test_language_from_the_phone_and_quechua_menu(engine: Engine) -> None:
    person = Person(engine, lang_hint="en")
    await dialog(
        person,
        [
            ("hello", ["virtual assistant", "Which language"]),
            ("3", "Ley 29733"),
            ("arí", "Imapitaq yanapayta"),
            ("idioma", "Simita akllay"),
            ("english", "I will speak English"),
        ],
    )


async def test_a_quechua_speaker_books_for_paqarin(engine: Engine) -> None:
    """«paqarin» (tomorrow) was «No logré entender la fecha»."""
    person = Person(engine, lang_hint="en")
    await dialog(
        person,
        [
            ("napaykullayki", "Which language"),
            ("runasimi", "Ley 29733"),
            ("ari", "Imapitaq"),
            ("1", "Imamantataq"),
            ("1", "suyu"),
            ("arequipa", "Consultas laborales, Arequipa"),
            ("paqarin", ["Ura akllanakuna", "2 Diciembre"]),
        ],
    )


async def test_delete_my_data(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(person, BOOKED)
    await dialog(
        person,
        [
            ("borrar mis datos", "¿Está seguro?"),
            ("sí", "fueron borrados"),
            ("hola", "¿Acepta?"),  # a new start: consent is asked again
        ],
    )
    async with db.uow() as uow:
        citizen = await uow.session.scalar(select(Citizen))
        assert citizen is not None and citizen.erased_at is not None
        assert (citizen.name, citizen.document_number) == (None, None)
        assert await uow.session.scalar(select(ChannelIdentity)) is None
    assert await _appointments(db) == [
        (AppointmentStatus.CANCELLED, lima(2026, 12, 2, 10), "data_erased")
    ]


async def test_declining_consent_stores_nothing(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(person, [("hola", "¿Acepta?"), ("no", "Sin su autorización")])
    reply = await person.says("1")
    assert "¿Acepta?" in reply.text
    async with db.uow() as uow:
        assert await uow.session.scalar(select(Citizen)) is None


async def test_deep_link_preselects_the_region(engine: Engine) -> None:
    person = Person(engine)
    await person.says("/start PE-ARE", start_param="PE-ARE")
    await dialog(
        person,
        [
            ("sí", "¿En qué le puedo ayudar?"),
            ("1", "¿Con qué tema"),
            ("consultas", ["Consultas laborales, Arequipa", "¿Qué día"]),
        ],
    )


async def test_someone_elses_dni_does_not_open_their_appointments(
    engine: Engine, db: Database
) -> None:
    owner = Person(engine)
    await dialog(owner, BOOKED)
    stranger = Person(engine)
    await dialog(
        stranger,
        [
            *CONSENT,
            ("mis citas", "¿Cuál tiene?"),
            ("dni", "número"),
            ("40123456", "Por seguridad"),
        ],
    )
    assert "miércoles 2 de diciembre" not in (stranger.last.text if stranger.last else "")
    assert [status for status, _, _ in await _appointments(db)] == [AppointmentStatus.BOOKED]


async def test_voice_notes_and_photos_get_a_kind_answer(engine: Engine) -> None:
    from bot.messages import Inbound, Location

    person = Person(engine)
    await dialog(person, [*CONSENT, ("1", "¿Con qué tema")])
    voice = Inbound(person.channel, person.user, "voice-1", media_kind="voice")
    reply = await engine.handle(voice)
    assert "no escucho audios" in reply[0].text and "¿Con qué tema" in reply[1].text
    shared = Inbound(person.channel, person.user, "loc-1", location=Location(-13.53, -71.97))
    reply = await engine.handle(shared)
    assert "Cusco" in reply[0].text and "¿Con qué tema" in reply[1].text
    # the region is now known: the region question is skipped (Cusco has nobody free here)
    await dialog(person, [("consultas", ["Consultas laborales, Cusco", "no quedan horarios"])])


async def test_mas_shows_the_next_page_of_a_long_list_and_numbers_keep_their_meaning(
    engine: Engine,
) -> None:
    person = Person(engine)
    await dialog(person, [*CONSENT, ("pedir una cita", "¿Con qué tema")])
    asked = await person.says("consultas laborales")
    question = next(m for m in asked.messages if len(m.options) > 10)
    assert question.meta["more_hint"] == "Escriba «más» para ver más opciones"
    assert "page_from" not in question.meta
    pages = []
    for _ in range(len(question.options) // 10 + 1):
        again = await person.says("más")
        shown = next(m for m in again.messages if len(m.options) > 10)
        assert shown.options == question.options
        pages.append(shown.meta["page_from"])
    assert pages == [*range(10, len(question.options), 10), 0]  # then the first page again
    await person.says("más")  # page 2: options 11-20
    twelfth = question.options[11]
    picked = await person.says("12")
    assert f"Consultas laborales, {twelfth.label}." in picked.text


async def test_mas_is_an_ordinary_answer_where_there_is_no_long_list(engine: Engine) -> None:
    person = Person(engine)
    await person.says("hola")
    reply = await person.says("más")  # at the yes/no consent question
    assert "page_from" not in "".join(str(m.meta) for m in reply.messages)
    assert "¿Acepta?" in reply.text or "sí" in reply.text.lower()
