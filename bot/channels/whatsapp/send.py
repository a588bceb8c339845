"""WhatsApp messages out through Twilio's Messages API; twilio is transport only.

Options are sent as a numbered list, one page of at most 10 (the person writes "más" for the
next page; numbers count across pages), answered by number or in words as on the console; a
reply with up to three short options goes as quick-reply buttons where a quick-reply Content
template is configured (`PSV_TWILIO_QUICK_REPLIES`). A business-initiated
message outside the 24-hour customer-service window needs an approved template
(ContentSid + ContentVariables); without one `send` answers `Outcome.NEEDS_TEMPLATE`.
Nothing personal (numbers, names, bodies) is ever logged.
"""

from __future__ import annotations

import base64
import json
import logging
import math
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http import AsyncHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from bot.channels.base import Outcome, SendContext, SendResult
from bot.channels.whatsapp.parse import CHANNEL, UNSUBSCRIBED
from bot.messages import Outbound
from core.states import REPLY_KIND

MAX_BODY = 1600  # Twilio's limit for a WhatsApp body, counted here in UTF-16 code units
OPTIONS_PER_MESSAGE = 10
# WhatsApp quick replies sent in session: at most 3 buttons, titles of 20, a body of 1024.
QUICK_REPLY_BUTTONS = 3
QUICK_REPLY_BODY = 1024
BUTTON_TITLE = 20
BUTTON_ID = 200
DEFAULT_API_URL = "https://api.twilio.com"
OUTSIDE_WINDOW = frozenset({63016})  # free-form message outside the 24-hour window

log = logging.getLogger("psv.channels.whatsapp")

# The Retry-After header of the last 429 seen by the HTTP client in this task: twilio's
# exceptions keep no headers. Requests are awaited in the caller's task, so it is visible there.
_retry_after: ContextVar[str | None] = ContextVar("psv_twilio_retry_after", default=None)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


# --- Rendering -------------------------------------------------------------------------------


def render(message: Outbound) -> list[str]:
    """The bodies to send: text and links, then one page of at most 10 numbered options.

    The page starts at `meta["page_from"]` (0 by default); numbers count across pages, so
    "12" means the same option whichever page is shown. When options remain after the page,
    `meta["more_hint"]` (e.g. "Escriba «más» para ver más opciones.") closes the list.
    """
    head = "\n\n".join(part for part in (message.text.strip(), "\n".join(message.links)) if part)
    bodies = split_text(head) if head else []
    page = _option_page(message)
    if page and bodies and _units(bodies[-1]) + 2 + _units(page) <= MAX_BODY:
        bodies[-1] += "\n\n" + page
    elif page:
        bodies += split_text(page)
    return bodies


def _option_page(message: Outbound) -> str:
    labels = [option.label.strip() for option in message.options]
    start = message.meta.get("page_from", 0)
    if not isinstance(start, int) or not 0 <= start < len(labels):
        start = 0
    chunk = labels[start : start + OPTIONS_PER_MESSAGE]
    lines = [f"{start + i}. {label}" for i, label in enumerate(chunk, start=1)]
    following = start + OPTIONS_PER_MESSAGE
    if following < len(labels):
        last = min(following + OPTIONS_PER_MESSAGE, len(labels))
        span = f"{last}" if last == following + 1 else f"{following + 1}-{last}"
        hint = str(message.meta.get("more_hint") or "…")
        lines.append(f"{hint} ({span})")
    return "\n".join(lines)


def split_text(text: str, limit: int = MAX_BODY) -> list[str]:
    """Split text into pieces of at most `limit` units, at a paragraph, line or word if any."""
    pieces = []
    rest = text
    while _units(rest) > limit:
        fit = _fitting_prefix(rest, limit)
        cut = _best_cut(rest[:fit])
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        pieces.append(rest)
    return [piece for piece in pieces if piece]


def _best_cut(prefix: str) -> int:
    for separator in ("\n\n", "\n", " "):
        at = prefix.rfind(separator)
        if at > 0:
            return at + len(separator)
    return len(prefix)


