"""A fake Twilio REST API: just enough of `POST .../Messages.json` for channel and e2e tests.

    async with FakeTwilio() as fake:
        channel = WhatsAppChannel(fake.account_sid, fake.auth_token, SENDER, fake.url)
        fake.fail_next(429, headers={"Retry-After": "3"})  # the next request fails so
        fake.fail_next(500, after=1)  # then one succeeds, and the one after fails
        fake.delay_next(2.0)  # the next request answers late
        ...
        fake.calls        # form parameters of every authenticated Messages.json request

It listens on 127.0.0.1 at a free port and answers:
- `POST /2010-04-01/Accounts/{sid}/Messages.json`: 201 with a Message resource shaped like
  `tests/fixtures/twilio/rest_responses/message_create_201.json` (SIDs SM000...001, ...002, ...),
  or the next queued failure;
- 401 (code 20003) when HTTP Basic auth is not `account_sid:auth_token`;
- 404 (code 20404) for another account or path.
Bodies are Twilio's error shape `{code, message, more_info, status}`.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hmac
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import hdrs, web

RESPONSES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio" / "rest_responses"
ACCOUNT_SID = "AC8e05c1c8f257c0d4c623092e5f711c02"
AUTH_TOKEN = "fake-twilio-auth-token"


def load(name: str) -> dict[str, Any]:
    """A recorded REST response body from tests/fixtures/twilio/rest_responses/."""
    data: dict[str, Any] = json.loads((RESPONSES / name).read_text(encoding="utf-8"))
    return data


MESSAGE_CREATED = load("message_create_201.json")
ERROR_429 = load("error_429.json")
ERROR_21610 = load("error_21610_unsubscribed.json")


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    """A Twilio error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass
class _Answer:
    status: int
    body: Mapping[str, Any] | str
    headers: Mapping[str, str] = field(default_factory=dict)


class FakeTwilio:
    """A Twilio REST server on 127.0.0.1; use as `async with FakeTwilio() as fake`."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.url = ""  # e.g. http://127.0.0.1:54321, set on entry: give it as the API base URL
        self.calls: list[dict[str, str]] = []  # form params of each authenticated request
        self.unauthorized = 0  # requests refused with 401
        self._failures: deque[_Answer | None] = deque()  # None: answer normally
        self._delays: deque[float] = deque()
        self._count = 0
        self._runner: web.AppRunner | None = None

    def fail_next(
        self,
        status: int,
        body: Mapping[str, Any] | str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next request (or the one `after` more) with `status` and `body`.

        `body` defaults to ERROR_429 for 429, else a generic error; calls queue up in order.
        """
        if body is None:
            body = ERROR_429 if status == 429 else error_body(status, status, "Fake failure")
        self._failures.extend([None] * after)
        self._failures.append(_Answer(status, body, dict(headers or {})))

    def delay_next(self, seconds: float) -> None:
        """Wait `seconds` before answering the next request."""
        self._delays.append(seconds)

    async def __aenter__(self) -> FakeTwilio:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
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
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            self.unauthorized += 1
            return _json(401, error_body(401, 20003, "Authenticate"))
        if request.match_info["sid"] != self.account_sid:
            return _json(404, error_body(404, 20404, "The requested resource was not found"))
        form = await request.post()
        self.calls.append({key: str(value) for key, value in form.items()})
        if not (form.get("Body") or form.get("ContentSid") or form.get("MediaUrl")):
            message = "A text message body or media URL must be specified."
            return _json(400, error_body(400, 21619, message))
        if self._delays:
            await asyncio.sleep(self._delays.popleft())
        answer = self._failures.popleft() if self._failures else None
        if answer is not None:
            return _json(answer.status, answer.body, answer.headers)
        return _json(201, self._message(self.calls[-1]))

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        try:
            credentials = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            return False
        expected = f"{self.account_sid}:{self.auth_token}"
        return scheme.lower() == "basic" and hmac.compare_digest(credentials, expected)

    def _message(self, form: Mapping[str, str]) -> dict[str, Any]:
        self._count += 1
        sid = f"SM{self._count:032x}"
        message = copy.deepcopy(MESSAGE_CREATED)
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        message.update(
            sid=sid,
            account_sid=self.account_sid,
            body=form.get("Body", ""),
            to=form.get("To", ""),
            uri=f"{base}.json",
            subresource_uris={"media": f"{base}/Media.json"},
        )
        message["from"] = form.get("From", "")
        return message


def _json(
    status: int, body: Mapping[str, Any] | str, headers: Mapping[str, str] | None = None
) -> web.Response:
    if isinstance(body, str):
        return web.Response(status=status, text=body, content_type="text/plain", headers=headers)
    text = json.dumps(body, ensure_ascii=False)
    return web.Response(status=status, text=text, content_type="application/json", headers=headers)
