"""A fake Telegram Bot API server for tests (aiohttp on 127.0.0.1, a free port).

Usage::

    async with FakeTelegram() as fake:
        channel = TelegramChannel("123:ABC", fake.url)   # bot calls {fake.url}/bot{token}/{method}
        ...
        assert fake.calls_to("sendMessage")[0]["text"] == "Hola"

API (kept small on purpose; other test suites use it):
- `url`: the base to configure as PSV_TELEGRAM_API_URL.
- `calls`: every request received, in order, as `(method, params)`. Params merge the query
  string and the body (JSON, form or multipart). Form and multipart values stay strings, except
  that values holding a JSON object or array (`reply_markup`, `allowed_updates`) are decoded;
  uploaded files are `Upload(filename, content_type, content)`.
- `calls_to(method)`: the params of every call to one method.
- `fail_next(status, body=None, method=None, skip=0)`: the next matching request (any method
  when `method` is None, getMe included), after letting `skip` matching ones through, gets this
  HTTP status and body (a JSON object, or raw text; None: a generic error body); queued failures
  are used in order. `fail_next_recorded(name, method=None, skip=0)` does the same with a
  recorded error from tests/fixtures/telegram/bot_api_responses (status = its `error_code`).
- `delay_next(seconds, method=None)`: the next matching request waits that long before its
  answer (to make a client time out); leaving the context ends pending waits at once.
- `reset()`: forget calls and queued failures and delays.

Answers follow the real API's shapes (tests/fixtures/telegram/bot_api_responses): getMe returns
the recorded bot; sendMessage/sendDocument return a Message with message_ids counting up from
100; editMessageReplyMarkup returns a Message; answerCallbackQuery, setWebhook, deleteWebhook,
sendChatAction and setMyCommands return true; an unknown method gets 404. Like Telegram it
refuses (400) an empty or too long text and callback_data over 64 bytes. With
`FakeTelegram(token=...)` any other token gets 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

RESPONSES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram" / "bot_api_responses"
TRUE_METHODS = frozenset(
    {"answerCallbackQuery", "setWebhook", "deleteWebhook", "sendChatAction", "setMyCommands"}
)


def recorded(name: str) -> dict[str, Any]:
    """A recorded Bot API response body, e.g. recorded("error_429_retry_after")."""
    data: dict[str, Any] = json.loads((RESPONSES / f"{name}.json").read_text("utf-8"))
    return data


@dataclass(frozen=True)
class Upload:
    """A file received in a multipart request."""

    filename: str | None
    content_type: str
    content: bytes


@dataclass
class _Planned:
    """A queued failure or delay for the next request to `method` (any when None)."""

    method: str | None
    status: int = 200
    body: Mapping[str, Any] | str | None = None
    delay: float = 0.0
    skip: int = 0

    def matches(self, method: str) -> bool:
        return self.method is None or self.method.lower() == method.lower()


class FakeTelegram:
    """A Bot API server answering like Telegram, recording every call."""

    def __init__(self, *, token: str | None = None) -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.url = ""
        self._failures: list[_Planned] = []
        self._delays: list[_Planned] = []
        self._outage: _Planned | None = None
        self._next_message_id = 100
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.bot_user: dict[str, Any] = recorded("getMe_ok")["result"]

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- test controls

    def fail_next(
        self,
        status: int,
        body: Mapping[str, Any] | str | None = None,
        method: str | None = None,
        skip: int = 0,
    ) -> None:
        """Answer the next matching request (after `skip` of them) with this status and body."""
        self._failures.append(_Planned(method, status, body, skip=skip))

    def fail_next_recorded(self, name: str, method: str | None = None, skip: int = 0) -> None:
        """Answer the next matching request with a recorded error body and its error_code."""
        body = recorded(name)
        self.fail_next(int(body["error_code"]), body, method, skip)

    def delay_next(self, seconds: float, method: str | None = None) -> None:
        """Make the next matching request wait before it is answered."""
        self._delays.append(_Planned(method, delay=seconds))

    def go_down(self, status: int = 500, body: Mapping[str, Any] | str | None = None) -> None:
        """An outage: every request is recorded and answered with this failure until `come_up`."""
        self._outage = _Planned(None, status, body)

    def come_up(self) -> None:
        """The outage is over."""
        self._outage = None

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The params of every call to `method`, in order."""
        return [params for name, params in self.calls if name.lower() == method.lower()]

    def reset(self) -> None:
        """Forget calls, queued failures and delays."""
        self.calls.clear()
        self._failures.clear()
        self._delays.clear()

    # ----------------------------------------------------------------- serving

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        self.calls.append((method, params))
        delay = _take(self._delays, method)
        if delay is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay.delay)
        failure = self._outage or _take(self._failures, method)
        if failure is not None:
            return _failure_response(failure)
        if self.token is not None and request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        return self._answer(method, params)

    def _answer(self, method: str, params: Mapping[str, Any]) -> web.Response:
        if method in TRUE_METHODS:
            return _ok(True)
        if method == "getMe":
            return _ok(self.bot_user)
        if method == "getWebhookInfo":
            return _ok({"url": "", "has_custom_certificate": False, "pending_update_count": 0})
        if method == "sendMessage":
            return self._send_message(params)
        if method == "sendDocument":
            return self._send_document(params)
        if method == "editMessageReplyMarkup":
            return self._edit_reply_markup(params)
        return _error(404, "Not Found")

    def _send_message(self, params: Mapping[str, Any]) -> web.Response:
        text = str(params.get("text", ""))
        problem = _check_chat(params) or _check_text(text) or _check_markup(params)
        if problem:
            return _error(400, f"Bad Request: {problem}")
        return _ok(self._message(params, text=text))

    def _send_document(self, params: Mapping[str, Any]) -> web.Response:
        upload = params.get("document")
        problem = _check_chat(params) or _check_markup(params)
        if problem or not isinstance(upload, Upload):
            return _error(400, f"Bad Request: {problem or 'there is no document in the request'}")
        document = {
            "file_name": upload.filename,
            "mime_type": upload.content_type,
            "file_id": f"BQACAgEAAxkBAAIB{self._next_message_id}",
            "file_unique_id": f"AgADfake{self._next_message_id}",
            "file_size": len(upload.content),
        }
        return _ok(self._message(params, document=document))

    def _edit_reply_markup(self, params: Mapping[str, Any]) -> web.Response:
        problem = _check_chat(params)
        if problem or "message_id" not in params:
            return _error(400, f"Bad Request: {problem or 'message identifier is not specified'}")
        message = self._message(params, message_id=int(params["message_id"]))
        message["edit_date"] = message["date"]
        return _ok(message)

    def _message(
        self, params: Mapping[str, Any], *, message_id: int | None = None, **content: Any
    ) -> dict[str, Any]:
        if message_id is None:
            message_id = self._next_message_id
            self._next_message_id += 1
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "date": int(time.time()),
            **content,
        }
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        return message


