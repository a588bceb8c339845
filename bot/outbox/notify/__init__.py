"""Notices written as outbox rows: appointments, the specialists' agenda, training events.

Every function runs inside the caller's unit of work (never commits) and only writes
`outbox_message` rows through `bot/outbox/rows.py`; the outbox worker sends them when due.
Each row has:
- an `idempotency_key` (unique): writing the same notice twice is a no-op;
- a `subject` ("appointment:<id>", "registration:<id>", "event:<id>", "agenda:<specialist>")
  so that everything still pending about something can be withdrawn together (status
  "withdrawn") when it is cancelled or moved;
- a `kind` ("notification", "reminder", "card", "survey") and a WhatsApp `template` name with
  its variables in `payload.meta.template_vars`: business-initiated messages outside the
  24-hour window go out as that approved template (PSV_TWILIO_TEMPLATES), or are held.

Session links go to the citizen and the specialist of the appointment only. Nothing here
logs names, documents, phone numbers or links.
"""

from bot.outbox.notify.agenda import agenda_note, agenda_text
from bot.outbox.notify.appointments import (
    BY_CITIZEN,
    after_closure,
    after_day_off,
    appointment_booked,
    appointment_cancelled,
    appointment_moved,
    outcome_recorded,
    specialist_changed,
)
from bot.outbox.notify.events import event_cancelled, registration_cancelled, registration_confirmed
from bot.outbox.notify.identity import document_used
from bot.outbox.notify.reach import (
    FOLLOW_UP_DELAY,
    SPECIALIST_LANG,
    T_AGENDA,
    T_CANCELLED,
    T_CASE,
    T_CASE_UPDATE,
    T_CHANGED,
    T_CONFIRMED,
    T_DOCUMENT_USED,
    T_EVENT_REMINDER,
    T_EVENT_UPDATE,
    T_REMINDER,
    T_SURVEY,
    template_for,
)
from bot.outbox.rows import UNSENT, Note, withdraw, write

__all__ = [
    "BY_CITIZEN",
    "FOLLOW_UP_DELAY",
    "SPECIALIST_LANG",
    "T_AGENDA",
    "T_CANCELLED",
    "T_CASE",
    "T_CASE_UPDATE",
    "T_CHANGED",
    "T_CONFIRMED",
    "T_DOCUMENT_USED",
    "T_EVENT_REMINDER",
    "T_EVENT_UPDATE",
    "T_REMINDER",
    "T_SURVEY",
    "UNSENT",
    "Note",
    "after_closure",
    "after_day_off",
    "agenda_note",
    "agenda_text",
    "appointment_booked",
    "appointment_cancelled",
    "appointment_moved",
    "document_used",
    "event_cancelled",
    "outcome_recorded",
    "registration_cancelled",
    "registration_confirmed",
    "specialist_changed",
    "template_for",
    "withdraw",
    "write",
]
