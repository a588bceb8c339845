"""Telegram webhooks in: authenticate a request and turn its update into a `Parsed`.

`check_secret` authenticates a webhook request and `parse_update` turns its body into a
`Parsed` (an `Inbound`, or nothing to handle, plus follow-ups). The bot serves private chats
only; edited messages, channel posts, group messages and other update kinds are acknowledged
and ignored. Parsing works on the raw JSON, so unknown fields never break it.

Follow-ups (`Parsed.followup`) the webhook hands back after answering:
- `callback_query_id` (and, when known, `chat_id` and `message_id`): the channel's
  `acknowledge` answers the button tap and removes the old keyboard;
- `blocked` / `unblocked`: the chat id of a person who blocked (or unblocked) the bot.

Nothing here logs message texts, names, phone numbers or chat ids.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final, TypeGuard

from bot.channels.base import Parsed, WebhookError
from bot.messages import Inbound, Location

CHANNEL: Final = "telegram"
ALLOWED_UPDATES: Final = ("message", "callback_query", "my_chat_member")
# Message contents reported as `media_kind` (animation before document: a GIF carries both).
MEDIA_KINDS: Final = (
    "voice",
    "audio",
    "photo",
    "video",
    "video_note",
    "animation",
    "document",
    "sticker",
)

_START_RE: Final = re.compile(r"^/start(?:@\w+)?(?:\s+(?P<payload>\S.*))?$", re.DOTALL)
_START_PAYLOAD_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_INDEX_DATA_RE: Final = re.compile(r"^#([1-9][0-9]{0,3})$")

log = logging.getLogger("psv.channels.telegram")


def check_secret(header: str | None, secret: str) -> None:
    """Refuse (401) a webhook whose X-Telegram-Bot-Api-Secret-Token is missing or wrong."""
    if not header:
        raise WebhookError(401, "missing secret token")
    if not hmac.compare_digest(header.encode("utf-8"), secret.encode("utf-8")):
        raise WebhookError(401, "wrong secret token")


def parse_update(body: bytes) -> Parsed:
    """Turn a webhook body into a Parsed; raise WebhookError(400) when it is malformed."""
    update = _load_update(body)
    update_id = update["update_id"]
    message = _dict(update, "message")
    if message is not None:
        return _parse_message(update_id, message)
    callback = _dict(update, "callback_query")
    if callback is not None:
        return _parse_callback(update_id, callback)
    member = _dict(update, "my_chat_member")
    if member is not None:
        return _parse_member(member)
    kind = next((key for key in update if key != "update_id"), "none")
    log.debug("telegram update ignored: kind=%s", kind[:40])
    return Parsed(None)


def _load_update(body: bytes) -> dict[str, Any]:
    """The update as a dict with an integer update_id, or WebhookError(400)."""
    try:
        update = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, too deeply nested
        raise WebhookError(400, "body is not JSON") from None
    if not isinstance(update, dict):
        raise WebhookError(400, "body is not a JSON object")
    if not _is_int(update.get("update_id")):
        raise WebhookError(400, "update_id missing or not an integer")
    return update


def _parse_message(update_id: int, message: Mapping[str, Any]) -> Parsed:
    """A private-chat message as an Inbound; anything else ignored."""
    chat_id = _private_chat_id(message)
    if chat_id is None:
        log.debug("telegram message ignored: not a private chat")
        return Parsed(None)
    sender = _dict(message, "from") or {}
    if sender.get("is_bot") is True:
        # Only people are citizens: another bot's message opens no conversation.
        log.debug("telegram message ignored: sent by a bot")
        return Parsed(None)
    inbound = Inbound(
        channel=CHANNEL,
        user_ref=str(chat_id),
        message_id=str(update_id),
        lang_hint=_lang(sender),
    )
    content = _message_content(message, sender)
    if content is None:
        log.debug("telegram message ignored: no content the bot understands")
        return Parsed(None)
    return Parsed(replace(inbound, **content))


def _message_content(
    message: Mapping[str, Any], sender: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The Inbound fields a message carries (text, location, contact, media), or None."""
    text = _str(message, "text")
    if text is not None:
        return _text_content(text)
    location = _location(_dict(message, "location"))
    if location is not None:
        return {"location": location}
    contact = _dict(message, "contact")
    if contact is not None:
        return _contact_content(contact, sender)
    for kind in MEDIA_KINDS:
        if message.get(kind):
            return {"media_kind": kind, "text": _str(message, "caption") or ""}
    return None


def _text_content(text: str) -> dict[str, Any]:
    """Text, with `/start PAYLOAD` (a deep link) split into "/start" and its payload."""
    match = _START_RE.match(text.strip())
    if match is None:
        return {"text": text}
    payload = (match.group("payload") or "").strip()
    start_param = payload if _START_PAYLOAD_RE.match(payload) else None
    return {"text": "/start", "start_param": start_param}


