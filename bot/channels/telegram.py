"""Telegram: webhook parsing and sending, with python-telegram-bot as transport only.

Inbound: `check_secret` authenticates a webhook request and `parse_update` turns its body into
a `Parsed` (an `Inbound`, or nothing to handle, plus follow-ups). The bot serves private chats
only; edited messages, channel posts, group messages and other update kinds are acknowledged
and ignored. Parsing works on the raw JSON, so unknown fields never break it.

Outbound: `TelegramChannel.send` renders an `Outbound` as one or more text messages (split
under Telegram's 4096-character limit), options as an inline keyboard on the last text
message, links appended to the text and an attachment sent as a document after the text.
Errors come back in the small vocabulary of `SendResult`; nothing is raised for an error of
the platform.

Follow-ups (`Parsed.followup`) the server hands back after answering the webhook:
- `callback_query_id` (and, when known, `chat_id` and `message_id`): call `acknowledge`,
  which answers the button tap and removes the old keyboard;
- `blocked` / `unblocked`: the chat id of a person who blocked (or unblocked) the bot.

Nothing here logs message texts, names, phone numbers, chat ids or the bot token.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import re
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final, TypeGuard

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import Outcome, Parsed, SendContext, SendResult, WebhookError
from bot.messages import Attachment, Inbound, Location, Option, Outbound

CHANNEL: Final = "telegram"

# Telegram takes up to 4096 characters (UTF-16 code units) per text; keep a margin.
CHUNK_LIMIT: Final = 4000
CALLBACK_DATA_LIMIT: Final = 64  # bytes of UTF-8
BUTTON_LABEL_LIMIT: Final = 60  # characters shown on a button
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
_CHAT_ID_RE: Final = re.compile(r"^-?[0-9]{1,20}$")
_NOT_MODIFIED: Final = ("message is not modified", "message to edit not found")

log = logging.getLogger(__name__)

# One Telegram message to send: given the chat id, sends it and returns Telegram's Message.
_Part = Callable[[int | str], Awaitable[Message]]


class TelegramStartError(RuntimeError):
    """The Bot API refused the configured token (the message names the setting, not the token)."""


# --------------------------------------------------------------------------- webhook side


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


# --------------------------------------------------------------------------- rendering


def render_text(message: Outbound) -> str:
    """The text of a message with its links appended, one per line."""
    text = message.text.strip()
    links = "\n".join(link.strip() for link in message.links if link.strip())
    return f"{text}\n\n{links}".strip() if links else text


def split_text(text: str, limit: int = CHUNK_LIMIT) -> list[str]:
    """Split text into chunks of at most `limit` UTF-16 units, at paragraph, line or word ends."""
    chunks: list[str] = []
    rest = text.strip()
    while _utf16_len(rest) > limit:
        cut = _cut_point(rest, _prefix_len(rest, limit))
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _prefix_len(text: str, limit: int) -> int:
    """How many code points of text fit in `limit` UTF-16 units."""
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _cut_point(text: str, window: int) -> int:
    """Where to cut text within its first `window` code points; keep chunks long and words whole."""
    head = text[:window]
    for separator in ("\n\n", "\n"):
        at = head.rfind(separator)
        if at >= window // 2:
            return at + len(separator)
    at = max(head.rfind(" "), head.rfind("\t"))
    if at > 0:
        return at + 1
    return max(window, 1)


def callback_data(option: Option, index: int) -> str:
    """The option's payload when it fits in 64 bytes of UTF-8, else "#N" (N counts from 1)."""
    size = len(option.payload.encode("utf-8"))
    return option.payload if 0 < size <= CALLBACK_DATA_LIMIT else f"#{index}"


def keyboard(options: Sequence[Option]) -> InlineKeyboardMarkup | None:
    """Options as an inline keyboard, one button per row."""
    if not options:
        return None
    rows = [
        [InlineKeyboardButton(_label(option, n), callback_data=callback_data(option, n))]
        for n, option in enumerate(options, start=1)
    ]
    return InlineKeyboardMarkup(rows)


