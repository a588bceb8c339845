"""The region step understands the places people name: their city, province or district."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.conversation.engine import Engine
from core.db import Database
from tests.dialogs.support import Clock, Person, dialog, make_engine
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
