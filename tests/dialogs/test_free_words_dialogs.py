"""Free words at the menu and at the service question: understood, or the best few offered,
never a wrong service chosen without a word."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.conversation.engine import Engine
from core.db import Database
from core.models import Appointment
from tests.dialogs.support import Person, dialog, staffed_engine

CONSENT = [("hola", "¿Acepta?"), ("si", "¿En qué le puedo ayudar?")]


@pytest.fixture
async def engine(db: Database) -> Engine:
    return await staffed_engine(db, ("PE-ARE", ("consultas-laborales",)))


@pytest.mark.parametrize(
    ("said", "service"),
    [
        ("liquidacion", "Liquidación de beneficios sociales"),
        ("quiero demandar a mi empresa necesito un abogado gratis", "Patrocinio judicial"),
        ("conciliacion", "Conciliación administrativa laboral"),
    ],
)
async def test_free_words_at_the_menu_go_to_their_service(
    engine: Engine, said: str, service: str
) -> None:
    # Were «Disculpe, no le entendí. Responda con el número de una opción.»
    await dialog(Person(engine), [*CONSENT, (said, "¿En qué región"), ("arequipa", f"{service}")])


async def test_the_certificado_is_not_taken_for_conciliation(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            *CONSENT,
            ("quiero una cita", "¿Con qué tema"),
            # Was «Conciliación administrativa laboral», chosen without a word.
            ("el certificado unico laboral", "¿En qué región"),
            ("arequipa", "Certificado Único Laboral (CUL), Arequipa"),
        ],
    )


async def test_a_long_story_offers_the_likely_services_not_the_job_board(engine: Engine) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            *CONSENT,
            ("quiero una cita", "¿Con qué tema"),
            (
                "trabaje 5 años en una empresa, me despidieron sin pagarme la cts ni mis "
                "vacaciones y quiero demandarlos",
                "¿A cuál de estos",
            ),
        ],
    )
    assert person.last is not None
    assert person.last.options[-1] == "Otro tema"
    assert 2 <= len(person.last.options[:-1]) <= 3
    assert not any("Bolsa de trabajo" in o for o in person.last.options)


@pytest.mark.parametrize(
    ("said", "answer"),
    [("hola", "¡Hola! Con gusto le ayudo."), ("gracias", "¡De nada!")],
)
async def test_a_greeting_or_thanks_at_the_menu_is_answered_kindly(
    engine: Engine, said: str, answer: str
) -> None:
    person = Person(engine)
    await dialog(person, [*CONSENT, (said, [answer, "¿En qué le puedo ayudar?"])])
    assert person.last is not None and "no le entendí" not in person.last.text


@pytest.mark.parametrize(
    ("said", "goes_to"),
    [
        ("quiero ver mis citas", "¿Cuál tiene?"),  # my appointments: identify first
        ("hay algun curso o taller?", "Capacitaciones"),
    ],
)
async def test_intents_in_free_words_open_their_option(
    engine: Engine, said: str, goes_to: str
) -> None:
    await dialog(Person(engine), [*CONSENT, (said, goes_to)])


async def test_no_right_after_a_guessed_service_asks_the_service_again(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            *CONSENT,
            ("quiero una cita", "¿Con qué tema"),
            ("liquidacion", ["¿En qué región"]),
            # «no» or «otro» corrects a wrong guess, as the next message named it.
            ("no, otro", ["lo entendí mal", "¿Con qué tema"]),
            ("consultas laborales", "¿En qué región"),
            ("no", "¿En qué región"),  # a chosen-from-the-list service is no guess to undo
        ],
    )


async def test_otro_tema_shows_every_bookable_service(engine: Engine) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            *CONSENT,
            ("quiero una cita", "¿Con qué tema"),
            ("me despidieron", ["¿A cuál de estos", "Otro tema"]),
            ("otro tema", "todos los temas con cita"),
        ],
    )
    assert person.last is not None and len(person.last.options) >= 15
    await dialog(person, [("bolsa de trabajo", "¿En qué región")])


async def test_a_document_number_where_its_type_is_asked_is_taken_by_its_shape(
    engine: Engine, db: Database
) -> None:
    story = "Trabajé seis años en una fábrica de Arequipa sin contrato. " * 12
    await dialog(
        Person(engine),
        [
            *CONSENT,
            ("quiero una cita", "¿Con qué tema"),
            ("consultas laborales", "¿En qué región"),
            ("arequipa", "¿Qué día"),
            ("el miercoles a las 10", "documento"),
            # Was «no le entendí»: 8 digits are a DNI, and the number is kept.
            ("45678912", "nombre completo"),
            ("Lucia Quispe", "cuéntenos su caso"),
            # A long story is kept whole, not refused (was «hasta 500 caracteres»).
            (story, ["*****912", "¿Confirmo la cita?"]),
            ("si", "confirmada"),
        ],
    )
    async with db.uow() as uow:
        saved = await uow.session.scalar(select(Appointment.case_description))
    assert saved == story.strip() and len(saved) > 500


async def test_on_telegram_the_hint_speaks_of_buttons_not_numbers(engine: Engine) -> None:
    person = Person(engine, channel="telegram")
    await dialog(
        person,
        [
            *CONSENT,
            # Was «Responda con el número de una opción.» where no numbers are shown.
            ("qwzx jjj", ["no le entendí", "Toque una de las opciones"]),
        ],
    )
    assert person.last is not None and "número" not in person.last.text


async def test_dni_and_number_at_the_document_type_question(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            *CONSENT,
            ("quiero una cita", "¿Con qué tema"),
            ("consultas laborales", "¿En qué región"),
            ("arequipa", "¿Qué día"),
            ("el miercoles a las 10", "documento"),
            ("dni 45678912", "nombre completo"),
        ],
    )


@pytest.mark.parametrize(
    "said", ["9 y media", "a las 3 de la tarde", "10 y cuarto", "pasado mañana"]
)
async def test_a_time_at_the_service_question_is_no_service(engine: Engine, said: str) -> None:
    """Was «Reuniones extraproceso…» for «9 y media» («media» read as «mediación»), taken
    without a word: a day or a time only asks for the topic first."""
    person = Person(engine, channel="whatsapp", user="whatsapp:+14155550190")
    reply = await dialog(
        person,
        [*CONSENT, ("quiero una cita", "¿Con qué tema"), (said, "Primero necesito saber el tema")],
    )
    assert "¿Con qué tema" in reply.text and "¿En qué región" not in reply.text


@pytest.mark.parametrize(
    "said", ["ayer me botaron", "el lunes mi jefe me grito feo", "desde enero no me pagan"]
)
async def test_a_need_told_with_a_day_is_still_a_need(engine: Engine, said: str) -> None:
    reply = await dialog(Person(engine), [*CONSENT, ("cita", "¿Con qué tema"), (said, "")])
    assert "Primero necesito saber el tema" not in reply.text
    assert "¿A cuál de estos" in reply.text or "¿En qué región" in reply.text


async def test_the_day_said_before_the_topic_is_used_once_the_topic_is_known(
    engine: Engine,
) -> None:
    await dialog(
        Person(engine),
        [
            *CONSENT,
            ("cita", "¿Con qué tema"),
            ("pasado manana", "Primero necesito saber el tema"),
            ("consultas", "¿En qué región"),
            ("arequipa", "Horarios libres para el jueves 3 de diciembre"),
        ],
    )


async def test_a_service_named_outright_with_a_day_is_still_heard(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            *CONSENT,
            ("cita", "¿Con qué tema"),
            ("consultas laborales para el jueves", "¿En qué región"),
            ("arequipa", ["Consultas laborales, Arequipa", "jueves 3 de diciembre"]),
        ],
    )


async def test_a_service_with_no_times_asks_the_service_again_not_the_region(
    engine: Engine,
) -> None:
    """The service came from free words, so the region was the only question asked: «no
    quedan horarios» asked the region again, and every answer looped on the same refusal."""
    person = Person(engine, channel="whatsapp", user="whatsapp:+14155550150")
    await dialog(
        person,
        [
            *CONSENT,
            ("quiero que me calculen mi liquidacion", "¿En qué región"),
            ("cusco", ["no quedan horarios libres para este servicio en Cusco", "«especialista»"]),
            ("mejor en arequipa", "¿Con qué tema"),  # another region: no jump past the service
            ("consultas laborales", ["Consultas laborales, Arequipa", "¿Qué día"]),
        ],
    )


async def test_a_region_at_the_service_question_offers_no_near_spelled_service(
    engine: Engine,
) -> None:
    """«mejor en arequipa» offered «Información del mercado de trabajo» for «mejor»."""
    reply = await dialog(
        Person(engine),
        [*CONSENT, ("cita", "¿Con qué tema"), ("mejor en arequipa", "¿Con qué tema")],
    )
    assert "¿A cuál de estos" not in reply.text


@pytest.mark.parametrize(
    ("said", "heard"),
    [
        ("en arequipa me botaron", "¿A cuál de estos se refiere?"),  # a need, and a region
        ("vivo en arequipa y mi jefe me grita", "Consultas laborales, Arequipa"),
    ],
)
async def test_a_region_with_a_need_at_the_service_question_is_still_a_need(
    engine: Engine, said: str, heard: str
) -> None:
    await dialog(Person(engine), [*CONSENT, ("cita", "¿Con qué tema"), (said, heard)])


async def test_no_times_in_english_asks_the_service_again(engine: Engine) -> None:
    person = Person(engine, lang_hint="en")
    await dialog(
        person,
        [
            ("hi", "Which language"),
            ("english", "Law 29733"),
            ("yes", "How can I help you?"),
            ("I need my severance pay calculated", "Which region"),
            ("arequipa", ["no free times", "What do you need help with?"]),
            ("1", "Which day"),
        ],
    )


@pytest.mark.parametrize("said", ["hoy me botaron del trabajo", "me sacaron del trabajo"])
async def test_fired_from_work_is_legal_advice_not_the_job_board(engine: Engine, said: str) -> None:
    """Were «Bolsa de trabajo / Registro del contrato de trabajo del hogar / Información del
    mercado de trabajo» (the word «trabajo» in their names), and the migrants' service."""
    reply = await dialog(
        Person(engine, channel="whatsapp", user="whatsapp:+14155550171"),
        [
            *CONSENT,
            ("quiero una cita", "¿Con qué tema"),
            (said, "¿En qué región"),
            ("arequipa", "Consultas laborales, Arequipa"),
        ],
    )
    assert "Bolsa de trabajo" not in reply.text


