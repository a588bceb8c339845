"""Specialists by chat (case buttons, agenda, outcomes, reassignment) and relayed hand-off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.channels import console
from bot.conversation.engine import Engine, mark_console_sent
from core.db import Database
from core.models import (
    Appointment,
    AppointmentStatus,
    Citizen,
    HandoffRequest,
    OutboxMessage,
    Specialist,
    SurveyResponse,
    Tenant,
)
from tests.dialogs.support import Clock, Person, dialog, make_engine
from tests.factories import NOW, add_specialist, lima

CONSENT = [("hola", "¿Acepta?"), ("sí", "¿En qué le puedo ayudar?")]
BOOK = [
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
HANDOFF = [
    *CONSENT,
    ("quiero hablar con un abogado", "¿De qué región"),
    ("arequipa", "¿en qué necesita ayuda?"),
]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def staff(db: Database) -> list[Specialist]:
    async with db.uow() as uow:
        people = [
            await add_specialist(uow, "PE-ARE", ("consultas-laborales",), name="Ana Ríos"),
            await add_specialist(uow, "PE-ARE", ("consultas-laborales",), name="Jorge Mamani"),
        ]
        await uow.commit()
    async with db.uow() as uow:
        people = [await uow.session.get_one(Specialist, p.id) for p in people]
        uow.session.expunge_all()
    return people


@pytest.fixture
async def engine(db: Database, clock: Clock, staff: list[Specialist]) -> AsyncIterator[Engine]:
    engine = make_engine(db, clock)
    await engine.start()
    yield engine


def specialist_chat(engine: Engine, specialist: Specialist) -> Person:
    return Person(engine, user=specialist.contact_address, channel=specialist.contact_channel)


async def only_appointment(db: Database) -> Appointment:
    async with db.uow() as uow:
        [appointment] = list(await uow.session.scalars(select(Appointment)))
        uow.session.expunge(appointment)
        return appointment


async def sent_to(db: Database, address: str) -> list[str]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.address == address, OutboxMessage.status != "withdrawn")
            .order_by(OutboxMessage.id)
        )
        return [row.payload["text"] for row in rows]


def owner(staff: list[Specialist], appointment: Appointment) -> Specialist:
    return next(s for s in staff if s.id == appointment.specialist_id)


async def test_case_buttons_acknowledge_then_attended_with_a_note(
    engine: Engine, db: Database, clock: Clock, staff: list[Specialist]
) -> None:
    await dialog(Person(engine), BOOK)
    booked = await only_appointment(db)
    me = specialist_chat(engine, owner(staff, booked))
    ack = await me.says(payload=f"sp:ack:{booked.id}")
    assert f"caso {booked.id}" in ack.text
    assert (await only_appointment(db)).acknowledged_at is not None

    early = await me.says(payload=f"sp:attended:{booked.id}")
    assert "No se pudo registrar" in early.text  # it has not started yet
    assert (await only_appointment(db)).status == AppointmentStatus.BOOKED

    clock.now = booked.start_utc + timedelta(minutes=40)
    done = await me.says(payload=f"sp:attended:{booked.id}")
    assert "atendido" in done.text and "sp:no_note" in done.payloads
    await me.says("Se orientó sobre despido arbitrario; presentará reclamo.")
    after = await only_appointment(db)
    assert after.status == AppointmentStatus.ATTENDED
    assert after.outcome_at is not None
    assert after.outcome_note == "Se orientó sobre despido arbitrario; presentará reclamo."


async def test_no_show_tells_the_citizen_and_no_note_is_fine(
    engine: Engine, db: Database, clock: Clock, staff: list[Specialist]
) -> None:
    citizen = Person(engine)
    await dialog(citizen, BOOK)
    booked = await only_appointment(db)
    me = specialist_chat(engine, owner(staff, booked))
    clock.now = booked.start_utc + timedelta(minutes=20)
    await me.says(payload=f"sp:no_show:{booked.id}")
    none = await me.says(payload="sp:no_note")
    assert "sin nota" in none.text.lower()
    after = await only_appointment(db)
    assert (after.status, after.outcome_note) == (AppointmentStatus.NO_SHOW, None)
    assert any("no se conectó" in text for text in await sent_to(db, citizen.user))


async def test_a_citizen_sending_specialist_payloads_changes_nothing(
    engine: Engine, db: Database, clock: Clock
) -> None:
    citizen = Person(engine)
    await dialog(citizen, BOOK)
    booked = await only_appointment(db)
    clock.now = booked.start_utc + timedelta(minutes=40)
    for action in ("ack", "attended", "no_show", "reassign", "reschedule"):
        await citizen.says(payload=f"sp:{action}:{booked.id}")
        await citizen.says(f"sp:{action}:{booked.id}")
    after = await only_appointment(db)
    assert (after.status, after.acknowledged_at, after.specialist_id) == (
        AppointmentStatus.BOOKED,
        None,
        booked.specialist_id,
    )


async def test_a_specialist_cannot_touch_a_colleagues_case(
    engine: Engine, db: Database, clock: Clock, staff: list[Specialist]
) -> None:
    await dialog(Person(engine), BOOK)
    booked = await only_appointment(db)
    colleague = next(s for s in staff if s.id != booked.specialist_id)
    clock.now = booked.start_utc + timedelta(minutes=40)
    other = specialist_chat(engine, colleague)
    for action in ("ack", "attended", "reassign"):
        reply = await other.says(payload=f"sp:{action}:{booked.id}")
        assert "no está a su cargo" in reply.text
    assert (await only_appointment(db)).status == AppointmentStatus.BOOKED


async def test_agenda_today_tomorrow_and_a_day_in_words(
    engine: Engine, db: Database, staff: list[Specialist]
) -> None:
    await dialog(Person(engine), BOOK)  # Wednesday 2 December, 10:00
    booked = await only_appointment(db)
    me = specialist_chat(engine, owner(staff, booked))
    assert "No tiene citas" in (await me.says("agenda")).text
    tomorrow = await me.says("agenda mañana")
    assert "Lucía" in tomorrow.text and "10:00" in tomorrow.text
    assert "Lucía" in (await me.says("Agenda del miércoles")).text
    assert "Lucía" in (await me.says(payload="sp:agenda:tomorrow")).text
    assert "agenda" in (await me.says("hola")).text.lower()  # anything else: what they can do


async def test_the_agenda_days_are_the_specialists_regions_days(
    engine: Engine, db: Database, clock: Clock, staff: list[Specialist]
) -> None:
    await dialog(Person(engine), BOOK)  # Wednesday 2 December, 10:00 in Lima (15:00 UTC)
    booked = await only_appointment(db)
    async with db.uow() as uow:
        await uow.session.execute(
            update(Tenant).where(Tenant.id == booked.tenant_id).values(timezone="Asia/Shanghai")
        )
        await uow.commit()
    # 20:00 UTC on 1 December: still the 1st in Lima, already the 2nd in Shanghai (UTC+8).
    clock.now = booked.start_utc.replace(day=1, hour=20)
    agenda = await specialist_chat(engine, owner(staff, booked)).says("agenda")
    assert "miércoles 2" in agenda.text and "Lucía" in agenda.text and "11:00" in agenda.text


async def test_reassign_to_a_free_colleague_then_cancel_when_nobody_is_free(
    engine: Engine, db: Database, staff: list[Specialist]
) -> None:
    citizen = Person(engine)
    await dialog(citizen, BOOK)
    booked = await only_appointment(db)
    first = owner(staff, booked)
    moved = await specialist_chat(engine, first).says(payload=f"sp:reassign:{booked.id}")
    after = await only_appointment(db)
    colleague = next(s for s in staff if s.id != first.id)
    assert after.specialist_id == colleague.id
    assert colleague.name in moved.text
    async with db.uow() as uow:  # the first one leaves: nobody else is free at that time
        (await uow.session.get_one(Specialist, first.id)).active = False
        await uow.commit()
    again = await specialist_chat(engine, colleague).says(payload=f"sp:reassign:{booked.id}")
    final = await only_appointment(db)
    assert "nuevos horarios" in again.text
    assert (final.status, final.specialist_id) == (AppointmentStatus.CANCELLED, colleague.id)
    async with db.uow() as uow:
        told = list(
            await uow.session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.address == citizen.user)
            )
        )
    # The citizen was told of the move (that notice was then withdrawn by the cancellation).
    assert any(colleague.name.split(" ")[0] in payload["text"] for payload in told)


async def test_reschedule_needed_cancels_and_offers_new_times(
    engine: Engine, db: Database, clock: Clock, staff: list[Specialist]
) -> None:
    citizen = Person(engine)
    await dialog(citizen, BOOK)
    booked = await only_appointment(db)
    clock.now = booked.start_utc + timedelta(minutes=5)
    reply = await specialist_chat(engine, owner(staff, booked)).says(
        payload=f"sp:reschedule:{booked.id}"
    )
    assert "reprogramarla" in reply.text
    assert (await only_appointment(db)).status == AppointmentStatus.CANCELLED


# ---- talk to a person ------------------------------------------------------------------


async def test_relay_goes_both_ways_labelled_and_either_side_closes(
    engine: Engine, db: Database, staff: list[Specialist]
) -> None:
    citizen = Person(engine)
    await dialog(citizen, [*HANDOFF, ("No me pagan la CTS", ["especialista", "Arequipa", "salir"])])
    async with db.uow() as uow:
        ticket = await uow.session.scalar(select(HandoffRequest))
        assert ticket is not None and ticket.status == "assigned"
        uow.session.expunge(ticket)
        helper = next(s for s in staff if s.id == ticket.specialist_id)
    me = specialist_chat(engine, helper)
    card = await sent_to(db, helper.contact_address)
    assert any("No me pagan la CTS" in text for text in card)

    assert (await citizen.says("¿Me pueden ayudar con el cálculo?")).messages == []
    to_specialist = await sent_to(db, helper.contact_address)
    assert to_specialist[-1].endswith("¿Me pueden ayudar con el cálculo?")
    assert "👤" in to_specialist[-1] and citizen.user not in to_specialist[-1]

    assert (await me.says("Claro, ¿cuál fue su último sueldo?")).messages == []
    to_citizen = await sent_to(db, citizen.user)
    assert to_citizen[-1].endswith("Claro, ¿cuál fue su último sueldo?")
    assert "Ana" in to_citizen[-1] or "Jorge" in to_citizen[-1]
    assert helper.contact_address not in to_citizen[-1]

    await citizen.says("salir")
    async with db.uow() as uow:
        closed = await uow.session.get(HandoffRequest, ticket.id)
        assert closed is not None and (closed.status, closed.closed_by) == ("closed", "citizen")
    assert "terminó" in (await sent_to(db, citizen.user))[-1]
    assert "cerrada" in (await sent_to(db, helper.contact_address))[-1]
    back = await citizen.says("hola")
    assert back.messages, "after the relay the citizen talks to the bot again"


async def test_when_everyone_is_busy_the_ticket_waits_then_goes_to_whoever_frees_up(
    engine: Engine, db: Database, staff: list[Specialist]
) -> None:
    first, second, third = Person(engine), Person(engine), Person(engine)
    await dialog(first, [*HANDOFF, ("Consulta uno", "salir")])
    await dialog(second, [*HANDOFF, ("Consulta dos", "salir")])
    await dialog(third, [*HANDOFF, ("Consulta tres", "en cuanto un especialista se libere")])
    async with db.uow() as uow:
        tickets = list(
            await uow.session.scalars(select(HandoffRequest).order_by(HandoffRequest.id))
        )
        uow.session.expunge_all()
    assert [t.status for t in tickets] == ["assigned", "assigned", "open"]
    helper = next(s for s in staff if s.id == tickets[0].specialist_id)
    await specialist_chat(engine, helper).says(payload="relay:close")
    async with db.uow() as uow:
        waiting = await uow.session.get(HandoffRequest, tickets[2].id)
        assert waiting is not None
        assert (waiting.status, waiting.specialist_id) == ("assigned", helper.id)
    assert any("Consulta tres" in t for t in await sent_to(db, helper.contact_address))


async def test_outside_office_hours_the_citizen_is_told_when(
    db: Database, staff: list[Specialist]
) -> None:
    saturday = lima(2026, 12, 5, 11)
    engine = make_engine(db, Clock(saturday))
    await engine.start()
    reply = await dialog(Person(engine), [*HANDOFF, ("Consulta", "desde el lunes")])
    assert "7 de diciembre" in reply.text
    async with db.uow() as uow:
        ticket = await uow.session.scalar(select(HandoffRequest))
        assert ticket is not None and ticket.status == "open"


# ---- answers to notifications ------------------------------------------------------------


async def test_survey_score_then_comment_once_and_only_for_the_owner(
    engine: Engine, db: Database
) -> None:
    citizen, stranger = Person(engine), Person(engine)
    await dialog(citizen, BOOK)
    booked = await only_appointment(db)
    assert "ya no está vigente" in (await stranger.says(payload=f"survey:{booked.id}:1")).text
    thanks = await citizen.says(payload=f"survey:{booked.id}:4")
    assert "Gracias" in thanks.text
    await citizen.says("Muy amable la abogada")
    again = await citizen.says(payload=f"survey:{booked.id}:1")
    assert "Ya recibimos" in again.text
    async with db.uow() as uow:
        [response] = list(await uow.session.scalars(select(SurveyResponse)))
        assert (response.appointment_id, response.score) == (booked.id, 4)
        assert response.comment == "Muy amable la abogada"


async def test_a_typed_score_counts_after_the_survey_went_out(
    engine: Engine, db: Database, clock: Clock
) -> None:
    citizen = Person(engine)
    await dialog(citizen, BOOK)
    booked = await only_appointment(db)
    assert not (await citizen.says("5")).text.startswith("¡Gracias")  # no survey sent yet
    clock.now = booked.end_utc + timedelta(minutes=30)
    async with db.uow() as uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "survey")
            .values(status="sent", sent_at=clock.now)
        )
        await uow.commit()
    await citizen.says("menú")
    await citizen.says("salir")
    assert "Gracias" in (await citizen.says("5")).text
    async with db.uow() as uow:
        assert await uow.session.scalar(select(SurveyResponse.score)) == 5


async def test_new_times_offered_after_a_reschedule_book_with_one_tap(
    engine: Engine, db: Database, clock: Clock, staff: list[Specialist]
) -> None:
    citizen = Person(engine)
    await dialog(citizen, BOOK)
    booked = await only_appointment(db)
    clock.now = booked.start_utc + timedelta(minutes=5)
    await specialist_chat(engine, owner(staff, booked)).says(payload=f"sp:reschedule:{booked.id}")
    async with db.uow() as uow:
        offers = [
            payload
            for row in await uow.session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.address == citizen.user)
            )
            for payload, _ in row.get("options", [])
            if payload.startswith("rebook:")
        ]
    assert offers
    done = await citizen.says(payload=offers[0])
    assert "nueva cita" in done.text
    async with db.uow() as uow:
        rows = list(await uow.session.scalars(select(Appointment).order_by(Appointment.id)))
        uow.session.expunge_all()
    assert [r.status for r in rows] == [AppointmentStatus.CANCELLED, AppointmentStatus.BOOKED]
    assert rows[1].start_utc.isoformat() == offers[0].split(":", 2)[2]
    stranger = await Person(engine).says(payload=offers[1] if len(offers) > 1 else offers[0])
    assert "ya no está vigente" in stranger.text


async def test_book_again_button_opens_the_booking_flow(engine: Engine) -> None:
    citizen = Person(engine)
    await dialog(citizen, CONSENT)
    assert "¿Con qué tema" in (await citizen.says(payload="menu:book")).text


async def test_the_console_marks_its_replies_sent_but_not_later_reminders(db: Database) -> None:
    async with db.uow() as uow:
        for kind in ("reply", "reminder"):
            uow.session.add(
                OutboxMessage(
                    channel="console",
                    address="terminal",
                    payload={"text": kind},
                    kind=kind,
                    due_at=NOW + timedelta(days=1 if kind == "reminder" else 0),
                )
            )
        await uow.commit()
    await mark_console_sent(db, "terminal")
    async with db.uow() as uow:
        rows = await uow.session.execute(select(OutboxMessage.kind, OutboxMessage.status))
        assert sorted(tuple(row) for row in rows) == [("reminder", "pending"), ("reply", "sent")]


async def test_replies_carry_the_region_so_its_admins_see_failures(
    engine: Engine, db: Database
) -> None:
    citizen = Person(engine)
    await dialog(citizen, BOOK)
    async with db.uow() as uow:
        arequipa = await uow.session.scalar(select(Tenant.id).where(Tenant.code == "PE-ARE"))
        regions = set(
            await uow.session.scalars(
                select(OutboxMessage.tenant_id).where(
                    OutboxMessage.address == citizen.user, OutboxMessage.kind == "reply"
                )
            )
        )
    assert regions == {None, arequipa}  # none before the region was chosen


async def test_a_specialist_no_chat_can_reach_never_gets_a_relay(
    engine: Engine, db: Database, staff: list[Specialist]
) -> None:
    async with db.uow() as uow:  # like the demo roster: addresses on no real channel
        for person in staff:
            (await uow.session.get_one(Specialist, person.id)).contact_channel = "demo"
        await uow.commit()
    await dialog(Person(engine), [*HANDOFF, ("Consulta", "en cuanto un especialista se libere")])
    async with db.uow() as uow:
        ticket = await uow.session.scalar(select(HandoffRequest))
        assert ticket is not None and (ticket.status, ticket.specialist_id) == ("open", None)


async def case_card(db: Database) -> str:
    async with db.uow() as uow:
        [card] = list(
            await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "card"))
        )
        return str(card.payload["text"])


@pytest.mark.parametrize(("answer", "shown"), [("sí", True), ("no", False)])
async def test_on_whatsapp_the_citizen_chooses_whether_the_card_shows_their_phone(
    engine: Engine, db: Database, answer: str, shown: bool
) -> None:
    citizen = Person(engine, user="whatsapp:+51987654321", channel="whatsapp")
    await dialog(citizen, [*BOOK[:-3], ("Lucía Quispe", "número de teléfono al especialista")])
    await dialog(citizen, [(answer, "caso"), ("Despido", "¿Confirmo"), ("sí", "confirmada")])
    card = await case_card(db)
    assert ("+51987654321" in card) is shown
    async with db.uow() as uow:
        person = await uow.session.scalar(
            select(Citizen).where(Citizen.document_number == "40123456")
        )
        assert person is not None and person.share_phone is shown


async def test_without_a_known_phone_the_question_is_not_asked(
    engine: Engine, db: Database
) -> None:
    # A foreign WhatsApp number is no Peruvian mobile: nothing to show, nothing asked.
    citizen = Person(engine, user="whatsapp:+14155550100", channel="whatsapp")
    await dialog(citizen, BOOK)
    assert "Teléfono" not in await case_card(db)


async def test_someone_typing_another_persons_document_gives_no_consent_for_them(
    engine: Engine, db: Database
) -> None:
    owner_chat = Person(engine, user="whatsapp:+51987654321", channel="whatsapp")
    await dialog(owner_chat, [*BOOK[:-3], ("Lucía Quispe", "número de teléfono")])
    await dialog(owner_chat, [("no", "caso"), ("Despido", "¿Confirmo"), ("sí", "confirmada")])
    # Another number types the same DNI and says yes: the owner's answer stands.
    other = Person(engine, user="whatsapp:+51911122233", channel="whatsapp")
    await dialog(other, [*BOOK[:-4], ("40123456", "nombre completo")])
    await dialog(other, [("Lucía Quispe", "número de teléfono"), ("sí", "caso")])
    await dialog(other, [("Otro caso", "¿Confirmo"), ("sí", "confirmada")])
    async with db.uow() as uow:
        person = await uow.session.scalar(
            select(Citizen).where(Citizen.document_number == "40123456")
        )
        assert person is not None
        assert (person.share_phone, person.phone) == (False, None)


async def set_active(db: Database, specialist_id: int, active: bool) -> None:
    async with db.uow() as uow:
        await uow.session.execute(
            update(Specialist).where(Specialist.id == specialist_id).values(active=active)
        )
        await uow.commit()


async def the_ticket(db: Database) -> HandoffRequest:
    async with db.uow() as uow:
        ticket = await uow.session.scalar(select(HandoffRequest))
        assert ticket is not None
        uow.session.expunge(ticket)
        return ticket


async def test_a_relay_outlives_its_specialist_being_deactivated(
    engine: Engine, db: Database, staff: list[Specialist]
) -> None:
    citizen = Person(engine)
    await dialog(citizen, [*HANDOFF, ("No me pagan la CTS", "especialista")])
    first = await the_ticket(db)
    assert first.status == "assigned" and first.specialist_id is not None
    await set_active(db, first.specialist_id, False)

    # The next message finds the other specialist, who gets the case; the citizen is told.
    gone = await citizen.says("¿Sigue ahí?")
    assert "ya no está disponible" in gone.text
    second = await the_ticket(db)
    other = next(s for s in staff if s.id != first.specialist_id)
    assert (second.status, second.specialist_id) == ("assigned", other.id)
    assert any("No me pagan la CTS" in t for t in await sent_to(db, other.contact_address))
    assert (await citizen.says("Hola de nuevo")).messages == []
    assert (await sent_to(db, other.contact_address))[-1].endswith("Hola de nuevo")

    # Nobody left: the ticket waits in the queue and the citizen is told so, once.
    await set_active(db, other.id, False)
    waiting = await citizen.says("¿Hola?")
    assert "vuelve a la cola" in waiting.text and "en cuanto" in waiting.text
    third = await the_ticket(db)
    assert (third.status, third.specialist_id) == ("open", None)
    back = await citizen.says("hola")
    assert "vuelve a la cola" not in back.text  # the bot answers again, no relay into the void


async def all_sent(db: Database) -> None:
    """What a worker would have done: every queued row went out."""
    async with db.uow() as uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .values(status="sent", sent_at=NOW)
        )
        await uow.commit()


async def test_a_whatsapp_specialist_answers_the_cards_numbered_options(
    engine: Engine, db: Database, clock: Clock, staff: list[Specialist]
) -> None:
    for n, spec in enumerate(staff):
        async with db.uow() as uow:
            await uow.session.execute(
                update(Specialist)
                .where(Specialist.id == spec.id)
                .values(contact_channel="whatsapp", contact_address=f"whatsapp:+5198700000{n}")
            )
            await uow.commit()
        spec.contact_channel, spec.contact_address = "whatsapp", f"whatsapp:+5198700000{n}"
    await dialog(Person(engine), BOOK)
    booked = await only_appointment(db)
    me = specialist_chat(engine, owner(staff, booked))
    async with db.uow() as uow:
        card = await uow.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "card"))
        assert card is not None and card.address == me.user
        actions = [payload.split(":")[1] for payload, _ in card.payload["options"]]
    assert actions == ["ack", "attended", "no_show", "reschedule", "reassign"]
    await all_sent(db)

    assert f"caso {booked.id}" in (await me.says("1")).text  # 1. Recibido
    assert (await only_appointment(db)).acknowledged_at is not None
    await all_sent(db)
    clock.now = booked.start_utc + timedelta(minutes=40)
    assert "atendido" in (await me.says("2")).text  # the card again: 2. Asistió
    await all_sent(db)
    assert "sin nota" in (await me.says("1")).text.lower()  # 1. Sin nota
    after = await only_appointment(db)
    assert (after.status, after.outcome_note) == (AppointmentStatus.ATTENDED, None)
    assert "«agenda»" in (await me.says("9")).text  # no such option: the desk's help


async def test_new_times_offered_are_booked_by_their_number_typed_back(
    engine: Engine, db: Database, clock: Clock, staff: list[Specialist]
) -> None:
    citizen = Person(engine, user="whatsapp:+51987654321", channel="whatsapp")
    await dialog(citizen, [*BOOK[:-3], ("Lucía Quispe", "teléfono"), ("no", "caso")])
    await dialog(citizen, [("Despido", "¿Confirmo"), ("sí", "confirmada")])
    booked = await only_appointment(db)
    clock.now = booked.start_utc + timedelta(minutes=5)
    await specialist_chat(engine, owner(staff, booked)).says(payload=f"sp:reschedule:{booked.id}")
    await all_sent(db)
    async with db.uow() as uow:
        notice = await uow.session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"appointment:{booked.id}:outcome:reschedule"
            )
        )
        assert notice is not None
        second_time = notice.payload["options"][1][0]
    assert second_time.startswith(f"rebook:{booked.id}:")
    done = await citizen.says("2")
    assert "nueva cita" in done.text
    async with db.uow() as uow:
        rows = list(await uow.session.scalars(select(Appointment).order_by(Appointment.id)))
        uow.session.expunge_all()
    assert rows[1].status == AppointmentStatus.BOOKED
    assert rows[1].start_utc.isoformat() == second_time.split(":", 2)[2]


async def test_the_waiting_message_gives_the_regions_own_office_hours(
    db: Database, staff: list[Specialist]
) -> None:
    async with db.uow() as uow:
        arequipa = await uow.session.scalar(select(Tenant).where(Tenant.code == "PE-ARE"))
        assert arequipa is not None
        arequipa.office_hours = {
            "weekdays": [0, 1, 2, 3, 4, 5],
            "opens": "08:00",
            "closes": "13:00",
        }
        await uow.commit()
    sunday = lima(2026, 12, 6, 11)
    engine = make_engine(db, Clock(sunday))
    await engine.start()
    reply = await dialog(Person(engine), [*HANDOFF, ("Consulta", "desde el lunes 7 de diciembre")])
    assert "de lunes a sábado, de 8:00" in reply.text and "1:00" in reply.text


async def test_while_the_ticket_waits_the_citizens_words_are_kept_for_the_specialist(
    engine: Engine, db: Database, staff: list[Specialist]
) -> None:
    first, second, third = Person(engine), Person(engine), Person(engine)
    await dialog(first, [*HANDOFF, ("Consulta uno", "salir")])
    await dialog(second, [*HANDOFF, ("Consulta dos", "salir")])
    await dialog(third, [*HANDOFF, ("Me despidieron ayer", "en cuanto un especialista se libere")])
    # Was the main menu: «hola? hay alguien?» is kept and acknowledged.
    await dialog(
        third,
        [
            ("hola? hay alguien?", "quedó guardado para el especialista"),
            ("no me pagaron la cts", "quedó guardado"),
            # A command still works while waiting.
            ("menú", "¿En qué le puedo ayudar?"),
        ],
    )
    async with db.uow() as uow:
        ticket = await uow.session.scalar(
            select(HandoffRequest).where(HandoffRequest.status == "open")
        )
        assert ticket is not None
        assert ticket.note is not None and ticket.note.endswith(
            "hola? hay alguien?\nno me pagaron la cts"
        )
        first_ticket = await uow.session.scalar(
            select(HandoffRequest).order_by(HandoffRequest.id).limit(1)
        )
        assert first_ticket is not None
        helper = next(s for s in staff if s.id == first_ticket.specialist_id)
    await specialist_chat(engine, helper).says(payload="relay:close")
    card = (await sent_to(db, helper.contact_address))[-2:]
    assert any("no me pagaron la cts" in text for text in card)


async def test_the_terminal_shows_a_specialists_relayed_words(
    engine: Engine, db: Database, clock: Clock, staff: list[Specialist]
) -> None:
    citizen = Person(engine, channel=console.CHANNEL)
    await dialog(citizen, [*HANDOFF, ("Consulta por despido", "salir")])
    async with db.uow() as uow:
        ticket = await uow.session.scalar(select(HandoffRequest))
        assert ticket is not None and ticket.status == "assigned"
        helper = next(s for s in staff if s.id == ticket.specialist_id)
    await mark_console_sent(db, citizen.user)  # the turn's own replies were shown
    await specialist_chat(engine, helper).says("Buenos días, ¿cuándo lo despidieron?")
    shown = await console.take_due(db, citizen.user, clock.now + timedelta(seconds=2))
    assert any("¿cuándo lo despidieron?" in m.text for m in shown)
    assert await console.take_due(db, citizen.user, clock.now + timedelta(seconds=2)) == []


async def test_the_case_told_at_the_region_question_reaches_the_specialist(
    engine: Engine, db: Database, staff: list[Specialist]
) -> None:
    citizen = Person(engine)
    await dialog(
        citizen,
        [
            *HANDOFF[:-1],
            # Was «no le entendí. Responda con el número de una opción.», and the case lost.
            ("me despidieron y no me pagan", ["Anotado lo que me cuenta", "¿De qué región"]),
            ("arequipa", ["especialista", "Arequipa", "salir"]),  # not asked again
        ],
    )
    async with db.uow() as uow:
        ticket = await uow.session.scalar(select(HandoffRequest))
        assert ticket is not None and ticket.note == "me despidieron y no me pagan"


async def test_nonsense_at_the_region_question_is_not_kept_as_the_case(
    engine: Engine, staff: list[Specialist]
) -> None:
    await dialog(
        Person(engine),
        [
            *HANDOFF[:-1],
            ("asdf", ["no le entendí", "¿De qué región"]),
            ("arequipa", "¿en qué necesita ayuda?"),
        ],
    )
