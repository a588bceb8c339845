"""Property-based fuzzing of the Telegram and WhatsApp webhooks, in-process, on SQLite.

The real `Server` app runs in an aiohttp TestServer (inbox processors on, outbox worker off,
real channels pointed at a closed port, so nothing is sent). Hypothesis runs in a worker
thread and hands each request to the event loop of the test, which serves it.

Properties:
- Telegram, right secret: arbitrary JSON values, update-shaped objects and arbitrary bytes get
  200, 400 or 413, never a 500; 400 exactly when the body is not a JSON object with an integer
  `update_id`. A wrong or missing secret gets 401.
- WhatsApp, correctly signed: arbitrary form bodies get 200 or 400, never a 500; 200 exactly
  when MessageSid and From are both given. A bad signature gets 403.
- Afterwards the inbox holds one row per valid update answered 200 (redeliveries once) and
  nothing else, and a normal "hola" is still accepted, queued and answered by the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.channels import telegram
from bot.channels.base import Channel
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel
from bot.server import MAX_BODY, Server
from core.db import Database
from core.models import InboundMessage, OutboxMessage
from core.settings import Settings
from tests.conftest import reset

T = TypeVar("T")

TG_TOKEN = "123456:fuzz-token"
TG_SECRET = "fuzz-secret"
TW_SID = "AC" + "f" * 32
TW_TOKEN = "fuzz-auth-token"
PUBLIC_URL = "http://psv.example.test"
TG_PATH = "/webhooks/telegram"
WA_PATH = "/webhooks/whatsapp"
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Harness:
    """The server under test, its client, and what the fuzzing sent."""

    client: TestClient[Any, Any]
    loop: asyncio.AbstractEventLoop
    statuses: dict[str, set[int]] = field(default_factory=dict)
    # (channel, message_id) -> user_ref of every valid update answered 200 (first one wins)
    valid: dict[tuple[str, str], str] = field(default_factory=dict)
    bodies: dict[tuple[str, str], Any] = field(default_factory=dict)

    def run(self, job: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a coroutine on the test's event loop from the Hypothesis thread."""
        return asyncio.run_coroutine_threadsafe(job(), self.loop).result(timeout=60)

    def note(self, kind: str, status: int) -> None:
        self.statuses.setdefault(kind, set()).add(status)

    # ---- Telegram

    def telegram(self, body: bytes, secret: str | None = TG_SECRET) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret

        async def post() -> int:
            async with self.client.post(TG_PATH, data=body, headers=headers) as answer:
                await answer.read()
                return answer.status

        return self.run(post)

    def check_telegram(self, kind: str, body: bytes) -> None:
        """Post with the right secret; the answer must be the expected one, never a 500."""
        status = self.telegram(body)
        self.note(kind, status)
        assert status in (200, 400, 413), (status, body[:300])
        update = _json_object_with_int_update_id(body)
        assert status == (200 if update is not None else 400), (status, body[:300])
        if status == 200:
            parsed = telegram.parse_update(body)
            if parsed.inbound is not None:
                key = (telegram.CHANNEL, parsed.inbound.message_id)
                self.valid.setdefault(key, parsed.inbound.user_ref)
                self.bodies.setdefault(key, update)

    # ---- WhatsApp

    def whatsapp(self, params: dict[str, str], *, sign: bool = True) -> tuple[int, str]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode(params).encode()  # as Twilio sends it (any field name)
        if sign:
            validator = RequestValidator(TW_TOKEN)
            headers["X-Twilio-Signature"] = validator.compute_signature(
                PUBLIC_URL + WA_PATH, params
            )

        async def post() -> tuple[int, str]:
            async with self.client.post(WA_PATH, data=body, headers=headers) as answer:
                return answer.status, await answer.text()

        return self.run(post)