async def test_a_word_many_services_share_comes_after_what_the_model_reads(
    engine: Engine,
) -> None:
    reply = await dialog(
        Person(engine),
        [*CONSENT, ("cita", "¿Con qué tema"), ("problemas en mi trabajo", "¿A cuál de estos")],
    )
    assert reply.options[0] == "Consultas laborales"
    assert "Registro del contrato de trabajo del hogar" not in reply.options


@pytest.mark.parametrize("first", [False, True])
async def test_an_unsure_need_at_the_menu_offers_its_services(engine: Engine, first: bool) -> None:
    """«me botaron» at the menu (or as the first message) was «no le entendí»: the model reads
    a few services there, and the booking asks which one."""
    person = Person(engine, channel="whatsapp", user=f"whatsapp:+1415555018{int(first)}")
    opening = [("me botaron", "¿Acepta?"), ("si", "¿A cuál de estos")]
    if not first:
        opening = [*CONSENT, ("me botaron", "¿A cuál de estos")]
    reply = await dialog(person, opening)
    assert "no le entendí" not in reply.text
    assert {"Consultas laborales", "Patrocinio judicial gratuito"} <= set(reply.options)
    await dialog(
        person,
        [("consultas", "¿En qué región"), ("arequipa", "Consultas laborales, Arequipa")],
    )


@pytest.mark.parametrize("said", ["asdf qwer", "mis citas"])
async def test_words_that_name_no_service_at_the_menu_do_not_start_a_booking(
    engine: Engine, said: str
) -> None:
    reply = await dialog(Person(engine), [*CONSENT, (said, "")])
    assert "¿A cuál de estos" not in reply.text and "¿Con qué tema" not in reply.text
