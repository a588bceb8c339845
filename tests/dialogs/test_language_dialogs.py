"""A wish for another language, in any of the three, is understood at any step."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.conversation.engine import Engine
from core.db import Database
from core.models import Conversation
from tests.dialogs.support import Clock, Person, dialog, make_engine
from tests.factories import NOW


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    engine = make_engine(db, Clock(NOW))
    await engine.start()
    yield engine


async def _language(db: Database, person: Person) -> str:
    async with db.uow() as uow:
        conversation = await uow.session.scalar(
            select(Conversation).where(Conversation.user_ref == person.user)
        )
        assert conversation is not None
        return conversation.language


async def test_english_at_the_consent_question_switches_and_asks_again(
    engine: Engine, db: Database
) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            ("hola", "¿Acepta?"),
            # Was «Responda «sí» o «no».»: an English writer on a Spanish phone.
            ("english", ["Done. Language: English.", "Do you agree?"]),
            ("yes", "How can I help you?"),
        ],
    )
    assert await _language(db, person) == "en"


async def test_a_first_message_in_quechua_asking_for_quechua(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(person, [("runasimipi rimayta munani", ["Simi: Runasimi", "Arí nikunkichu?"])])
    assert await _language(db, person) == "qu"


async def test_mid_booking_the_same_question_comes_in_the_new_language(engine: Engine) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            ("hola", "¿Acepta?"),
            ("si", "¿En qué le puedo ayudar?"),
            ("quiero una cita", "¿Con qué tema necesita ayuda?"),
            ("consultas laborales", "¿En qué región"),
            ("en quechua por favor", ["Simi: Runasimi", "Mayqin suyupitaq"]),
            ("spanish please", ["Idioma: Español", "¿En qué región"]),
            ("arequipa", "Consultas laborales, Arequipa"),
        ],
    )


async def test_at_the_language_question_the_name_is_the_answer(
    engine: Engine, db: Database
) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            ("hola", "¿Acepta?"),
            ("si", "¿En qué le puedo ayudar?"),
            ("idioma", "¿En qué idioma"),
            ("english", "Done, I will speak English with you."),
        ],
    )
    assert await _language(db, person) == "en"
