"""Session links: video rooms for appointments and training events, instructions otherwise.

A video service gets one unguessable room per appointment and per event (at least 128 bits
from `secrets`); phone, chat and in-person services get no link but an instruction key the
bot renders from its catalogues. A link is only ever sent to the citizen and the specialist.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from typing import Protocol

from core.models import Appointment, GroupEvent, Modality, Service
from core.settings import load_settings
from core.uow import UnitOfWork

DEFAULT_MEETING_URL = "https://meet.jit.si"
ROOM_BYTES = 24  # 192 bits: well above the 128 the issue asks for
ROOM_PREFIX = "psv-"

# What the person is told instead of a link (keys of the bot's catalogues).
INSTRUCTIONS: dict[Modality, str] = {
    Modality.PHONE: "notify.instructions.phone",
    Modality.CHAT: "notify.instructions.chat",
    Modality.IN_PERSON: "notify.instructions.in_person",
}


class MeetingProvider(Protocol):
    """Makes a fresh, private session link."""

    def new_link(self) -> str:
        """Return a new link no one can guess."""
        ...


@dataclass(frozen=True)
class JitsiProvider:
    """Jitsi Meet rooms under `base_url` (public meet.jit.si or a ministry instance)."""

    base_url: str = DEFAULT_MEETING_URL

    def new_link(self) -> str:
        """Return `{base_url}/psv-<192 random bits, URL-safe>`."""
        return f"{self.base_url.rstrip('/')}/{ROOM_PREFIX}{secrets.token_urlsafe(ROOM_BYTES)}"


@functools.cache
def default_provider() -> MeetingProvider:
    """The provider of the settings (`PSV_MEETING_URL`), read once."""
    return JitsiProvider(load_settings().meeting_url)


def needs_link(modality: Modality) -> bool:
    """Whether sessions of this modality happen in a video room."""
    return modality == Modality.VIDEO


def instructions_key(modality: Modality) -> str | None:
    """The catalogue key telling how a session without a link happens (None for video)."""
    return INSTRUCTIONS.get(modality)


async def attach_link(
    uow: UnitOfWork, target: Appointment | GroupEvent, provider: MeetingProvider | None = None
) -> str | None:
    """Give an appointment or event of a video service its own link, once; returns it."""
    if target.session_link:
        return target.session_link
    service = await uow.session.get(Service, target.service_id)
    if service is None or not needs_link(service.modality):
        return None
    target.session_link = (provider or default_provider()).new_link()
    return target.session_link