def _json_object_with_int_update_id(body: bytes) -> dict[str, Any] | None:
    """The contract's idea of a well-formed update (an independent oracle for 200 vs 400)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    update_id = value.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    if not -(2**63) <= update_id < 2**63:  # Telegram's ids are signed 64-bit integers
        return None
    return value


@contextlib.asynccontextmanager
async def serving(db: Database) -> AsyncIterator[Harness]:
    """The real server app on a cleaned copy of `db`, channels pointed at a closed port."""
    await reset(db)
    port = closed_port()
    config = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db.url,
        public_url=PUBLIC_URL,
        telegram_token=TG_TOKEN,
        telegram_secret=TG_SECRET,
        telegram_api_url=f"http://127.0.0.1:{port}",
        twilio_account_sid=TW_SID,
        twilio_auth_token=TW_TOKEN,
        twilio_whatsapp_from="whatsapp:+14155238886",
        twilio_api_url=f"http://127.0.0.1:{port}",
    )
    channels: dict[str, Channel] = {
        "telegram": TelegramChannel(TG_TOKEN, config.telegram_api_url, timeout=2.0),
        "whatsapp": WhatsAppChannel(
            TW_SID, TW_TOKEN, "whatsapp:+14155238886", config.twilio_api_url, timeout=2.0
        ),
    }
    # The server disposes its Database on shutdown: it gets its own, on the same database.
    server = Server(config, Database(db.url), channels=channels, run_worker=False)
    client: TestClient[Any, Any] = TestClient(TestServer(server.app))
    await client.start_server()
    try:
        yield Harness(client, asyncio.get_running_loop())
    finally:
        await client.close()


@pytest.fixture
async def harness(sqlite_db: Database) -> AsyncIterator[Harness]:
    async with serving(sqlite_db) as running:
        yield running


def engine_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Errors logged by the server, inbox or engine (a turn that failed, a crashed loop)."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("psv", "bot", "aiohttp"))
    ]


async def fuzz(job: Callable[[], None]) -> None:
    """Run a Hypothesis test in a thread while this loop serves its requests."""
    await asyncio.to_thread(job)


async def inbound_rows(db: Database, channel: str) -> dict[str, str]:
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(InboundMessage.message_id, InboundMessage.user_ref).where(
                InboundMessage.channel == channel
            )
        )
        return {message_id: user_ref for message_id, user_ref in rows}


async def answered(db: Database, channel: str, address: str, timeout: float = 20.0) -> bool:
    """Whether the engine queued a reply to `address` (the outbox worker is off) in time."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        async with db.uow() as uow:
            found = await uow.session.scalar(
                select(OutboxMessage.id).where(
                    OutboxMessage.channel == channel, OutboxMessage.address == address
                )
            )
        if found is not None:
            return True
        await asyncio.sleep(0.1)
    return False


# --------------------------------------------------------------------------- strategies

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["private", "group", "kicked", "member", "/start PE-AQP", "#1", ""])
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
IDS = st.integers() | st.integers(min_value=1, max_value=2**40) | JSON_LEAVES
TEXTS = (
    st.text(max_size=300)
    | st.sampled_from(["hola", "sí", "1", "menú", "/start", "/start PE-LMA", "/start@bot x"])
    | st.builds(lambda tail: "/start " + tail, st.text(max_size=80))
    | JSON_LEAVES
)
USERS = st.fixed_dictionaries(
    {},
    optional={
        "id": IDS,
        "is_bot": JSON_LEAVES,
        "first_name": st.text(max_size=20),
        "language_code": st.sampled_from(["es", "en", "qu", "es-PE"]) | JSON_LEAVES,
    },
)
CHATS = st.fixed_dictionaries(
    {},
    optional={
        "id": IDS,
        "type": st.sampled_from(["private", "group", "supergroup", "channel"]) | JSON_LEAVES,
    },
)
NUMBERS = st.floats() | st.integers() | JSON_LEAVES
MESSAGES = st.fixed_dictionaries(
    {},
    optional={
        "message_id": IDS,
        "date": IDS,
        "chat": CHATS,
        "from": USERS,
        "text": TEXTS,
        "caption": TEXTS,
        "location": st.fixed_dictionaries({}, optional={"latitude": NUMBERS, "longitude": NUMBERS}),
        "contact": st.fixed_dictionaries(
            {}, optional={"user_id": IDS, "phone_number": st.text(max_size=20) | JSON_LEAVES}
        ),
        "voice": JSON_VALUES,
        "photo": JSON_VALUES,
        "sticker": JSON_VALUES,
    },
)
CALLBACKS = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=20) | JSON_LEAVES,
        "from": USERS,
        "message": MESSAGES,
        "data": st.text(max_size=80) | st.sampled_from(["#1", "#12", "nav:menu"]) | JSON_LEAVES,
    },
)
MEMBERS = st.fixed_dictionaries(
    {},
    optional={
        "chat": CHATS,
        "from": USERS,
        "new_chat_member": st.fixed_dictionaries({"status": JSON_LEAVES}),
        "old_chat_member": st.fixed_dictionaries({"status": JSON_LEAVES}),
    },
)
# Well-formed private-chat updates with fuzzed contents: most of these are queued.
CHAT_IDS = st.integers(min_value=1, max_value=2**52)
PRIVATE_MESSAGES = st.builds(
    lambda chat, content, sender: {
        "message_id": 7,
        "date": 1_773_152_071,
        "chat": {"id": chat, "type": "private", "first_name": "Ana"},
        "from": {"id": chat, "is_bot": False, **sender},
        **content,
    },
    CHAT_IDS,
    st.one_of(
        st.fixed_dictionaries({"text": TEXTS}),
        st.fixed_dictionaries(
            {"location": st.fixed_dictionaries({"latitude": NUMBERS, "longitude": NUMBERS})}
        ),
        st.fixed_dictionaries(
            {"contact": st.fixed_dictionaries({"phone_number": st.text(max_size=20)})}
        ),
        st.fixed_dictionaries({"voice": JSON_VALUES, "caption": TEXTS}),
    ),
    USERS,
)
PRIVATE_CALLBACKS = st.builds(
    lambda chat, data, callback_id: {
        "id": callback_id,
        "from": {"id": chat, "is_bot": False, "first_name": "Ana"},
        "message": {"message_id": 3, "date": 1, "chat": {"id": chat, "type": "private"}},
        "data": data,
    },
    CHAT_IDS,
    st.text(max_size=80) | st.sampled_from(["#1", "#3", "nav:menu", "nav:human"]),
    st.text(min_size=1, max_size=20),
)
WELL_FORMED = st.builds(
    lambda update_id, kind: {"update_id": update_id, **kind},
    st.integers(min_value=0, max_value=2**31),
    st.fixed_dictionaries({"message": PRIVATE_MESSAGES})
    | st.fixed_dictionaries({"callback_query": PRIVATE_CALLBACKS}),
)
UPDATES = WELL_FORMED | st.fixed_dictionaries(
    {"update_id": IDS},
    optional={
        "message": MESSAGES | JSON_VALUES,
        "edited_message": MESSAGES,
        "channel_post": MESSAGES,
        "callback_query": CALLBACKS | JSON_VALUES,
        "my_chat_member": MEMBERS,
        "extra": JSON_VALUES,
    },
)


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _mangle(body: bytes, cut: int, junk: bytes) -> bytes:
    """A damaged body: cut short and/or with junk in the middle."""
    at = cut % (len(body) + 1)
    return body[:at] + junk + body[at + len(junk) :]


