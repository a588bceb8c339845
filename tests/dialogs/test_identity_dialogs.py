"""One person, one record: someone else's DNI, clear consent, names that are names, erasure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

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
    Conversation,
    EventRegistration,
    GroupEvent,
    HandoffRequest,
    OutboxMessage,
    RegistrationStatus,
    Specialist,
)
from tests.dialogs.support import Clock, Person, dialog, make_engine
from tests.factories import NOW, add_citizen, add_event, add_specialist, lima

DNI = "45678912"
CONSENT = [("hola", "¿Acepta?"), ("si", "¿En qué le puedo ayudar?")]


def booking(when: str, dni: str, name: str) -> list[tuple[str, str | Sequence[str]]]:
    """A booking of «Consultas laborales» in Arequipa, as a citizen types it."""
    return [
        ("quiero una cita", "¿Con qué tema"),
        ("consultas laborales", "¿En qué región"),
        ("arequipa", "¿Qué día"),
        (when, "¿Cuál tiene?"),
        ("dni", "DNI"),
        (dni, "nombre completo"),
        (name, "caso"),
        ("me despidieron sin pagarme", "¿Confirmo"),
        ("si", "confirmada"),
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


async def _rows_to(db: Database, person: Person) -> list[OutboxMessage]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.channel == person.channel, OutboxMessage.address == person.user)
            .order_by(OutboxMessage.id)
        )
        found = list(rows)
        uow.session.expunge_all()
        return found


@dataclass(frozen=True)
class Booked:
    """What a test needs of an appointment, read once."""

    id: int
    citizen_id: int
    specialist_id: int
    start_utc: datetime
    status: AppointmentStatus


async def _appointment_of(db: Database, name: str) -> Booked:
    async with db.uow() as uow:
        found = await uow.session.scalar(
            select(Appointment)
            .join(Citizen, Citizen.id == Appointment.citizen_id)
            .where(Citizen.name == name)
        )
        assert found is not None
        return Booked(
            found.id, found.citizen_id, found.specialist_id, found.start_utc, found.status
        )


async def test_someone_elses_dni_books_on_their_own_record(engine: Engine, db: Database) -> None:
    rosa, carlos = Person(engine), Person(engine)
    await dialog(rosa, [*CONSENT, *booking("el miercoles a las 10", DNI, "Rosa Huaman Quispe")])
    await dialog(carlos, [*CONSENT, *booking("el miercoles a las 11", DNI, "Carlos Perez")])
    theirs = await _appointment_of(db, "Rosa Huaman Quispe")
    his = await _appointment_of(db, "Carlos Perez")
    assert theirs.citizen_id != his.citizen_id and his.start_utc == lima(2026, 12, 2, 11)

    async with db.uow() as uow:
        owner = await uow.session.get(Citizen, theirs.citizen_id)
        claimer = await uow.session.get(Citizen, his.citizen_id)
        assert owner is not None and claimer is not None
        # the owner's record is untouched: name, document, consent
        assert (owner.name, owner.document_number, owner.consent_at) == (
            "Rosa Huaman Quispe",
            DNI,
            NOW,
        )
        # the writer's own record keeps the typed document apart, unverified
        assert (claimer.document_number, claimer.claimed_document_number) == (None, DNI)
        bound = await uow.session.scalars(
            select(ChannelIdentity.address).where(ChannelIdentity.citizen_id == owner.id)
        )
        assert list(bound) == [rosa.user]

    # Rosa's chat: nothing about Carlos's appointment, only the "your document was used" notice
    to_rosa = await _rows_to(db, rosa)
    assert not [r for r in to_rosa if r.subject == f"appointment:{his.id}"]
    used = [r for r in to_rosa if r.idempotency_key and "document_used" in r.idempotency_key]
    assert len(used) == 1
    text = used[0].payload["text"]
    assert "****8912" in text and "Carlos" not in text and "Consultas" not in text
    assert all("Carlos" not in r.payload.get("text", "") for r in to_rosa)
    # Carlos's chat gets his own link and reminders
    assert [r for r in await _rows_to(db, carlos) if r.subject == f"appointment:{his.id}"]

    # the specialist sees Carlos's document as unverified, Rosa's as it is
    async with db.uow() as uow:
        cards = {
            r.subject: r.payload["text"]
            for r in await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "card")
            )
        }
    assert "sin verificar" in cards[f"appointment:{his.id}"]
    assert "****8912" in cards[f"appointment:{his.id}"]
    assert "sin verificar" not in cards[f"appointment:{theirs.id}"]

    # «mis citas»: each sees only their own
    reply = await carlos.says("mis citas")
    assert "miércoles 2 de diciembre, 11:00" in reply.text + "\n".join(reply.options)
    assert "10:00" not in "\n".join(reply.options)
    assert str(theirs.id) not in reply.payloads
    reply = await rosa.says("mis citas")
    assert "10:00" in "\n".join(reply.options) and "11:00" not in "\n".join(reply.options)
    # choosing Carlos's appointment by its id (a forged button) cancels nothing
    await rosa.says(payload=str(his.id))
    await rosa.says("cancelarla")
    await rosa.says("ya no la necesito")
    await rosa.says("si")
    async with db.uow() as uow:
        again = await uow.session.get(Appointment, his.id)
        assert again is not None and again.status == AppointmentStatus.BOOKED


async def test_a_record_found_by_its_dni_books_on_itself_when_the_dni_is_typed_again(
    engine: Engine, db: Database
) -> None:
    """Registered at an office, no chat yet: the lookup binds this chat, and the booking that
    asks the document again (typed another way) stays on that one record."""
    async with db.uow() as uow:
        owner = await add_citizen(uow, name="Rosa Huamán")
        dni = str(owner.document_number)
        await uow.commit()
    person = Person(engine)
    await dialog(person, CONSENT)
    await dialog(person, [("mis citas", "documento"), ("dni", "DNI")])
    await person.says(f"{dni[:2]} {dni[2:5]} {dni[5:]}")  # spaces, as on the card
    await dialog(
        person,
        [
            ("menu", "¿En qué le puedo ayudar?"),
            ("quiero una cita", "¿Con qué tema"),
            ("consultas laborales", "¿En qué región"),
            ("arequipa", "¿Qué día"),
            ("mañana a las 10", "documento"),
            ("1", "DNI"),  # the option's number, as on WhatsApp without buttons
            (f"{dni[:2]}.{dni[2:5]}.{dni[5:]}", "nombre completo"),  # dots this time
            ("rosa huaman", "caso"),
            ("me despidieron sin pagarme", "¿Confirmo"),
            ("si", "confirmada"),
        ],
    )
    async with db.uow() as uow:
        records = list(await uow.session.execute(select(Citizen.id, Citizen.name)))
        booked_for = list(await uow.session.scalars(select(Appointment.citizen_id)))
        bound = list(await uow.session.scalars(select(ChannelIdentity.citizen_id)))
    assert [tuple(r) for r in records] == [(owner.id, "Rosa Huamán")]  # the record's spelling
    assert booked_for == [owner.id]
    assert bound == [owner.id]


async def test_someone_elses_dni_only_looks_up_from_its_owners_chat(
    engine: Engine, db: Database
) -> None:
    rosa, stranger = Person(engine), Person(engine)
    await dialog(rosa, [*CONSENT, *booking("el miercoles a las 10", DNI, "Rosa Huaman Quispe")])
    await dialog(
        stranger,
        [*CONSENT, ("mis citas", "documento"), ("dni", "DNI"), (DNI, "solo puede ver")],
    )
    async with db.uow() as uow:  # nothing created, nothing bound, nothing told
        assert len(list(await uow.session.scalars(select(Citizen)))) == 1
    assert not [
        r
        for r in await _rows_to(db, rosa)
        if r.kind == "notification" and "document_used" in (r.idempotency_key or "")
    ]


async def test_a_thumbs_up_is_not_consent_but_one_is(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(person, [("hola", ["¿Acepta?", "Sí", "No"])])
    reply = await person.says("👍")
    assert "¿En qué le puedo ayudar?" not in reply.text
    assert "«Sí» o «No»" in reply.text or "Sí" in reply.options  # asked again, plainly
    async with db.uow() as uow:
        conversation = await uow.session.scalar(
            select(Conversation).where(Conversation.user_ref == person.user)
        )
        assert conversation is not None and not conversation.memory.get("consent")
    await dialog(person, [("1", "¿En qué le puedo ayudar?")])
    async with db.uow() as uow:
        conversation = await uow.session.scalar(
            select(Conversation).where(Conversation.user_ref == person.user)
        )
        assert conversation is not None and conversation.memory.get("consent")


async def test_two_for_no_at_the_notice_declines(engine: Engine) -> None:
    person = Person(engine)
    await dialog(person, [("hola", "¿Acepta?"), ("2", "Sin su autorización")])


async def test_an_emoji_is_not_a_name(engine: Engine, db: Database) -> None:
    person = Person(engine)
    await dialog(
        person,
        [
            *CONSENT,
            ("quiero una cita", "¿Con qué tema"),
            ("consultas laborales", "¿En qué región"),
            ("arequipa", "¿Qué día"),
            ("el miercoles a las 10", "¿Cuál tiene?"),
            ("dni", "DNI"),
            ("40123456", "nombre completo"),
            ("😎", ["no parece un nombre", "nombre completo"]),
            ("x", ["no parece un nombre", "nombre completo"]),
            ("Lucia Quispe", "caso"),
            ("despido", "¿Confirmo"),
            ("si", "confirmada"),
        ],
    )
    async with db.uow() as uow:
        citizen = await uow.session.scalar(select(Citizen))
        assert citizen is not None and citizen.name == "Lucia Quispe"


async def test_a_name_typed_in_capitals_is_kept_as_a_name_is_written(
    engine: Engine, db: Database
) -> None:
    person = Person(engine, channel="whatsapp", user="whatsapp:+14155550177")
    await dialog(
        person,
        [*CONSENT, *booking("el miercoles a las 10", "40123457", "JUAN PEREZ DE LA CRUZ")],
    )
    async with db.uow() as uow:
        citizen = await uow.session.scalar(select(Citizen))
        assert citizen is not None and citizen.name == "Juan Perez de la Cruz"


async def test_erasing_my_data(engine: Engine, db: Database) -> None:
    lucia = Person(engine)
    await dialog(lucia, [*CONSENT, *booking("el miercoles a las 10", "40123456", "Lucia Quispe")])
    await dialog(  # a ticket with her own words, relayed, then closed
        lucia,
        [
            ("especialista", "necesita ayuda"),
            ("mi empleador no me paga la cts", "Listo"),
            ("salir", ""),
        ],
    )
    appointment = await _appointment_of(db, "Lucia Quispe")
    await dialog(
        lucia,
        [("menu", "¿En qué le puedo ayudar?"), ("borrar mis datos", "¿Está seguro?")],
    )
    reply = await lucia.says("👍")  # not a clear yes: nothing erased yet
    assert "fueron borrados" not in reply.text
    await dialog(lucia, [("si", "fueron borrados"), ("hola", "¿Acepta?")])

    async with db.uow() as uow:
        citizen = await uow.session.get(Citizen, appointment.citizen_id)
        assert citizen is not None and citizen.erased_at is not None
        assert (citizen.name, citizen.document_number, citizen.phone, citizen.consent_at) == (
            None,
            None,
            None,
            None,
        )
        assert await uow.session.scalar(select(ChannelIdentity)) is None
        row = await uow.session.get(Appointment, appointment.id)
        assert row is not None  # kept for the figures, without personal data
        assert (row.status, row.cancel_reason, row.case_description) == (
            AppointmentStatus.CANCELLED,
            "data_erased",
            None,
        )
        notes = [t.note for t in await uow.session.scalars(select(HandoffRequest))]
        assert notes and all(note is None for note in notes)
        specialist = await uow.session.get(Specialist, appointment.specialist_id)
        assert specialist is not None
        told = list(
            await uow.session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.address == specialist.contact_address,
                    OutboxMessage.idempotency_key
                    == f"appointment:{appointment.id}:cancelled:specialist",
                )
            )
        )
        assert len(told) == 1 and "Lucia" not in told[0].payload["text"]
        reminders = await uow.session.scalars(
            select(OutboxMessage.status).where(
                OutboxMessage.subject == f"appointment:{appointment.id}",
                OutboxMessage.kind.in_(("reminder", "survey")),
            )
        )
        assert set(reminders) == {"withdrawn"}
        conversation = await uow.session.scalar(
            select(Conversation).where(Conversation.user_ref == lucia.user)
        )
        assert conversation is not None
        assert "name" not in conversation.memory and "document" not in conversation.memory


async def test_someone_typing_my_dni_cannot_erase_me(engine: Engine, db: Database) -> None:
    rosa, carlos = Person(engine), Person(engine)
    await dialog(rosa, [*CONSENT, *booking("el miercoles a las 10", DNI, "Rosa Huaman Quispe")])
    await dialog(carlos, [*CONSENT, *booking("el miercoles a las 11", DNI, "Carlos Perez")])
    await dialog(
        carlos,
        [("menu", "ayudar"), ("borrar mis datos", "¿Está seguro?"), ("si", "fueron borrados")],
    )
    theirs = await _appointment_of(db, "Rosa Huaman Quispe")
    async with db.uow() as uow:
        assert theirs.status == AppointmentStatus.BOOKED
        owner = await uow.session.get(Citizen, theirs.citizen_id)
        assert owner is not None and owner.erased_at is None and owner.document_number == DNI
    reply = await rosa.says("mis citas")
    assert "10:00" in "\n".join(reply.options)


async def test_erasing_gives_up_event_seats_to_the_waitlist(engine: Engine, db: Database) -> None:
    async with db.uow() as uow:
        event = await add_event(uow, "PE-ARE", seats=1, title="Derechos laborales basicos")
        event_id = event.id
        await uow.commit()
    lucia = Person(engine)
    await dialog(
        lucia,
        [
            *CONSENT,
            ("capacitaciones", "¿Qué desea hacer?"),
            ("1", "¿De qué región?"),
            ("arequipa", "Derechos laborales basicos"),
            ("1", "¿Cuál tiene?"),
            ("dni", "número"),
            ("40123456", "nombre completo"),
            ("Lucia Quispe", "Derechos laborales basicos"),
        ],
    )
    async with db.uow() as uow:
        pedro = await add_citizen(uow, "Pedro Rojas")
        await events.register_for_event(uow, event_id, pedro.id, now=NOW)
        pedro_id = pedro.id
        await uow.commit()
    await dialog(
        lucia,
        [("menu", "ayudar"), ("borrar mis datos", "¿Está seguro?"), ("si", "fueron borrados")],
    )
    async with db.uow() as uow:
        seats = {
            r.citizen_id: r.status for r in await uow.session.scalars(select(EventRegistration))
        }
        assert seats[pedro_id] == RegistrationStatus.CONFIRMED
        assert sorted(seats.values()) == sorted(
            [RegistrationStatus.CONFIRMED, RegistrationStatus.CANCELLED]
        )
        row = await uow.session.get(GroupEvent, event_id)
        assert row is not None and row.confirmed_count == 1
        waiting = await uow.session.scalars(
            select(OutboxMessage.kind).where(
                OutboxMessage.address == lucia.user,
                OutboxMessage.status.in_(("pending", "needs_template")),
            )
        )
        assert set(waiting) <= {"reply"}  # her event reminders were withdrawn


async def test_borrar_mis_datos_works_at_any_question(engine: Engine, db: Database) -> None:
    lucia = Person(engine)
    await dialog(lucia, [*CONSENT, *booking("el miercoles a las 10", "40123456", "Lucia Quispe")])
    await dialog(
        lucia,
        [
            ("quiero una cita", "¿Con qué tema"),
            ("borrar mis datos", "¿Está seguro?"),  # in the middle of a question
            ("no", "¿En qué le puedo ayudar?"),
            ("especialista", "necesita ayuda"),
            ("mi empleador no me paga", "Listo"),
            ("borrar mis datos", "¿Está seguro?"),  # while a person is on the line
            ("si", "fueron borrados"),
        ],
    )
    async with db.uow() as uow:
        tickets = list(await uow.session.scalars(select(HandoffRequest)))
        assert [(t.status, t.note) for t in tickets] == [("closed", None)]
        citizen = await uow.session.scalar(select(Citizen))
        assert citizen is not None and citizen.erased_at is not None
