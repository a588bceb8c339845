"""Days and times read as a person means them: past days called past, times outside hours
explained with the hours and the nearest free times."""

from __future__ import annotations

import pytest

from bot.conversation.engine import Engine
from core.db import Database
from tests.dialogs.support import Person, dialog, staffed_engine

# NOW is Tuesday 1 December 2026, 9:00 in Lima.
TO_DAY = [
    ("hola", "¿Acepta?"),
    ("si", "¿En qué le puedo ayudar?"),
    ("quiero una cita", "¿Con qué tema necesita ayuda?"),
    ("consultas laborales", "¿En qué región"),
    ("arequipa", "¿Qué día"),
]


@pytest.fixture
async def engine(db: Database) -> Engine:
    return await staffed_engine(db, ("PE-ARE", ("consultas-laborales",)))


async def test_a_day_just_gone_is_called_past_not_too_far(engine: Engine) -> None:
    # Was «Esa fecha está muy lejos»: read as next year's 28 November.
    await dialog(Person(engine), [*TO_DAY, ("el 28 de noviembre a las 9", "Esa fecha ya pasó")])


async def test_a_day_later_this_month_is_still_that_day(engine: Engine) -> None:
    await dialog(Person(engine), [*TO_DAY, ("el 3 de diciembre", "jueves 3 de diciembre")])


async def test_a_time_outside_office_hours_is_explained(engine: Engine) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            *TO_DAY,
            (
                "el miercoles a las 8 de la noche",
                ["no atendemos (horario: de lunes a viernes, de 8:30", "más cercanos"],
            ),
        ],
    )
    assert person.last is not None and person.last.options[-1].startswith("4:30")


async def test_a_time_within_hours_but_taken_says_so(engine: Engine) -> None:
    # 1 p.m. is the specialist's lunch: within the office's hours, but no free time.
    await dialog(
        Person(engine),
        [*TO_DAY, ("el miercoles a la 1", ["ya no hay cupo", "más cercanos"])],
    )


BOOKED_WEDNESDAY_10 = [
    *TO_DAY,
    ("el miércoles a las 10", "¿Cuál tiene?"),
    ("dni", "DNI"),
    ("40123456", "nombre completo"),
    ("Lucía Quispe", "caso"),
    ("Despido", "¿Confirmo"),
    ("sí", "confirmada"),
    ("mis citas", ["Sus próximas citas", "miércoles 2 de diciembre"]),
    ("1", "¿Qué desea hacer"),
    ("cambiar la fecha", "¿Para qué día"),
]


async def test_the_same_day_is_the_day_of_the_appointment_being_changed(engine: Engine) -> None:
    # Was today (Tuesday 1 December): «el mismo día» means the appointment's Wednesday.
    await dialog(
        Person(engine),
        [
            *BOOKED_WEDNESDAY_10,
            ("el mismo dia a las 3", "¿Cambio su cita al miércoles 2 de diciembre, 3:00"),
        ],
    )


async def test_a_day_later_counts_from_the_appointment(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [
            *BOOKED_WEDNESDAY_10,
            ("un dia despues a las 11", "¿Cambio su cita al jueves 3 de diciembre, 11:00"),
        ],
    )


@pytest.mark.parametrize(
    ("said", "moved_to"),
    [
        ("el viernes a las 11", "¿Cambio su cita al viernes 4 de diciembre, 11:00"),
        ("mañana a las 3 de la tarde", "¿Cambio su cita al miércoles 2 de diciembre, 3:00"),
        ("manana a las 3 d la tarde", "¿Cambio su cita al miércoles 2 de diciembre, 3:00"),
        ("el mismo dia a las 4", "¿Cambio su cita al miércoles 2 de diciembre, 4:00"),
    ],
)
async def test_a_day_at_what_to_do_with_the_appointment_moves_it(
    engine: Engine, said: str, moved_to: str
) -> None:
    # Was «Disculpe, no le entendí. Responda con el número de una opción.»
    await dialog(Person(engine), [*BOOKED_WEDNESDAY_10[:-1], (said, moved_to)])


async def test_words_at_what_to_do_that_are_no_day_are_not_understood(engine: Engine) -> None:
    await dialog(
        Person(engine),
        [*BOOKED_WEDNESDAY_10[:-1], ("me despidieron", ["no le entendí", "¿Qué desea hacer"])],
    )


async def test_a_day_with_the_wish_to_change_at_the_menu_answers_the_day_question(
    engine: Engine,
) -> None:
    await dialog(
        Person(engine),
        [
            *BOOKED_WEDNESDAY_10[:11],
            ("quiero cambiar mi cita para el viernes", "Sus próximas citas"),
            ("1", "¿Qué desea hacer"),
            ("cambiar", ["viernes 4 de diciembre", "¿Cuál prefiere?"]),
        ],
    )