def _contact_content(contact: Mapping[str, Any], sender: Mapping[str, Any]) -> dict[str, Any]:
    """The person's own phone number; someone else's contact is only a kind of media."""
    own = _is_int(contact.get("user_id")) and contact.get("user_id") == sender.get("id")
    phone = _normalise_phone(_str(contact, "phone_number")) if own else None
    if phone is None:
        return {"media_kind": "contact"}
    return {"contact_phone": phone}


def _parse_callback(update_id: int, callback: Mapping[str, Any]) -> Parsed:
    """A tap on an inline button: an Inbound with its payload, and a follow-up to answer it."""
    callback_id = _str(callback, "id")
    if not callback_id:
        return Parsed(None)
    sender = _dict(callback, "from") or {}
    message = _dict(callback, "message")
    followup: dict[str, Any] = {"callback_query_id": callback_id}
    if sender.get("is_bot") is True:
        log.debug("telegram button ignored: pressed by a bot")
        return Parsed(None)
    chat_id = _callback_chat_id(message, sender)
    if message is not None and chat_id is not None and _is_accessible(message):
        message_id = message.get("message_id")
        if _is_int(message_id):
            followup.update(chat_id=str(chat_id), message_id=message_id)
    data = _str(callback, "data")
    if chat_id is None or data is None:
        return Parsed(None, followup=followup)
    index = _INDEX_DATA_RE.match(data)
    inbound = Inbound(
        channel=CHANNEL,
        user_ref=str(chat_id),
        message_id=str(update_id),
        text=index.group(1) if index else "",
        payload=None if index else data,
        lang_hint=_lang(sender),
    )
    return Parsed(inbound, followup=followup)


def _callback_chat_id(message: Mapping[str, Any] | None, sender: Mapping[str, Any]) -> int | None:
    """The private chat a callback came from (the sender's id when the message is unknown)."""
    if message is not None and _dict(message, "chat") is not None:
        return _private_chat_id(message)
    sender_id = sender.get("id")
    return sender_id if _is_int(sender_id) and sender_id > 0 else None


def _parse_member(member: Mapping[str, Any]) -> Parsed:
    """The person blocked (status "kicked") or unblocked the bot in a private chat."""
    chat_id = _private_chat_id(member)
    if chat_id is None:
        return Parsed(None)
    new = _str(_dict(member, "new_chat_member") or {}, "status")
    old = _str(_dict(member, "old_chat_member") or {}, "status")
    if new == "kicked":
        return Parsed(None, followup={"blocked": str(chat_id)})
    if new == "member" and old == "kicked":
        return Parsed(None, followup={"unblocked": str(chat_id)})
    return Parsed(None)


# --------------------------------------------------------------------------- raw JSON helpers


def _is_int(value: Any) -> TypeGuard[int]:
    """True for a JSON integer within Telegram's signed 64-bit ids (bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _dict(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """The object under key, or None when absent or not an object."""
    value = data.get(key)
    return value if isinstance(value, dict) else None


def _str(data: Mapping[str, Any], key: str) -> str | None:
    """The cleaned string under key, or None when absent or not a string."""
    value = data.get(key)
    return _clean(value) if isinstance(value, str) else None


def _clean(text: str) -> str:
    """Text safe to store: no NUL characters, no lone UTF-16 surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _private_chat_id(data: Mapping[str, Any]) -> int | None:
    """The chat id when data's chat is a private chat, else None."""
    chat = _dict(data, "chat") or {}
    chat_id = chat.get("id")
    if chat.get("type") != "private" or not _is_int(chat_id):
        return None
    return chat_id


def _is_accessible(message: Mapping[str, Any]) -> bool:
    """False for an InaccessibleMessage (date 0): it cannot be edited any more."""
    date = message.get("date")
    return _is_int(date) and date != 0


def _lang(sender: Mapping[str, Any]) -> str | None:
    """The sender's language code (a hint only)."""
    code = _str(sender, "language_code")
    return code[:16] if code else None


def _location(data: Mapping[str, Any] | None) -> Location | None:
    """A Location from a Telegram location object with sane coordinates."""
    if data is None:
        return None
    lat, lon = _number(data.get("latitude")), _number(data.get("longitude"))
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    return Location(lat, lon)


def _number(value: Any) -> float | None:
    """A JSON number as a float, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _normalise_phone(phone: str | None) -> str | None:
    """A phone number as "+" and digits (some clients omit the "+"), or None."""
    if not phone:
        return None
    digits = re.sub(r"[\s().-]", "", phone).removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or not 6 <= len(digits) <= 15:
        return None
    return "+" + digits