BYTES = (
    st.binary(max_size=600)
    | st.builds(_mangle, UPDATES.map(_encode), st.integers(min_value=0), st.binary(max_size=8))
    | st.builds(lambda b: b'{"update_id": 1, "message": {"text": "' + b + b'"}}', st.binary())
    | st.sampled_from([b"", b"null", b"[]", b'"x"', b"NaN", b"[" * 100_000, b"1" * 5000])
)

SECRETS = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)
FORM_TEXT = st.text(max_size=60)
KNOWN_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "MessageSid": st.text(min_size=1, max_size=40) | st.just(""),
        "From": st.sampled_from(["whatsapp:+51912345678", "whatsapp:+51999000111"])
        | st.text(max_size=40),
        "Body": st.text(max_size=300),
        "ButtonPayload": FORM_TEXT,
        "Latitude": FORM_TEXT | st.floats().map(str),
        "Longitude": FORM_TEXT | st.floats().map(str),
        "NumMedia": FORM_TEXT | st.integers().map(str),
        "MediaContentType0": FORM_TEXT
        | st.sampled_from(["audio/ogg", "image/jpeg", "text/vcard", "application/pdf"]),
        "ProfileName": FORM_TEXT,
        "WaId": FORM_TEXT,
    },
)
FORMS = st.builds(
    lambda extra, known, required: {**extra, **known, **required},
    st.dictionaries(FORM_TEXT, FORM_TEXT, max_size=6),
    KNOWN_FIELDS,
    st.just({})
    | st.fixed_dictionaries(
        {
            "MessageSid": st.text(min_size=1, max_size=40),
            "From": st.from_regex(r"whatsapp:\+519[0-9]{8}", fullmatch=True),
        }
    ),
)


# --------------------------------------------------------------------------- tests


