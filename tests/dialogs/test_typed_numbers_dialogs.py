"""Numbers typed at a list of times: a position, else the hour it names."""

from __future__ import annotations

import pytest

from bot.conversation.engine import Engine
from core.db import Database
from tests.dialogs.support import Person, dialog, staffed_engine

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
    return await staffed_engine(db, ("PE-ARE", ("consultas-laborales",)))


async def test_a_number_past_the_list_is_the_hour(engine: Engine) -> None:
    person = Person(engine)
    await dialog(person, TO_TIMES)
    assert person.last is not None
    assert person.last.options[0].startswith("8:30")
    assert len(person.last.options) <= 8  # so «11» can be no position
    # Was «no le entendí»: 11 matched the labels 11:00 and 11:30 alike.
    await dialog(person, [("11", "documento")])


async def test_a_number_within_the_list_is_its_position(engine: Engine) -> None:
    person = Person(engine)
    await dialog(person, TO_TIMES)
    assert person.last is not None
    second = person.last.options[1]
    await dialog(person, [("2", "documento")])
    await dialog(person, [("dni", "DNI"), ("40123456", "nombre"), ("Lucia Quispe", "caso")])
    await dialog(person, [("me despidieron", second)])


@pytest.mark.parametrize("said", ["el primero", "la primera", "el 1"])
async def test_an_ordinal_at_a_list_is_no_day(engine: Engine, said: str) -> None:
    await dialog(
        Person(engine, channel="whatsapp", user="whatsapp:+51999000111"),
        [
            *TO_TIMES[:3],
            ("mañana temprano", "Primero necesito saber el tema"),
            # Was Tuesday the 1st's times: «el primero» picked the service and was also
            # heard as the first of the month, over «mañana».
            (said, "¿En qué región"),
            ("arequipa", ["Consultas laborales, Arequipa", "miércoles 2 de diciembre", "¿Cuál"]),
        ],
    )
