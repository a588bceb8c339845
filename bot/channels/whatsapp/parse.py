"""WhatsApp webhooks in (through Twilio): signed form posts of messages and delivery statuses.

`check_signature` authenticates a request against its URL and form parameters;
`parse_message` turns a message into a `Parsed` and `parse_status` a delivery status callback
into a `StatusUpdate`. Nothing personal (numbers, names, bodies) is ever logged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from bot.channels.base import Parsed, WebhookError
from bot.messages import Inbound, Location

CHANNEL: Final = "whatsapp"
UNSUBSCRIBED: Final = 21610  # the person sent STOP: unreachable until they write again
EMPTY_TWIML: Final = '<?xml version="1.0" encoding="UTF-8"?><Response/>'  # answer, text/xml
MAX_ID: Final = 120  # the stored length of message ids and addresses (real ones are far shorter)


def check_signature(
    url: str, params: Mapping[str, str], signature: str | None, auth_token: str
) -> None:
    """Refuse (403) a webhook whose X-Twilio-Signature does not match the URL and params."""
    if not signature:
        raise WebhookError(403, "missing X-Twilio-Signature")
    if not RequestValidator(auth_token).validate(url, params, signature):
        raise WebhookError(403, "invalid X-Twilio-Signature")


def parse_message(params: Mapping[str, str]) -> Parsed:
    """An incoming WhatsApp message as an `Inbound`; 400 when MessageSid or From is missing."""
    message_id = params.get("MessageSid", "")
    sender = params.get("From", "")
    if not message_id or not sender:
        raise WebhookError(400, "MessageSid and From are required")
    if len(message_id) > MAX_ID or len(sender) > MAX_ID:
        raise WebhookError(400, "MessageSid or From is too long")
    inbound = Inbound(
        channel=CHANNEL,
        user_ref=sender,
        message_id=message_id,
        text=params.get("Body", ""),
        payload=params.get("ButtonPayload") or None,
        location=_location(params),
        media_kind=_media_kind(params),
        lang_hint=None,
    )
    return Parsed(inbound=inbound, followup=_profile(params))


def _location(params: Mapping[str, str]) -> Location | None:
    latitude = _coordinate(params.get("Latitude"), 90.0)
    longitude = _coordinate(params.get("Longitude"), 180.0)
    if latitude is None or longitude is None:
        return None
    return Location(latitude, longitude)


def _coordinate(raw: str | None, bound: float) -> float | None:
    try:
        value = float(raw or "")
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= bound else None


def _media_kind(params: Mapping[str, str]) -> str | None:
    try:
        count = int(params.get("NumMedia", "0") or "0")
    except ValueError:
        return None
    if count <= 0:
        return None
    major, _, minor = params.get("MediaContentType0", "").lower().partition("/")
    if major in ("audio", "image", "video"):
        return major
    if minor in ("vcard", "x-vcard"):
        return "contact"
    return "document"


def _profile(params: Mapping[str, str]) -> dict[str, str]:
    keep = {"profile_name": params.get("ProfileName", ""), "wa_id": params.get("WaId", "")}
    return {key: value for key, value in keep.items() if value}


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery status callback: which message, its new status, Twilio's error code if any."""

    message_sid: str
    status: str  # queued, sent, delivered, read, undelivered, failed (others may appear)
    error_code: int | None = None

    @property
    def failed(self) -> bool:
        """Whether the message will not arrive."""
        return self.status in ("failed", "undelivered")


def parse_status(params: Mapping[str, str]) -> StatusUpdate:
    """A status callback as a `StatusUpdate`; 400 when MessageSid or MessageStatus is missing."""
    message_sid = params.get("MessageSid", "")
    status = params.get("MessageStatus", "").strip().lower()
    if not message_sid or not status:
        raise WebhookError(400, "MessageSid and MessageStatus are required")
    code = params.get("ErrorCode", "").strip()
    return StatusUpdate(
        message_sid, status, int(code) if code.isascii() and code.isdigit() else None
    )
