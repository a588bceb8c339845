"""Changes of mind at a list: another day, another part of the day, another region; and
«cancelar» asks before it drops anything."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.conversation.engine import Engine
from core.db import Database
from core.models import Appointment
from tests.dialogs.support import Person, dialog, staffed_engine
from tests.factories import add_specialist

TO_TIMES = [
    ("hola", "¿Acepta?"),
    ("si", "¿En qué le puedo ayudar?"),
    ("quiero una cita", "¿Con qué tema necesita ayuda?"),
    ("consultas laborales", "¿En qué región"),
    ("arequipa", "¿Qué día"),
    ("el miercoles", ["miércoles 2 de diciembre", "¿Cuál prefiere?"]),
]


@pytest.fixture
async def engine(db: Database) -> Engine:
    return await staffed_engine(
        db, ("PE-ARE", ("consultas-laborales",)), ("PE-CUS", ("consultas-laborales",))
    )


async def test_another_day_goes_back_to_the_day_question(engine: Engine) -> None:
    # Was «no le entendí».
    await dialog(Person(engine), [*TO_TIMES, ("no, mejor otro dia", ["otro día", "¿Qué día"])])


@pytest.mark.parametrize("said", ["ninguno me sirve", "Ninguna", "no me conviene ninguno"])
async def test_none_of_the_times_goes_back_to_the_day_question(engine: Engine, said: str) -> None:
    # Was «Disculpe, no le entendí. Responda con el número de una opción.»
    await dialog(Person(engine), [*TO_TIMES, (said, ["otro día", "¿Qué día"])])


async def test_the_afternoon_offers_the_afternoons_times(engine: Engine) -> None:
    person = Person(engine)
    await dialog(person, [*TO_TIMES, ("en la tarde mejor", "¿Cuál prefiere?")])
    assert person.last is not None
    assert person.last.options
    assert all("p.\u202fm." in o for o in person.last.options)


async def test_another_day_named_at_the_list_offers_that_days_times(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [*TO_TIMES, ("no, mejor el jueves", ["jueves 3 de diciembre", "¿Cuál prefiere?"])],
    )


async def test_a_past_day_at_the_list_is_explained(engine: Engine) -> None:
    await dialog(Person(engine), [*TO_TIMES, ("mejor ayer", "ya pasó")])


async def test_another_region_named_later_changes_the_region(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            *TO_TIMES,
            # Was «no le entendí»: the region is asked again with the new words.
            ("no, en cusco", ["Consultas laborales, Cusco", "¿Qué día"]),
            ("el miercoles a las 10", "documento"),
        ],
    )


async def test_another_service_named_later_changes_the_service(engine: Engine) -> None:
    async with engine.db.uow() as uow:
        await add_specialist(uow, "PE-ARE", ("conciliacion-administrativa",))
        await uow.commit()
    await dialog(
        Person(engine),
        [
            *TO_TIMES[:5],
            ("perdon, era para conciliacion", ["Conciliación administrativa laboral, Arequipa"]),
        ],
    )


@pytest.mark.parametrize(
    "first", ["quiero una cita en arequipa", "hola, necesito una cita por favor"]
)
async def test_a_region_said_at_the_service_question_is_noted(engine: Engine, first: str) -> None:
    await dialog(
        Person(engine),
        [
            (first, "¿Acepta?"),
            ("si", "¿Con qué tema"),
            # Was «Disculpe, no le entendí», and the region changed without a word.
            ("no, mejor en cusco", ["Anotado: Cusco.", "¿Con qué tema"]),
            ("noo mejor en el cuzco porfa", ["Anotado: Cusco.", "¿Con qué tema"]),
            ("consultas", ["Consultas laborales, Cusco", "¿Qué día"]),
        ],
    )


async def test_another_region_after_no_times_is_said_back(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            *TO_TIMES[:3],
            ("liquidacion", "¿En qué región"),
            ("cusco", "no quedan horarios libres para este servicio en Cusco"),
            # Was the service question alone: the region changed without a word.
            ("arequipa", ["Anotado: Arequipa.", "¿Con qué tema"]),
            ("consultas", ["Consultas laborales, Arequipa", "¿Qué día"]),
        ],
    )


TO_CASE = [
    *TO_TIMES,
    ("1", "documento"),
    ("40123456", "nombre completo"),
    ("Lucía Quispe", "cuéntenos su caso"),
]


async def test_another_day_at_the_case_question_is_no_case(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            *TO_CASE,
            # Was the case «mejor el viernes» and the summary with Wednesday's time.
            ("mejor el viernes", ["viernes 4 de diciembre", "¿Cuál prefiere?"]),
            ("1", "cuéntenos su caso"),  # the document and the name are kept
            ("me despidieron", ["viernes 4 de diciembre, 8:30", "¿Confirmo la cita?"]),
        ],
    )


@pytest.mark.parametrize("said", ["mejor a las 11", "mejor a las 11 porfa", "no, a las 11am"])
async def test_another_time_at_the_case_question_is_no_case(engine: Engine, said: str) -> None:
    await dialog(
        Person(engine),
        [
            *TO_CASE,
            # Was the case «mejor a las 11», the appointment still at 8:30.
            (
                said,
                ["cambié la hora: miércoles 2 de diciembre, 11:00", "cuéntenos su caso"],
            ),
            ("me despidieron", ["miércoles 2 de diciembre, 11:00", "¿Confirmo la cita?"]),
        ],
    )


@pytest.mark.parametrize(
    ("said", "then"),
    [
        ("no, mejor otro dia", ["elijamos otro día", "¿Qué día"]),
        ("otra hora", ["miércoles 2 de diciembre", "¿Cuál prefiere?"]),
        ("en la tarde mejor", ["2:00", "¿Cuál prefiere?"]),
    ],
)
async def test_another_day_or_part_of_the_day_at_the_case_question_asks_again(
    engine: Engine, said: str, then: list[str]
) -> None:
    await dialog(Person(engine), [*TO_CASE, (said, then)])


@pytest.mark.parametrize(
    ("said", "now"),
    [
        ("no, en cusco", "Consultas laborales, Cusco"),
        ("mejor en Cusco por favor", "Consultas laborales, Cusco"),
        ("mejor conciliacion", "Conciliación administrativa laboral, Arequipa"),
        ("perdon quise decir conciliacion", "Conciliación administrativa laboral, Arequipa"),
    ],
)
async def test_another_region_or_service_at_the_case_question_changes_it(
    engine: Engine, said: str, now: str
) -> None:
    async with engine.db.uow() as uow:
        await add_specialist(uow, "PE-ARE", ("conciliacion-administrativa",))
        await uow.commit()
    await dialog(Person(engine), [*TO_CASE, (said, [now, "¿Qué día"])])


@pytest.mark.parametrize(
    "said", ["no me pagan en cusco desde enero", "mejor dicho me despidieron el viernes"]
)
async def test_a_case_that_names_a_region_or_a_day_is_the_case(engine: Engine, said: str) -> None:
    await dialog(
        Person(engine),
        [*TO_CASE, (said, ["Región: Arequipa", "miércoles 2 de diciembre", "¿Confirmo la cita?"])],
    )


async def test_cancelar_asks_before_dropping_the_booking(engine: Engine, db: Database) -> None:
    person = Person(engine)
    # Was: «cancelar» dropped the whole booking at once.
    await dialog(
        person,
        [
            *TO_TIMES,
            ("cancelar", ["¿Dejamos lo que estaba haciendo?", "Sí, dejarlo", "No, seguir"]),
            ("no", ["seguimos", "¿Cuál prefiere?"]),
            ("cancelar", "¿Dejamos lo que estaba haciendo?"),
            ("si", "lo dejamos ahí"),
            ("hola", "¿En qué le puedo ayudar?"),
        ],
    )
    async with db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Appointment)) == 0


async def test_cancelar_with_nothing_answered_yet_just_stops(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            ("hola", "¿Acepta?"),
            ("si", "¿En qué le puedo ayudar?"),
            ("quiero una cita", "¿Con qué tema"),
            ("cancelar", "lo dejamos ahí"),
        ],
    )


async def test_an_answer_instead_of_yes_or_no_goes_on_with_the_question(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            *TO_TIMES,
            ("cancelar", "¿Dejamos lo que estaba haciendo?"),
            ("a las 10", "documento"),  # an answer to the list of times, asked before
        ],
    )


async def test_changing_only_the_time_at_the_summary_keeps_the_day(engine: Engine) -> None:
    """Was Tuesday 1 at 11:00 (the next day with that time ahead), not the Wednesday chosen."""
    person = Person(engine, channel="whatsapp", user="whatsapp:+14155550142")
    await dialog(
        person,
        [
            *TO_TIMES,
            ("a las 10", "¿Cuál tiene?"),
            ("1", "número"),
            ("40123456", "nombre completo"),
            ("juan perez", "caso"),
            ("me botaron", ["miércoles 2 de diciembre, 10:00", "¿Confirmo la cita?"]),
            ("no", "¿Qué desea cambiar?"),
            ("cambiar la hora", "¿Qué día"),
            ("a las 11", ["miércoles 2 de diciembre, 11:00", "¿Confirmo la cita?"]),
        ],
    )
