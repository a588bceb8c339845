"""Staff recovery of a citizen's record for a new chat (a person who lost their old number).

The only way a chat address comes to speak for a record it did not register: an admin, who
has checked the person's identity by other means, binds it (core.identity.rebind, audited).
A regional admin may do it only for a record with appointments or event seats in the region
(either the owner's record or the one the chat made); any other answers 404, so a region
learns nothing about documents used elsewhere.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.admin_api.auth import scoped_tenant
from bot.admin_api.bodies import json_object
from bot.admin_api.context import context, principal
from bot.admin_api.errors import invalid
from core import identity
from core.documents import normalise_document
from core.errors import InvalidDocument, NotFound
from core.models import Appointment, DocumentType, EventRegistration, GroupEvent
from core.uow import UnitOfWork

CHANNELS = ("telegram", "whatsapp")
FIELDS = frozenset(
    {"document_type", "document_number", "channel", "address", "reason", "end_other_addresses"}
)
NOT_HERE = "no citizen of this region holds this document"


def _ascii_digits(text: str) -> bool:
    """Digits 0-9 only (str.isdigit alone also takes «³», «٣» and «３»)."""
    return text.isascii() and text.isdigit()


def _address(channel: str, raw: str) -> str:
    """The address as the channel's webhooks name it (Telegram chat id, whatsapp:+51...)."""
    raw = raw.strip()
    if channel == "whatsapp":
        number = raw.removeprefix("whatsapp:")
        if not (
            number.startswith("+") and _ascii_digits(number[1:]) and 8 <= len(number) - 1 <= 15
        ):
            raise invalid("a WhatsApp address is a number like +51987654321", field="address")
        return "whatsapp:" + number
    digits = raw.removeprefix("-")
    if not _ascii_digits(digits) or len(digits) > 20:
        raise invalid("a Telegram address is the numeric chat id", field="address")
    return raw


async def _in_region(uow: UnitOfWork, citizen_ids: list[int], tenant_id: int) -> bool:
    """Whether any of these records has an appointment or an event seat in the region."""
    booked = await uow.session.scalar(
        select(Appointment.id)
        .where(Appointment.citizen_id.in_(citizen_ids), Appointment.tenant_id == tenant_id)
        .limit(1)
    )
    if booked is not None:
        return True
    seat = await uow.session.scalar(
        select(EventRegistration.id)
        .join(GroupEvent, GroupEvent.id == EventRegistration.event_id)
        .where(EventRegistration.citizen_id.in_(citizen_ids), GroupEvent.tenant_id == tenant_id)
        .limit(1)
    )
    return seat is not None


async def rebind(request: web.Request) -> web.Response:
    """POST /tenants/{t}/citizens/rebind: bind a chat to the record that owns a document."""
    body = await json_object(request, allowed=FIELDS)
    raw_type = body.text("document_type", max_length=20)
    if raw_type not in {d.value for d in DocumentType}:
        raise invalid(
            f"document_type must be one of {', '.join(d.value for d in DocumentType)}",
            field="document_type",
        )
    document_type = DocumentType(raw_type)
    try:
        number = normalise_document(
            document_type, body.text("document_number", max_length=40) or ""
        )
    except InvalidDocument as refused:
        raise invalid(refused.detail, field="document_number") from refused
    channel = body.text("channel", max_length=20)
    if channel not in CHANNELS:
        raise invalid(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    address = _address(channel, body.text("address", max_length=120) or "")
    reason = body.text("reason", max_length=300) or ""  # required: why staff moved it
    end_others = body.boolean("end_other_addresses", default=True)
    ctx = context(request)
    caller = principal(request)
    async with ctx.db.uow() as uow:
        tenant = await scoped_tenant(uow, request)
        owner = await identity.owner_of(uow, document_type, number)
        if owner is None:
            raise NotFound(NOT_HERE)
        if not caller.is_national:
            involved = [owner.id]
            previous = await identity.bound_to(uow, channel, address)
            if previous is not None:
                involved.append(previous.id)
            if not await _in_region(uow, involved, tenant.id):
                raise NotFound(NOT_HERE)
        done = await identity.rebind(
            uow,
            document_type,
            number,
            channel,
            address,
            actor=caller.actor,
            reason=reason,
            end_other_addresses=end_others,
            tenant_id=tenant.id,
        )
        await uow.commit()
    answer: dict[str, Any] = {
        "citizen_id": done.citizen_id,
        "channel": channel,
        "moved_from_citizen_id": done.moved_from,
        "appointments_moved": done.appointments_moved,
        "addresses_ended": done.addresses_ended,
    }
    return web.json_response(answer)