def _fitting_prefix(text: str, limit: int) -> int:
    used = 0
    for index, char in enumerate(text):
        used += _units(char)
        if used > limit:
            return max(index, 1)
    return len(text)


def _units(text: str) -> int:
    """Length in UTF-16 code units (an emoji outside the BMP counts 2), as Twilio counts."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


# --- Sending ---------------------------------------------------------------------------------


class _AiohttpTransport(AsyncHttpClient):  # type: ignore[misc]
    """twilio's async HTTP client seam: one lazy aiohttp session, a real timeout, no logging.

    twilio's own AsyncTwilioHttpClient ignores its timeout (twilio-python #925), makes its
    session outside the event loop and logs every request; this one does none of that.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__(log, True, timeout)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        uri: str,
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (twilio's HttpClient interface)
        allow_redirects: bool = False,
    ) -> Any:
        """Make one HTTP request and answer it as a twilio `Response`."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        async with self._session.request(
            method.upper(),
            uri,
            params=_form(params),
            data=_form(data),
            headers=_with_auth(headers, auth),
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            text = await response.text()
            if response.status == 429:
                _retry_after.set(response.headers.get("Retry-After"))
            return Response(response.status, text, response.headers)

    async def close(self) -> None:
        """Close the session, if one was opened."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _with_auth(headers: Mapping[str, str] | None, auth: tuple[str, str] | None) -> dict[str, str]:
    """Headers with HTTP Basic auth (aiohttp's `auth=` parameter is deprecated)."""
    merged = dict(headers or {})
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
        merged["Authorization"] = f"Basic {token}"
    return merged


def _form(values: Mapping[str, object] | None) -> list[tuple[str, str]] | None:
    if values is None:
        return None
    pairs = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, str(item)))
    return pairs