async def test_telegram_webhook_never_fails_on_arbitrary_input(
    harness: Harness, sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    @FUZZ
    @given(value=JSON_VALUES)
    def json_values(value: Any) -> None:
        harness.check_telegram("json", _encode(value))

    @FUZZ
    @given(update=UPDATES)
    def updates(update: dict[str, Any]) -> None:
        harness.check_telegram("update", _encode(update))

    @FUZZ
    @given(body=BYTES)
    def raw_bytes(body: bytes) -> None:
        harness.check_telegram("bytes", body)

    @settings(FUZZ, max_examples=40)
    @given(update=UPDATES, secret=st.none() | SECRETS.filter(lambda s: s != TG_SECRET))
    def wrong_secret(update: dict[str, Any], secret: str | None) -> None:
        status = harness.telegram(_encode(update), secret)
        harness.note("wrong secret", status)
        assert status == 401

    for job in (json_values, updates, raw_bytes, wrong_secret):
        await fuzz(job)
    # Over the size limit: 413, nothing read.
    huge = _encode({"update_id": 1, "message": {"text": "x" * MAX_BODY}})
    assert await asyncio.to_thread(harness.telegram, huge) == 413

    # A normal conversation still works.
    chat = 7_700_000_001
    hola = {
        "update_id": 900_000_001,
        "message": {
            "message_id": 1,
            "date": 1_773_152_071,
            "chat": {"id": chat, "type": "private", "first_name": "Lucía"},
            "from": {"id": chat, "is_bot": False, "first_name": "Lucía", "language_code": "es"},
            "text": "hola",
        },
    }
    await asyncio.to_thread(harness.check_telegram, "hola", _encode(hola))
    assert harness.statuses["hola"] == {200}
    assert await answered(sqlite_db, "telegram", str(chat))

    # The inbox holds exactly the valid updates answered 200, each once.
    rows = await inbound_rows(sqlite_db, "telegram")
    assert rows == {message_id: ref for (_, message_id), ref in harness.valid.items()}
    for (_, message_id), ref in harness.valid.items():
        update = harness.bodies[(telegram.CHANNEL, message_id)]
        assert str(update["update_id"]) == message_id
        message = update.get("message")
        source = message if isinstance(message, dict) else update["callback_query"]
        inner = source.get("message")
        chats = (source.get("chat"), inner.get("chat") if isinstance(inner, dict) else None)
        candidates = {str(c.get("id")) for c in (*chats, source.get("from")) if isinstance(c, dict)}
        assert ref in candidates
    assert 400 in harness.statuses["json"] and 200 in harness.statuses["update"]
    # Every queued turn ran (the "hola", queued last, was answered) without an engine error.
    assert engine_errors(caplog) == []


async def test_whatsapp_webhook_never_fails_on_arbitrary_forms(
    harness: Harness, sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    accepted: dict[str, str] = {}

    @FUZZ
    @given(params=FORMS)
    def forms(params: dict[str, str]) -> None:
        status, text = harness.whatsapp(params)
        harness.note("form", status)
        assert status in (200, 400), (status, text[:300], params)
        valid = bool(params.get("MessageSid")) and bool(params.get("From"))
        assert status == (200 if valid else 400), (status, text[:300], params)
        if valid:
            assert "<Response" in text
            accepted.setdefault(params["MessageSid"], params["From"])

    @settings(FUZZ, max_examples=40)
    @given(params=FORMS)
    def unsigned(params: dict[str, str]) -> None:
        status, _ = harness.whatsapp(params, sign=False)
        assert status == 403

    for job in (forms, unsigned):
        await fuzz(job)

    # A normal conversation still works.
    phone = "whatsapp:+51900000001"
    hola = {"MessageSid": "SM" + "0" * 31 + "1", "From": phone, "Body": "hola", "NumMedia": "0"}
    status, _ = await asyncio.to_thread(harness.whatsapp, hola)
    assert status == 200
    accepted.setdefault(hola["MessageSid"], phone)
    assert await answered(sqlite_db, "whatsapp", phone)

    rows = await inbound_rows(sqlite_db, "whatsapp")
    assert rows == accepted
    assert harness.statuses["form"] == {200, 400}
    assert engine_errors(caplog) == []


# --------------------------------------------------------------------------- PostgreSQL

LONG = "9" * 130  # longer than inbound_message.message_id / user_ref (VARCHAR(120))


def _private_text(update_id: int, chat: int) -> bytes:
    return _encode(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": chat, "type": "private"},
                "from": {"id": chat, "is_bot": False, "first_name": "Ana"},
                "text": "hola",
            },
        }
    )


@pytest.mark.postgres
@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(("telegram", _private_text(int(LONG), 7), {400}), id="telegram-update_id"),
        # A chat id no private chat can have: acknowledged and ignored, never stored.
        pytest.param(("telegram", _private_text(8, int(LONG)), {200}), id="telegram-chat_id"),
        pytest.param(
            ("whatsapp", {"MessageSid": LONG, "From": "whatsapp:+51911111111"}, {400}),
            id="whatsapp-MessageSid",
        ),
        pytest.param(("whatsapp", {"MessageSid": "SM1", "From": LONG}, {400}), id="whatsapp-From"),
    ],
)
async def test_over_long_ids_are_refused_not_a_500_on_postgresql(
    postgresql_db: Database, request_: tuple[str, Any]
) -> None:
    kind, body, expected = request_
    async with serving(postgresql_db) as harness:
        if kind == "telegram":
            status = await asyncio.to_thread(harness.telegram, body)
        else:
            status, _ = await asyncio.to_thread(harness.whatsapp, body)
    assert status in expected