def _label(option: Option, index: int) -> str:
    """A one-line button label of at most BUTTON_LABEL_LIMIT characters."""
    label = " ".join(option.label.split()) or option.payload.strip() or str(index)
    if len(label) > BUTTON_LABEL_LIMIT:
        label = label[: BUTTON_LABEL_LIMIT - 1].rstrip() + "…"
    return label


def _chat_id(address: str) -> int | str:
    """A numeric chat id as an int (Telegram accepts both)."""
    return int(address) if _CHAT_ID_RE.match(address) else address


# --------------------------------------------------------------------------- sending


class TelegramChannel:
    """The Telegram Bot API as a PSV channel (python-telegram-bot's Bot as HTTP client)."""

    name = CHANNEL

    def __init__(
        self, token: str, api_url: str, *, timeout: float = 10.0, pool_size: int = 16
    ) -> None:
        base = api_url.rstrip("/")
        self._token = token
        self._request = HTTPXRequest(
            connection_pool_size=pool_size,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
        )
        self._bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=self._request,
        )
        self._started = False
        self._start_lock = asyncio.Lock()
        quiet_transport_loggers()

    @property
    def bot(self) -> Bot:
        """The underlying python-telegram-bot Bot (transport only)."""
        return self._bot

    async def start(self) -> None:
        """Open connections and check the token (getMe); TelegramStartError if it is refused."""
        async with self._start_lock:
            if self._started:
                return
            try:
                await self._bot.initialize()
            except InvalidToken:
                raise TelegramStartError(
                    "PSV_TELEGRAM_TOKEN was refused by the Telegram Bot API"
                ) from None
            self._started = True

    async def close(self) -> None:
        """Release connections (the channel starts again on the next use)."""
        async with self._start_lock:
            await self._bot.shutdown()
            self._started = False

    async def set_webhook(self, url: str, secret: str) -> None:
        """Register the webhook URL and its secret token with Telegram."""
        await self.start()
        await self._bot.set_webhook(
            url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
        )

    async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
        """Send text chunks, options and attachment; a failed part ends the send (see notes).

        Partial sends: when a later part fails after earlier ones went out, the result has the
        failure's outcome, the ids of the parts sent now in `provider_ids`, and `error`
        starting with "sent N of M parts"; the retry skips `context.parts_sent` parts.
        """
        parts = self._parts(message)
        if not parts:
            return SendResult(Outcome.PERMANENT, error="empty message")
        if context.parts_sent >= len(parts):
            return SendResult(Outcome.SENT)  # every part went out on earlier attempts
        parts = parts[context.parts_sent :]
        sent: list[str] = []
        try:
            await self.start()
            for send_part in parts:
                sent.append(str((await send_part(_chat_id(address))).message_id))
        except TelegramStartError as exc:
            return SendResult(Outcome.RETRY, tuple(sent), error=str(exc))
        except TelegramError as exc:
            return _failure(exc, sent, len(parts), self._token)
        return SendResult(Outcome.SENT, tuple(sent))

    def _parts(self, message: Outbound) -> list[_Part]:
        """One coroutine factory per Telegram message to send, in order."""
        chunks = split_text(render_text(message))
        markup = keyboard(message.options)
        if markup is not None and not chunks and message.attachment is None:
            chunks = ["…"]
        parts: list[_Part] = []
        for n, chunk in enumerate(chunks, start=1):
            last_markup = markup if n == len(chunks) else None
            parts.append(self._text_part(chunk, last_markup))
        if message.attachment is not None:
            parts.append(self._document_part(message.attachment, None if chunks else markup))
        return parts

    def _text_part(self, text: str, markup: InlineKeyboardMarkup | None) -> _Part:
        """A sender of one text message."""

        async def send(chat_id: int | str) -> Message:
            return await self._bot.send_message(chat_id, text, reply_markup=markup)

        return send

    def _document_part(self, attachment: Attachment, markup: InlineKeyboardMarkup | None) -> _Part:
        """A sender of one document (the attachment's text content, UTF-8 encoded)."""

        async def send(chat_id: int | str) -> Message:
            document = InputFile(attachment.content.encode("utf-8"), filename=attachment.filename)
            document.mimetype = attachment.mime_type or document.mimetype
            return await self._bot.send_document(chat_id, document, reply_markup=markup)

        return send

    async def acknowledge(self, followup: Mapping[str, Any]) -> None:
        """Answer a button tap and remove that message's keyboard; never raises for the API."""
        callback_id = followup.get("callback_query_id")
        if not callback_id:
            return
        try:
            await self.start()
        except (TelegramStartError, TelegramError) as exc:
            log.warning("telegram callback not answered: %s", _describe(exc, self._token))
            return
        await self._answer_callback(str(callback_id))
        chat_id, message_id = followup.get("chat_id"), followup.get("message_id")
        if chat_id is not None and message_id is not None:
            await self._remove_keyboard(str(chat_id), message_id)

    async def _answer_callback(self, callback_id: str) -> None:
        """answerCallbackQuery, so the person's client stops showing a progress indicator."""
        try:
            await self._bot.answer_callback_query(callback_id)
        except TelegramError as exc:  # e.g. "query is too old": nothing left to do
            log.warning("telegram answerCallbackQuery failed: %s", _describe(exc, self._token))

    async def _remove_keyboard(self, chat_id: str, message_id: Any) -> None:
        """editMessageReplyMarkup without markup, so old buttons cannot be pressed twice."""
        try:
            await self._bot.edit_message_reply_markup(
                chat_id=_chat_id(chat_id), message_id=int(message_id), reply_markup=None
            )
        except BadRequest as exc:
            if any(text in exc.message.lower() for text in _NOT_MODIFIED):
                return  # already without keyboard, or deleted: the goal is met
            log.warning("telegram editMessageReplyMarkup failed: %s", _describe(exc, self._token))
        except (TelegramError, ValueError) as exc:
            log.warning("telegram editMessageReplyMarkup failed: %s", _describe(exc, self._token))


