"""The region step understands the places people name: their city, province or district."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.conversation.engine import Engine
from core.db import Database
from tests.dialogs.support import Clock, Person, dialog, make_engine, staffed_engine
from tests.factories import NOW

TO_REGION = [
    ("hola", "¿Acepta?"),
    ("si", "¿En qué le puedo ayudar?"),
    ("quiero una cita", "¿Con qué tema necesita ayuda?"),
    ("consultas laborales", "¿En qué región"),
]


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    engine = make_engine(db, Clock(NOW))
    await engine.start()
    yield engine


@pytest.mark.parametrize(
    ("said", "understood"),
    [
        ("huancayo", "Consultas laborales, Junín"),
        ("trujillo", "Consultas laborales, La Libertad"),
        ("soy de chiclayo", "Consultas laborales, Lambayeque"),
        ("lima lima, vivo en san juan de lurigancho", "Consultas laborales, Lima Metropolitana"),
        ("huancallo", "Consultas laborales, Junín"),
    ],
)
async def test_a_place_is_taken_for_its_region(engine: Engine, said: str, understood: str) -> None:
    await dialog(Person(engine), [*TO_REGION, (said, understood)])


async def test_two_regions_at_once_are_asked(engine: Engine) -> None:
    person = Person(engine)
    await dialog(person, [*TO_REGION, ("soy de cusco pero trabajo en huancayo", "Cusco")])
    assert person.last is not None
    assert sorted(person.last.options) == ["Cusco", "Junín"]
    await dialog(person, [("junin", "Consultas laborales, Junín")])


async def test_a_persons_name_is_no_place_when_it_comes_unasked(db: Database) -> None:
    """«maria flores» holds the district María (Amazonas): at the date question it was taken
    for a change of region and the booking jumped to Amazonas without a word."""
    person = Person(await staffed_engine(db, ("PE-ARE", ("consultas-laborales",))))
    await dialog(
        person,
        [
            ("hola, soy maria flores y me despidieron", "¿Acepta?"),
            ("si", "¿A cuál de estos se refiere?"),
            ("1", "¿En qué región"),  # not Amazonas: the name named no place
            ("arequipa", ["Consultas laborales, Arequipa", "¿Qué día"]),
        ],
    )
    reply = await dialog(person, [("maria flores", "No logré entender la fecha")])
    assert "Amazonas" not in reply.text


@pytest.mark.parametrize(
    ("said", "understood"),
    [
        ("hola, trabajo en san juan de lurigancho y me despidieron", "Lima Metropolitana"),
        ("me despidieron, soy de huancayo", "Junín"),
    ],
)
async def test_a_place_said_unasked_with_its_cue_still_counts(
    engine: Engine, said: str, understood: str
) -> None:
    await dialog(
        Person(engine),
        [(said, "¿Acepta?"), ("si", "¿A cuál de estos se refiere?"), ("1", understood)],
    )
