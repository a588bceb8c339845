"""Telegram channel: recorded webhooks through the parser, sends through PTB to a fake Bot API."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.base import Outcome, Parsed, SendContext, WebhookError
from bot.channels.telegram import (
    CHANNEL,
    TelegramChannel,
    TelegramStartError,
    callback_data,
    check_secret,
    parse_update,
    split_text,
)
from bot.messages import Attachment, Inbound, Location, Option, Outbound
from tests.fakes.telegram_api import FakeTelegram, Upload

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
TOKEN = "8412093756:AAFakeTokenForTests_abcdefghijklmnopq"
CHAT = "7385102946"
REPLY = SendContext()


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_bytes())
    return data


def body(update: dict[str, Any]) -> bytes:
    return json.dumps(update).encode("utf-8")


def inbound(update_id: int, **fields: Any) -> Inbound:
    return Inbound(
        channel=CHANNEL, user_ref=CHAT, message_id=str(update_id), lang_hint="es", **fields
    )


# ------------------------------------------------------------------ recorded webhooks

EXPECTED: dict[str, Parsed] = {
    "text_message": Parsed(
        inbound(418730212, text="Hola, quiero una cita para una consulta laboral el jueves")
    ),
    "start_with_payload": Parsed(inbound(418730211, text="/start", start_param="PE-ARE")),
    "callback_query": Parsed(
        inbound(418730213, payload="cita:nueva"),
        followup={"callback_query_id": "3165740920183746591", "chat_id": CHAT, "message_id": 3},
    ),
    "location": Parsed(inbound(418730214, location=Location(-16.398803, -71.536874))),
    "contact": Parsed(inbound(418730215, contact_phone="+51986432175")),
    "voice": Parsed(inbound(418730216, media_kind="voice")),
    "photo": Parsed(
        inbound(418730217, media_kind="photo", text="Les envío mi boleta de pago de febrero")
    ),
    "sticker": Parsed(inbound(418730218, media_kind="sticker")),
    "edited_message": Parsed(None),
    "text_with_emoji_and_accents": Parsed(
        inbound(
            418730220,
            text=(
                "¡Hola! 👋🏽 Me despidieron sin aviso 😔 ¿Puedo pedir una cita el miércoles a las "
                "10:30? Mi correo es lucia.quispe@example.com 🙏🏼 ¡Gracias, señorita!"
            ),
        )
    ),
    "group_message": Parsed(None),
    "my_chat_member_blocked": Parsed(None, followup={"blocked": CHAT}),
    "channel_post": Parsed(None),
}


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_update(name: str) -> None:
    raw = (FIXTURES / f"{name}.json").read_bytes()  # byte for byte what Telegram posts
    assert parse_update(raw) == EXPECTED[name]


def test_emoji_fixture_is_the_raw_wire_form() -> None:
    raw = (FIXTURES / "text_with_emoji_and_accents.json").read_bytes()
    assert raw.isascii() and b"\\ud83d\\udc4b" in raw


# ------------------------------------------------------------------ derived cases


def _message_update(**message: Any) -> dict[str, Any]:
    update = load("text_message")
    del update["message"]["text"]
    update["message"].update(message)
    return update


def _callback(data: str | None = None, message: Any = "keep") -> dict[str, Any]:
    update = load("callback_query")
    if data is None:
        del update["callback_query"]["data"]
    else:
        update["callback_query"]["data"] = data
    if message is None:
        del update["callback_query"]["message"]
    elif message != "keep":
        update["callback_query"]["message"] = message
    return update


def _unblocked() -> dict[str, Any]:
    update = load("my_chat_member_blocked")
    member = update["my_chat_member"]
    member["old_chat_member"], member["new_chat_member"] = (
        {"user": member["new_chat_member"]["user"], "status": "kicked", "until_date": 0},
        {"user": member["old_chat_member"]["user"], "status": "member"},
    )
    return update


INACCESSIBLE = {"chat": {"id": int(CHAT), "type": "private"}, "message_id": 3, "date": 0}
FOREIGN_CONTACT = {"phone_number": "+51 912 345 678", "first_name": "Ana", "user_id": 1}
OWN_CONTACT_PLUS = {"phone_number": "+51 986-432-175", "first_name": "L", "user_id": int(CHAT)}
GROUP_MESSAGE = load("group_message")["message"]

DERIVED: list[tuple[str, dict[str, Any], Parsed]] = [
    (
        "callback #N means the N-th option",
        _callback("#2"),
        Parsed(inbound(418730213, text="2"), followup=EXPECTED["callback_query"].followup),
    ),
    (
        "callback on an inaccessible message: answered, not edited",
        _callback("asesor", INACCESSIBLE),
        Parsed(
            inbound(418730213, payload="asesor"),
            followup={"callback_query_id": "3165740920183746591"},
        ),
    ),
    (
        "callback without message (inline): the sender's id",
        _callback("asesor", None),
        Parsed(
            inbound(418730213, payload="asesor"),
            followup={"callback_query_id": "3165740920183746591"},
        ),
    ),
    (
        "callback without data: answered only",
        _callback(None),
        Parsed(None, followup=EXPECTED["callback_query"].followup),
    ),
    (
        "callback from a group message: answered only",
        _callback("asesor", GROUP_MESSAGE),
        Parsed(None, followup={"callback_query_id": "3165740920183746591"}),
    ),
    ("unblocked", _unblocked(), Parsed(None, followup={"unblocked": CHAT})),
    (
        "/start without payload",
        _message_update(text="/start"),
        Parsed(inbound(418730212, text="/start")),
    ),
    (
        "/start with an invalid payload",
        _message_update(text="/start hola quiero cita"),
        Parsed(inbound(418730212, text="/start")),
    ),
    (
        "/startle is not /start",
        _message_update(text="/startle"),
        Parsed(inbound(418730212, text="/startle")),
    ),
    (
        "someone else's contact",
        _message_update(contact=FOREIGN_CONTACT),
        Parsed(inbound(418730212, media_kind="contact")),
    ),
    (
        "own contact written with + and separators",
        _message_update(contact=OWN_CONTACT_PLUS),
        Parsed(inbound(418730212, contact_phone="+51986432175")),
    ),
    (
        "document with caption",
        _message_update(document={"file_id": "x"}, caption="mi contrato"),
        Parsed(inbound(418730212, media_kind="document", text="mi contrato")),
    ),
    (
        "GIF (animation and document)",
        _message_update(animation={"file_id": "x"}, document={"file_id": "x"}),
        Parsed(inbound(418730212, media_kind="animation")),
    ),
    (
        "video note",
        _message_update(video_note={"file_id": "x"}),
        Parsed(inbound(418730212, media_kind="video_note")),
    ),
    ("service message ignored", _message_update(pinned_message={"x": 1}), Parsed(None)),
    (
        "location out of range ignored",
        _message_update(location={"latitude": 200, "longitude": 0}),
        Parsed(None),
    ),
    (
        "NUL and lone surrogate cleaned",
        _message_update(text="a\x00b\ud83d"),
        Parsed(inbound(418730212, text="ab?")),
    ),
    ("unknown update kind", {"update_id": 5, "poll": {"id": "1"}}, Parsed(None)),
    ("message not an object", {"update_id": 5, "message": "hola"}, Parsed(None)),
    ("only update_id", {"update_id": 5}, Parsed(None)),
]


@pytest.mark.parametrize(
    ("update", "expected"), [(u, e) for _, u, e in DERIVED], ids=[d for d, _, _ in DERIVED]
)
def test_derived_update(update: dict[str, Any], expected: Parsed) -> None:
    assert parse_update(body(update)) == expected


def test_unknown_fields_are_ignored() -> None:
    update = load("text_message")
    update["message"]["future_field"] = {"nested": [1, 2, {"x": None}]}
    update["brand_new_field"] = True
    assert parse_update(body(update)) == EXPECTED["text_message"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"update"',
        b"null",
        b"{}",
        b'{"message": {}}',
        b'{"update_id": "418730212", "message": {}}',
        b'{"update_id": 1.5}',
        b'{"update_id": true}',
        b"[" * 100_000,
    ],
    ids=lambda raw: raw[:30].decode("latin-1"),
)
def test_malformed_body_is_400(raw: bytes) -> None:
    with pytest.raises(WebhookError) as info:
        parse_update(raw)
    assert info.value.status == 400


# ------------------------------------------------------------------ property: never crashes

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
CHATS = st.fixed_dictionaries(
    {"id": st.integers() | JSON, "type": st.sampled_from(["private", "group"]) | JSON}
)
MESSAGES = st.fixed_dictionaries(
    {},
    optional={
        "chat": CHATS | JSON,
        "from": st.fixed_dictionaries({"id": st.integers(), "language_code": JSON}) | JSON,
        "text": st.text() | JSON,
        "caption": JSON,
        "date": st.integers() | JSON,
        "message_id": st.integers() | JSON,
        "location": st.fixed_dictionaries({"latitude": JSON, "longitude": JSON}) | JSON,
        "contact": st.fixed_dictionaries({"phone_number": JSON, "user_id": JSON}) | JSON,
        "photo": JSON,
        "voice": JSON,
    },
)
UPDATES = st.fixed_dictionaries(
    {"update_id": st.integers() | JSON},
    optional={
        "message": MESSAGES | JSON,
        "callback_query": st.fixed_dictionaries(
            {"id": st.text() | JSON},
            optional={"from": JSON, "message": MESSAGES | JSON, "data": st.text() | JSON},
        )
        | JSON,
        "my_chat_member": st.fixed_dictionaries(
            {"chat": CHATS, "new_chat_member": JSON, "old_chat_member": JSON}
        )
        | JSON,
    },
)


def _parse_or_400(raw: bytes) -> None:
    try:
        result = parse_update(raw)
    except WebhookError as exc:
        assert exc.status == 400
    else:
        assert isinstance(result, Parsed)
        if result.inbound is not None:
            assert result.inbound.channel == CHANNEL
            assert "\x00" not in result.inbound.text
            result.inbound.text.encode("utf-8")  # storable


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON | UPDATES)
def test_any_json_parses_or_is_400(value: Any) -> None:
    _parse_or_400(json.dumps(value).encode("utf-8"))


@settings(max_examples=300)
@given(st.binary())
def test_any_bytes_parse_or_are_400(raw: bytes) -> None:
    _parse_or_400(raw)


# ------------------------------------------------------------------ secret token


@pytest.mark.parametrize("header", [None, "", "wrong", "s3cret-token-x", "s3cret-tokeñ"])
def test_wrong_or_missing_secret_is_401(header: str | None) -> None:
    with pytest.raises(WebhookError) as info:
        check_secret(header, "s3cret-token")
    assert info.value.status == 401


def test_right_secret_passes() -> None:
    check_secret("s3cret-token", "s3cret-token")


# ------------------------------------------------------------------ splitting


def test_split_keeps_short_text_whole() -> None:
    assert split_text("  Hola  ") == ["Hola"]
    assert split_text("") == []


def test_split_counts_utf16_units() -> None:
    text = " ".join(["😀" * 10] * 500)  # 5,500 code points, 10,499 UTF-16 units
    chunks = split_text(text)
    assert all(len(c.encode("utf-16-le")) // 2 <= 4000 for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_split_cuts_a_word_only_when_there_is_no_space() -> None:
    chunks = split_text("a" * 9000)
    assert [len(c) for c in chunks] == [4000, 4000, 1000]


def test_split_prefers_paragraphs() -> None:
    paragraph = "palabra " * 300  # 2,400 characters
    chunks = split_text(f"{paragraph}\n\n{paragraph}\n\n{paragraph}")
    assert len(chunks) == 3
    assert all(c == paragraph.strip() for c in chunks)


def test_callback_data_fallback() -> None:
    assert callback_data(Option("cita:nueva", "x"), 1) == "cita:nueva"
    assert callback_data(Option("ñ" * 32, "x"), 2) == "ñ" * 32  # 64 bytes
    assert callback_data(Option("ñ" * 33, "x"), 3) == "#3"  # 66 bytes
    assert callback_data(Option("", "x"), 4) == "#4"


# ------------------------------------------------------------------ sending


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
async def channel(fake: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    ch = TelegramChannel(TOKEN, fake.url, timeout=2.0)
    await ch.start()
    fake.reset()
    yield ch
    await ch.close()


def _buttons(params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    rows: list[list[dict[str, Any]]] = params["reply_markup"]["inline_keyboard"]
    return rows


async def test_start_checks_the_token_once(fake: FakeTelegram) -> None:
    ch = TelegramChannel(TOKEN, fake.url + "/")
    await ch.start()
    await ch.start()
    assert [m for m, _ in fake.calls] == ["getMe"]
    await ch.close()


async def test_start_with_a_refused_token_names_the_setting_not_the_token(
    fake: FakeTelegram,
) -> None:
    ch = TelegramChannel("1:refused-token", fake.url)
    with pytest.raises(TelegramStartError) as info:
        await ch.start()
    assert "PSV_TELEGRAM_TOKEN" in str(info.value)
    assert "refused-token" not in str(info.value)
    result = await ch.send(CHAT, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.RETRY
    assert "refused-token" not in (result.error or "")
    await ch.close()


async def test_send_starts_lazily(fake: FakeTelegram) -> None:
    ch = TelegramChannel(TOKEN, fake.url)
    result = await ch.send(CHAT, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.SENT
    assert [m for m, _ in fake.calls] == ["getMe", "sendMessage"]
    await ch.close()


async def test_text_with_options(fake: FakeTelegram, channel: TelegramChannel) -> None:
    long_payload = "svc:" + "x" * 70
    options = (
        Option("cita:nueva", "📅 Reservar una cita"),
        Option(long_payload, "Servicio con un código largo"),
        Option("asesor", "Una etiqueta larguísima " * 5),
    )
    result = await channel.send(CHAT, Outbound("¿Qué deseas hacer?", options=options), REPLY)
    assert result.outcome is Outcome.SENT
    assert result.provider_ids == ("100",)
    [params] = fake.calls_to("sendMessage")
    assert params["chat_id"] == CHAT
    assert params["text"] == "¿Qué deseas hacer?"
    rows = _buttons(params)
    assert [len(row) for row in rows] == [1, 1, 1]
    assert [row[0]["callback_data"] for row in rows] == ["cita:nueva", "#2", "asesor"]
    assert all(len(row[0]["callback_data"].encode()) <= 64 for row in rows)
    assert rows[0][0]["text"] == "📅 Reservar una cita"
    assert len(rows[2][0]["text"]) <= 60 and rows[2][0]["text"].endswith("…")
    # The #N fallback comes back from Telegram as the option's number.
    tap = _callback("#2")
    assert parse_update(body(tap)).inbound == inbound(418730213, text="2")


async def test_links_are_appended(fake: FakeTelegram, channel: TelegramChannel) -> None:
    message = Outbound("Tu sesión es hoy.", links=("https://meet.jit.si/psv-abc",))
    await channel.send(CHAT, message, REPLY)
    [params] = fake.calls_to("sendMessage")
    assert params["text"] == "Tu sesión es hoy.\n\nhttps://meet.jit.si/psv-abc"


def _long_text(size: int) -> str:
    words = [f"palabra{n}" for n in range(2000)]
    paragraphs, current = [], ""
    for word in words:
        current += word + " "
        if len(current) > 700:
            paragraphs.append(current.strip())
            current = ""
    text = "\n\n".join(paragraphs)
    return text[:size].rsplit(" ", 1)[0]


async def test_long_text_is_split_with_keyboard_on_the_last(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    text = _long_text(10_000)
    assert 9_900 < len(text) <= 10_000
    message = Outbound(text, options=(Option("si", "Sí"), Option("no", "No")))
    result = await channel.send(CHAT, message, REPLY)
    assert result.outcome is Outcome.SENT
    sent = fake.calls_to("sendMessage")
    assert len(sent) == 3
    assert result.provider_ids == ("100", "101", "102")
    assert all(len(p["text"]) < 4096 for p in sent)
    assert ["reply_markup" in p for p in sent] == [False, False, True]
    assert " ".join(p["text"] for p in sent).split() == text.split()  # no word cut


async def test_attachment_goes_as_a_document_after_the_text(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    ics = "BEGIN:VCALENDAR\r\nSUMMARY:Cita — conciliación\r\nEND:VCALENDAR\r\n"
    message = Outbound(
        "Tu cita quedó reservada.", attachment=Attachment("cita.ics", "text/calendar", ics)
    )
    result = await channel.send(CHAT, message, REPLY)
    assert result.outcome is Outcome.SENT
    assert [m for m, _ in fake.calls] == ["sendMessage", "sendDocument"]
    assert result.provider_ids == ("100", "101")
    document = fake.calls_to("sendDocument")[0]["document"]
    assert document == Upload("cita.ics", "text/calendar", ics.encode("utf-8"))


async def test_attachment_alone(fake: FakeTelegram, channel: TelegramChannel) -> None:
    message = Outbound("", attachment=Attachment("cita.ics", "text/calendar", "BEGIN:VCALENDAR"))
    result = await channel.send(CHAT, message, REPLY)
    assert result.outcome is Outcome.SENT
    assert [m for m, _ in fake.calls] == ["sendDocument"]


async def test_empty_message_is_permanent(fake: FakeTelegram, channel: TelegramChannel) -> None:
    result = await channel.send(CHAT, Outbound("  "), REPLY)
    assert result.outcome is Outcome.PERMANENT
    assert fake.calls == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own
async def test_flood_control_is_retry_with_delay(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    fake.fail_next_recorded("error_429_retry_after")
    result = await channel.send(CHAT, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.RETRY
    assert result.retry_after == 35.0
    assert not result.unreachable


async def test_blocked_is_permanent_and_unreachable(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    fake.fail_next_recorded("error_403_blocked")
    result = await channel.send(CHAT, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.PERMANENT
    assert result.unreachable
    assert "blocked" in (result.error or "")


async def test_chat_not_found_is_unreachable(fake: FakeTelegram, channel: TelegramChannel) -> None:
    fake.fail_next(
        400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    )
    result = await channel.send(CHAT, Outbound("Hola"), REPLY)
    assert (result.outcome, result.unreachable) == (Outcome.PERMANENT, True)


async def test_other_bad_request_is_permanent(fake: FakeTelegram, channel: TelegramChannel) -> None:
    fake.fail_next(
        400, {"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities"}
    )
    result = await channel.send(CHAT, Outbound("Hola"), REPLY)
    assert (result.outcome, result.unreachable) == (Outcome.PERMANENT, False)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, None),
        (502, "<html><body>502 Bad Gateway</body></html>"),
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests"}),
    ],
    ids=["500", "502 html", "429 without retry_after"],
)
async def test_server_errors_are_retry(
    fake: FakeTelegram, channel: TelegramChannel, status: int, body: Any
) -> None:
    fake.fail_next(status, body)
    result = await channel.send(CHAT, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.RETRY
    assert TOKEN not in (result.error or "")


async def test_timeout_is_retry(fake: FakeTelegram) -> None:
    ch = TelegramChannel(TOKEN, fake.url, timeout=0.3)
    await ch.start()
    fake.delay_next(5, method="sendMessage")
    result = await ch.send(CHAT, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.RETRY
    assert "TimedOut" in (result.error or "")
    await ch.close()


async def test_unreachable_server_is_retry() -> None:
    async with FakeTelegram() as gone:
        url = gone.url
    ch = TelegramChannel(TOKEN, url, timeout=1.0)
    result = await ch.send(CHAT, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.RETRY
    await ch.close()


async def test_partial_send_reports_what_went(fake: FakeTelegram, channel: TelegramChannel) -> None:
    fake.fail_next(500, method="sendMessage", skip=1)
    result = await channel.send(CHAT, Outbound(_long_text(10_000)), REPLY)
    assert result.outcome is Outcome.RETRY
    assert result.provider_ids == ("100",)
    assert (result.error or "").startswith("sent 1 of 3 parts")
    assert len(fake.calls_to("sendMessage")) == 2  # stopped at the failed part


async def test_a_retry_skips_the_parts_already_sent(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    text = _long_text(10_000)
    result = await channel.send(CHAT, Outbound(text), SendContext(parts_sent=1))
    sent = [call["text"] for call in fake.calls_to("sendMessage")]
    assert result.outcome is Outcome.SENT
    assert len(sent) == len(result.provider_ids) == 2
    assert sent == split_text(text)[1:]


async def test_acknowledge_answers_and_removes_the_keyboard(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    followup = parse_update(body(load("callback_query"))).followup
    await channel.acknowledge(followup)
    assert fake.calls == [
        ("answerCallbackQuery", {"callback_query_id": "3165740920183746591"}),
        ("editMessageReplyMarkup", {"chat_id": CHAT, "message_id": "3"}),
    ]


async def test_acknowledge_tolerates_message_not_modified(
    fake: FakeTelegram, channel: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next_recorded("error_400_message_not_modified", method="editMessageReplyMarkup")
    with caplog.at_level(logging.WARNING, logger="psv.channels.telegram"):
        await channel.acknowledge(EXPECTED["callback_query"].followup)
    assert [m for m, _ in fake.calls] == ["answerCallbackQuery", "editMessageReplyMarkup"]
    assert caplog.records == []


async def test_acknowledge_survives_api_errors(
    fake: FakeTelegram, channel: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next(
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: query is too old and response timeout expired",
        },
        method="answerCallbackQuery",
    )
    fake.fail_next(500, method="editMessageReplyMarkup")
    with caplog.at_level(logging.WARNING, logger="psv.channels.telegram"):
        await channel.acknowledge(EXPECTED["callback_query"].followup)
    assert [m for m, _ in fake.calls] == ["answerCallbackQuery", "editMessageReplyMarkup"]
    assert len(caplog.records) == 2
    assert CHAT not in caplog.text and TOKEN not in caplog.text


async def test_acknowledge_inaccessible_message_only_answers(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    followup = parse_update(body(_callback("asesor", INACCESSIBLE))).followup
    await channel.acknowledge(followup)
    assert [m for m, _ in fake.calls] == ["answerCallbackQuery"]


async def test_acknowledge_ignores_other_followups(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    await channel.acknowledge({"blocked": CHAT})
    assert fake.calls == []


async def test_set_webhook(fake: FakeTelegram, channel: TelegramChannel) -> None:
    await channel.set_webhook("https://psv.example.gob.pe/webhooks/telegram", "s3cret")
    [params] = fake.calls_to("setWebhook")
    assert params["url"] == "https://psv.example.gob.pe/webhooks/telegram"
    assert params["secret_token"] == "s3cret"
    assert params["allowed_updates"] == ["message", "callback_query", "my_chat_member"]


async def test_no_personal_data_or_token_in_logs(
    fake: FakeTelegram, channel: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in EXPECTED:
        parse_update((FIXTURES / f"{name}.json").read_bytes())
    await channel.send(CHAT, Outbound("Hola Lucía", options=(Option("si", "Sí"),)), REPLY)
    fake.fail_next_recorded("error_403_blocked")
    await channel.send(CHAT, Outbound("Hola Lucía"), REPLY)
    await channel.acknowledge(EXPECTED["callback_query"].followup)
    for secret in (CHAT, "Lucía", "Hola", "51986432175", TOKEN, "3165740920183746591"):
        assert secret not in caplog.text


async def test_acknowledge_with_a_refused_token_does_not_raise(fake: FakeTelegram) -> None:
    ch = TelegramChannel("1:refused-token", fake.url)
    await ch.acknowledge(EXPECTED["callback_query"].followup)
    assert [m for m, _ in fake.calls] == ["getMe"]
    await ch.close()


# ------------------------------------------------------------------ the fake itself


async def test_fake_accepts_json_and_query_parameters(fake: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{fake.url}/bot{TOKEN}/sendMessage"
        async with http.post(url, json={"chat_id": int(CHAT), "text": "Hola"}) as response:
            sent = await response.json()
        async with http.get(f"{fake.url}/bot{TOKEN}/getMe") as response:
            me = await response.json()
        async with http.get(f"{fake.url}/bot{TOKEN}/noSuchMethod?x=1") as response:
            assert response.status == 404
        async with http.get(f"{fake.url}/botWRONG/getMe") as response:
            assert response.status == 401
    assert sent["ok"] and sent["result"]["chat"]["id"] == int(CHAT)
    assert me["result"]["username"] == "PSVCitasPE_bot"
    assert fake.calls[0] == ("sendMessage", {"chat_id": int(CHAT), "text": "Hola"})
    assert fake.calls[2] == ("noSuchMethod", {"x": "1"})
