"""Telegram messages out, with python-telegram-bot as transport only.

`TelegramChannel.send` renders an `Outbound` as one or more text messages (split under
Telegram's 4096-character limit), options as an inline keyboard on the last text message,
links appended to the text and an attachment sent as a document after the text. Errors come
back in the small vocabulary of `SendResult`; nothing is raised for an error of the platform.

Nothing here logs message texts, names, phone numbers, chat ids or the bot token.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

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

from bot.channels.base import Outcome, SendContext, SendResult
from bot.channels.telegram.parse import ALLOWED_UPDATES, CHANNEL
from bot.messages import Attachment, Option, Outbound

# Telegram takes up to 4096 characters (UTF-16 code units) per text; keep a margin.
CHUNK_LIMIT: Final = 4000
CALLBACK_DATA_LIMIT: Final = 64  # bytes of UTF-8
BUTTON_LABEL_LIMIT: Final = 60  # characters shown on a button

_CHAT_ID_RE: Final = re.compile(r"^-?[0-9]{1,20}$")
_NOT_MODIFIED: Final = ("message is not modified", "message to edit not found")

log = logging.getLogger("psv.channels.telegram")

# One Telegram message to send: given the chat id, sends it and returns Telegram's Message.
_Part = Callable[[int | str], Awaitable[Message]]


class TelegramStartError(RuntimeError):
    """The Bot API refused the configured token (the message names the setting, not the token)."""


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