def _failure(exc: TelegramError, sent: Sequence[str], total: int, token: str) -> SendResult:
    """A SendResult for an API error, noting how many parts went out before it."""
    outcome, unreachable, retry_after = _classify(exc)
    error = _describe(exc, token)
    if sent:
        error = f"sent {len(sent)} of {total} parts; {error}"
    return SendResult(
        outcome,
        tuple(sent),
        retry_after=retry_after,
        error=error,
        unreachable=unreachable,
    )


def _classify(exc: TelegramError) -> tuple[Outcome, bool, float | None]:
    """Outcome, unreachable flag and retry delay for a python-telegram-bot error."""
    if isinstance(exc, RetryAfter):
        return Outcome.RETRY, False, _retry_after_seconds(exc)
    if isinstance(exc, Forbidden):  # blocked by the user, user deactivated, never started
        return Outcome.PERMANENT, True, None
    if isinstance(exc, BadRequest):
        return Outcome.PERMANENT, "chat not found" in exc.message.lower(), None
    if isinstance(exc, ChatMigrated):
        return Outcome.PERMANENT, False, None
    # TimedOut, NetworkError (5xx, 429 without retry_after, connection errors), InvalidToken
    # (a configuration problem: keep the message until the token is fixed) and the rest.
    return Outcome.RETRY, False, None


def _retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter's delay in seconds, whichever type this PTB version returns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _describe(exc: Exception, token: str) -> str:
    """A short error description for logs and the outbox, without the bot token."""
    text = f"{type(exc).__name__}: {exc}"
    if token:
        text = text.replace(token, "<token>")
    return text[:300]


def quiet_transport_loggers() -> None:
    """Keep httpx (URLs with the token) and PTB debug logs (message contents) out of logs.

    Only loggers left unconfigured (level NOTSET) are changed, so an explicit setting wins.
    """
    for name, level in (("httpx", logging.WARNING), ("telegram", logging.INFO)):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