# --------------------------------------------------------------------- helpers


async def _params(request: web.Request) -> dict[str, Any]:
    """Query string and body (JSON, form or multipart) as one dict."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            body = {}
        if isinstance(body, dict):
            params.update(body)
        return params
    if request.can_read_body:
        form: MultiDictProxy[Any] = await request.post()
        for key, value in form.items():
            params[key] = _form_value(value)
    return params


def _form_value(value: Any) -> Any:
    """A form value: an Upload for a file, decoded JSON for an object or array, else a string."""
    if isinstance(value, web.FileField):
        return Upload(value.filename, value.content_type, value.file.read())
    text = value.decode("utf-8") if isinstance(value, bytes | bytearray) else str(value)
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _take(queue: list[_Planned], method: str) -> _Planned | None:
    """Remove and return the first queued entry due for method (counting down skips)."""
    for index, planned in enumerate(queue):
        if planned.matches(method):
            if planned.skip > 0:
                planned.skip -= 1
                return None
            return queue.pop(index)
    return None


def _check_chat(params: Mapping[str, Any]) -> str | None:
    chat_id = str(params.get("chat_id", ""))
    if not chat_id:
        return "chat_id is empty"
    if not chat_id.lstrip("-").isdigit():
        return "chat not found"
    return None


def _check_text(text: str) -> str | None:
    if not text.strip():
        return "message text is empty"
    if len(text.encode("utf-16-le")) // 2 > 4096:
        return "message is too long"
    return None


def _check_markup(params: Mapping[str, Any]) -> str | None:
    markup = params.get("reply_markup")
    if not isinstance(markup, dict):
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                return "BUTTON_DATA_INVALID"
            if not button.get("text"):
                return "text buttons are unallowed in the inline keyboard"
    return None


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str) -> web.Response:
    body = {"ok": False, "error_code": status, "description": description}
    return web.json_response(body, status=status)


def _failure_response(failure: _Planned) -> web.Response:
    if isinstance(failure.body, str):
        return web.Response(status=failure.status, text=failure.body)
    if failure.body is None:
        try:
            phrase = HTTPStatus(failure.status).phrase
        except ValueError:
            phrase = "Error"
        return _error(failure.status, phrase)
    return web.json_response(dict(failure.body), status=failure.status)
