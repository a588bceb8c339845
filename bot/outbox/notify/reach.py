"""What every notice shares: whom to write to, in which language, under which template.

Texts come from the catalogues in the citizen's language; specialists read Spanish.
WhatsApp templates (names in PSV_TWILIO_TEMPLATES) carry the variables {{1}}, {{2}}, {{3}}.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from bot.messages import Outbound
from bot.outbox.rows import Note
from core.models import ChannelIdentity, Tenant
from core.uow import UnitOfWork

SPECIALIST_LANG = "es"
# The confirmation extras follow the flow's own confirmation, which is queued later in the
# same turn: a short delay keeps them after it (the worker sends one address in id order,
# skipping rows not yet due).
FOLLOW_UP_DELAY = timedelta(seconds=5)

# WhatsApp templates (names in PSV_TWILIO_TEMPLATES); variables {{1}}, {{2}}, {{3}}.
T_CONFIRMED = "psv_appointment_confirmed"
T_REMINDER = "psv_appointment_reminder"
T_CHANGED = "psv_appointment_changed"
T_CANCELLED = "psv_appointment_cancelled"
T_SURVEY = "psv_survey"
T_CASE = "psv_new_case"
T_CASE_UPDATE = "psv_case_update"
T_AGENDA = "psv_agenda"
T_EVENT_REMINDER = "psv_event_reminder"
T_EVENT_UPDATE = "psv_event_update"
T_DOCUMENT_USED = "psv_document_used"


async def find_reach(
    uow: UnitOfWork, citizen_id: int, prefer: str | None
) -> tuple[str, str] | None:
    """Where to write to a citizen: the channel they booked on first, if still reachable."""
    rows = list(
        await uow.session.execute(
            select(ChannelIdentity.channel, ChannelIdentity.address)
            .where(ChannelIdentity.citizen_id == citizen_id, ChannelIdentity.reachable.is_(True))
            .order_by(ChannelIdentity.id)
        )
    )
    if not rows:
        return None
    preferred = [r for r in rows if r[0] == prefer]
    channel, address = (preferred or rows)[0]
    return str(channel), str(address)


def masked(number: str | None) -> str:
    """A document number shown by its last four digits only."""
    if not number:
        return "—"
    return "****" + number[-4:]


def template_for(name: str, lang: str) -> str:
    """The template name in the citizen's language, e.g. "psv_appointment_reminder.en"."""
    # The WhatsApp channel falls back to the plain (Spanish) name when that one is not set.
    return name if lang == SPECIALIST_LANG else f"{name}.{lang}"


def numbered(*values: str) -> dict[str, str]:
    """Template variables {{1}}, {{2}}, ... from the values in order."""
    return {str(i): value for i, value in enumerate(values, start=1)}


def to_reach(
    reach: tuple[str, str] | None,
    lang: str,
    *,
    key: str,
    message: Outbound,
    kind: str,
    subject: str,
    tenant_id: int | None,
    due_at: datetime,
    template: str,
    template_vars: dict[str, str],
) -> list[Note]:
    """A note to a citizen's chat, if they have one we can reach; the template in their language."""
    if reach is None:
        return []
    channel, address = reach
    return [
        Note(
            key=key,
            channel=channel,
            address=address,
            message=message,
            kind=kind,
            subject=subject,
            tenant_id=tenant_id,
            due_at=due_at,
            template=template_for(template, lang),
            template_vars=template_vars,
        )
    ]


class Party(Protocol):
    """A citizen's side of something notified: an appointment's case or an event seat."""

    @property
    def reach(self) -> tuple[str, str] | None:
        """The citizen's (channel, address), if reachable."""

    @property
    def lang(self) -> str:
        """The citizen's language."""

    @property
    def subject(self) -> str:
        """What the outbox rows are about, e.g. "appointment:<id>"."""

    @property
    def tenant(self) -> Tenant:
        """The region it belongs to."""


def to_citizen(
    party: Party,
    key: str,
    message: Outbound,
    *,
    kind: str,
    due_at: datetime,
    template: str,
    template_vars: dict[str, str],
) -> list[Note]:
    """A note to the citizen of a case or seat, if reachable, about that case or seat."""
    return to_reach(
        party.reach,
        party.lang,
        key=key,
        message=message,
        kind=kind,
        subject=party.subject,
        tenant_id=party.tenant.id,
        due_at=due_at,
        template=template,
        template_vars=template_vars,
    )