class WhatsAppChannel:
    """Sends `Outbound`s over WhatsApp with Twilio's Messages API."""

    name = CHANNEL

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_: str,
        api_url: str = DEFAULT_API_URL,
        *,
        templates: Mapping[str, str] | None = None,
        quick_replies: Mapping[str, str] | None = None,
        window: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utcnow,
        status_callback: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._from = _whatsapp(from_)
        self._templates = dict(templates or {})
        self._quick_replies = dict(quick_replies or {})
        self._window = window
        self._clock = clock
        self._status_callback = status_callback
        self._transport = _AiohttpTransport(timeout)
        self._client = Client(account_sid, auth_token, http_client=self._transport)
        self._client.edge = None  # ignore TWILIO_EDGE / TWILIO_REGION from the environment
        self._client.region = None
        self._client.api.base_url = api_url.rstrip("/")  # {base}/2010-04-01/Accounts/...

    async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
        """Deliver one message: a template outside the 24-hour window, else plain bodies."""
        to = _whatsapp(address)
        if self.outside_window(context):
            name = context.template or ""
            # "psv_appointment_reminder.en": that language's template, else the plain name's.
            content_sid = self._templates.get(name) or self._templates.get(name.split(".")[0])
            if content_sid is None:
                return SendResult(
                    Outcome.NEEDS_TEMPLATE,
                    error=f"outside the 24-hour window; no template configured "
                    f"for {context.template!r}",
                )
            variables = json.dumps(dict(context.template_vars), ensure_ascii=False)
            return await self._send_all(
                to, [{"content_sid": content_sid, "content_variables": variables}]
            )
        buttons = self._quick_reply(message)
        if buttons is not None:
            return await self._send_all(to, [buttons])
        bodies = render(message)
        if not bodies:
            return SendResult(Outcome.PERMANENT, error="nothing to send")
        parts = [{"body": body} for body in bodies]
        if context.parts_sent >= len(parts):
            return SendResult(Outcome.SENT)  # every part went out on earlier attempts
        return await self._send_all(to, parts[context.parts_sent :])

    def _quick_reply(self, message: Outbound) -> dict[str, str] | None:
        """Content fields for quick-reply buttons, when a template fits this message."""
        content_sid = self._quick_replies.get(str(len(message.options)))
        body = "\n\n".join(p for p in (message.text.strip(), "\n".join(message.links)) if p)
        fits = (
            content_sid is not None
            and 0 < len(message.options) <= QUICK_REPLY_BUTTONS
            and 0 < len(body) <= QUICK_REPLY_BODY
            and all(
                0 < len(o.label.strip()) <= BUTTON_TITLE and len(o.payload) <= BUTTON_ID
                for o in message.options
            )
        )
        if not fits or content_sid is None:
            return None
        variables = {"1": body}
        for n, option in enumerate(message.options):
            variables[str(2 * n + 2)] = option.label.strip()
            variables[str(2 * n + 3)] = option.payload
        return {
            "content_sid": content_sid,
            "content_variables": json.dumps(variables, ensure_ascii=False),
        }

    def outside_window(self, context: SendContext) -> bool:
        """Whether a send is business-initiated outside the customer-service window."""
        if context.kind == REPLY_KIND:
            return False
        last = context.last_inbound_at
        if last is None:
            return True
        if last.tzinfo is None:  # stored naive in UTC (SQLite)
            last = last.replace(tzinfo=UTC)
        return self._clock() - last >= self._window

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._transport.close()

    async def _send_all(self, to: str, parts: list[dict[str, str]]) -> SendResult:
        sids: list[str] = []
        for part in parts:
            result = await self._create(to, part)
            if result.outcome is not Outcome.SENT:
                # The worker keeps the ids of the parts sent: the retry skips them.
                return SendResult(
                    result.outcome,
                    provider_ids=tuple(sids),
                    retry_after=result.retry_after,
                    error=result.error,
                    unreachable=result.unreachable,
                )
            sids += result.provider_ids
        return SendResult(Outcome.SENT, provider_ids=tuple(sids))

    async def _create(self, to: str, fields: Mapping[str, str]) -> SendResult:
        _retry_after.set(None)
        extra = {"status_callback": self._status_callback} if self._status_callback else {}
        try:
            created = await self._client.messages.create_async(
                to=to, from_=self._from, **extra, **fields
            )
        except (TwilioRestException, TwilioServiceException) as error:
            return self._refused(int(error.status), _code(error))
        except TimeoutError:
            log.warning("whatsapp send timed out")
            return SendResult(Outcome.RETRY, error="timeout")
        except aiohttp.ClientError as error:
            log.warning("whatsapp send failed to connect: %s", type(error).__name__)
            return SendResult(Outcome.RETRY, error=f"connection error: {type(error).__name__}")
        return SendResult(Outcome.SENT, provider_ids=(str(created.sid),))

    def _refused(self, status: int, code: int | None) -> SendResult:
        """Map a Twilio error answer to an outcome; the error text carries no personal data."""
        error = f"twilio HTTP {status}, code {code}"
        log.warning("whatsapp send refused: HTTP %s, code %s", status, code)
        if status == 429:
            return SendResult(Outcome.RETRY, retry_after=self._retry_after(), error=error)
        if code == UNSUBSCRIBED:
            return SendResult(Outcome.PERMANENT, error=error, unreachable=True)
        if code in OUTSIDE_WINDOW or 400 <= status < 500:
            return SendResult(Outcome.PERMANENT, error=error)
        return SendResult(Outcome.RETRY, error=error)

    def _retry_after(self) -> float | None:
        raw = (_retry_after.get() or "").strip()
        if not raw:
            return None
        try:
            seconds = float(raw)
        except ValueError:
            try:
                seconds = (parsedate_to_datetime(raw) - self._clock()).total_seconds()
            except (TypeError, ValueError):
                return None
        return max(seconds, 0.0) if math.isfinite(seconds) else None


def _code(error: Any) -> int | None:
    try:
        return int(error.code)
    except (TypeError, ValueError):
        return None


def _whatsapp(address: str) -> str:
    return address if address.startswith("whatsapp:") else f"whatsapp:{address}"
