"""The real `psv serve` in a subprocess, against fake Telegram and Twilio APIs on loopback."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from twilio.request_validator import RequestValidator

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

PSV = str(Path(sys.executable).with_name("psv"))
TG_TOKEN = "123456:E2E-token"
TG_SECRET = "e2e-secret"
TW_SID = "AC" + "1" * 32
TW_TOKEN = "e2e-auth-token"
TW_FROM = "whatsapp:+14155238886"
_ids = itertools.count(int(time.time()) % 100000 * 1000)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """Fake platforms plus one `psv serve` process; restartable to test crashes."""

    def __init__(self, tmp: Path, database_url: str | None = None, psv: str = PSV) -> None:
        self.tmp = tmp
        self.psv = psv
        self.port = free_port()
        self.database_url = database_url or f"sqlite+aiosqlite:///{tmp / 'psv.db'}"
        self.telegram = FakeTelegram()
        self.twilio = FakeTwilio(account_sid=TW_SID, auth_token=TW_TOKEN)
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_env: dict[str, str] = {}
        self.serve_args: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("PSV_") and k != "PYTHONPATH"
        }
        env.update(
            PSV_DATABASE_URL=self.database_url,
            PSV_PUBLIC_URL=self.base,
            PSV_TELEGRAM_TOKEN=TG_TOKEN,
            PSV_TELEGRAM_SECRET=TG_SECRET,
            PSV_TELEGRAM_API_URL=self.telegram.url,
            PSV_TWILIO_ACCOUNT_SID=TW_SID,
            PSV_TWILIO_AUTH_TOKEN=TW_TOKEN,
            PSV_TWILIO_WHATSAPP_FROM=TW_FROM,
            PSV_TWILIO_API_URL=self.twilio.url,
        )
        env.update(self.extra_env)
        return env

    async def __aenter__(self) -> Stack:
        await self.telegram.__aenter__()
        await self.twilio.__aenter__()
        for command in (["db", "upgrade"], ["seed", "--demo"]):
            done = subprocess.run(
                [self.psv, *command], env=self.env(), cwd=self.tmp, capture_output=True, timeout=300
            )
            assert done.returncode == 0, done.stderr.decode()
        await self.start()
        return self

    async def start(self) -> None:
        """Start (or restart) the server and wait until it is healthy."""
        log = (self.tmp / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [self.psv, "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.serve_args],
            env=self.env(),
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        async with ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(self.base + "/healthz") as answer:
                        if answer.status == 200:
                            return
                except OSError:
                    pass
                assert self.proc.poll() is None, self.log()
                await asyncio.sleep(0.1)
        raise AssertionError("server did not become healthy:\n" + self.log())

    def log(self) -> str:
        return (self.tmp / "server.log").read_text(errors="replace")[-3000:]

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the server (SIGTERM: graceful; SIGKILL: a crash); returns its exit code.

        Waits without blocking the loop: the fake APIs live in this process and must keep
        answering while the server finishes its work.
        """
        assert self.proc is not None
        self.proc.send_signal(sig)
        for _ in range(400):
            code = self.proc.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.05)
        raise AssertionError("server did not stop in 20 s")

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            await self.stop()
        await self.telegram.__aexit__(None, None, None)
        await self.twilio.__aexit__(None, None, None)

    # ---- Telegram ---------------------------------------------------------------------

    @staticmethod
    def tg_text(chat: int, text: str, update_id: int | None = None) -> dict[str, Any]:
        user = {"id": chat, "is_bot": False, "first_name": "Ana", "language_code": "es"}
        return {
            "update_id": update_id if update_id is not None else next(_ids),
            "message": {
                "message_id": next(_ids) % 100000,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": "Ana"},
                "from": user,
                "text": text,
            },
        }

    @staticmethod
    def tg_button(chat: int, data: str, message_id: int) -> dict[str, Any]:
        user = {"id": chat, "is_bot": False, "first_name": "Ana", "language_code": "es"}
        uid = next(_ids)
        return {
            "update_id": uid,
            "callback_query": {
                "id": str(uid),
                "from": user,
                "chat_instance": "42",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private", "first_name": "Ana"},
                    "from": {"id": 123456, "is_bot": True, "first_name": "PSV"},
                    "text": "...",
                },
            },
        }

    async def tg_post(self, update: dict[str, Any] | bytes, secret: str | None = TG_SECRET) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        async with (
            ClientSession() as session,
            session.post(self.base + "/webhooks/telegram", data=body, headers=headers) as answer,
        ):
            return answer.status

    def tg_sent(self, chat: int) -> list[dict[str, Any]]:
        """sendMessage/sendDocument calls to a chat, in order."""
        return [
            params
            for method, params in self.telegram.calls
            if method in ("sendMessage", "sendDocument") and str(params.get("chat_id")) == str(chat)
        ]

    async def tg_wait(self, chat: int, before: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The messages sent to a chat after the first `before`, once they stop coming."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            sent = self.tg_sent(chat)
            if len(sent) > before:
                await asyncio.sleep(1.6)  # longer than the per-chat pacing (1/s)
                if len(self.tg_sent(chat)) == len(sent):
                    return sent[before:]
                continue
            await asyncio.sleep(0.05)
        return []

    # ---- WhatsApp ---------------------------------------------------------------------

    @staticmethod
    def wa_params(phone: str, body: str, **extra: str) -> dict[str, str]:
        params = {
            "SmsMessageSid": f"SM{next(_ids):032d}",
            "NumMedia": "0",
            "ProfileName": "Ana",
            "MessageType": "text",
            "SmsSid": "",
            "WaId": phone.lstrip("+"),
            "SmsStatus": "received",
            "Body": body,
            "To": TW_FROM,
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": f"SM{next(_ids):032d}",
            "AccountSid": TW_SID,
            "From": f"whatsapp:{phone}",
            "ApiVersion": "2010-04-01",
        }
        params["SmsSid"] = params["MessageSid"]
        params.update(extra)
        return params

    async def wa_post(
        self, params: dict[str, str], *, sign: bool = True, path: str = "/webhooks/whatsapp"
    ) -> tuple[int, str]:
        headers = {}
        if sign:
            validator = RequestValidator(TW_TOKEN)
            headers["X-Twilio-Signature"] = validator.compute_signature(self.base + path, params)
        async with (
            ClientSession() as session,
            session.post(self.base + path, data=params, headers=headers) as answer,
        ):
            return answer.status, await answer.text()

    def wa_sent(self, phone: str) -> list[dict[str, str]]:
        return [p for p in self.twilio.calls if p.get("To") == f"whatsapp:{phone}"]

    async def wa_wait(self, phone: str, before: int, timeout: float = 15.0) -> list[dict[str, str]]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            sent = self.wa_sent(phone)
            if len(sent) > before:
                await asyncio.sleep(1.6)  # longer than the per-chat pacing (1/s)
                if len(self.wa_sent(phone)) == len(sent):
                    return sent[before:]
                continue
            await asyncio.sleep(0.05)
        return []
