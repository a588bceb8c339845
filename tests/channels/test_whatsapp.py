"""WhatsApp through Twilio: recorded webhooks, signatures, rendering, and sends to a fake API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from bot.channels.base import Outcome, SendContext, WebhookError
from bot.channels.whatsapp import (
    CHANNEL,
    MAX_BODY,
    StatusUpdate,
    WhatsAppChannel,
    check_signature,
    parse_message,
    parse_status,
    render,
    split_text,
)
from bot.messages import Inbound, Location, Option, Outbound
from tests.fakes.twilio_api import ERROR_21610, FakeTwilio

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"
SENDER = "whatsapp:+51947100200"
PERSON = "whatsapp:+51986432175"
NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
TEMPLATES = {"recordatorio_cita": "HX0123456789abcdef0123456789abcdef"}


def form(name: str) -> dict[str, str]:
    """A recorded webhook body, decoded as the server will decode it."""
    raw = (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")
    return dict(parse_qsl(raw, keep_blank_values=True, strict_parsing=True))


def twin(name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def unit_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- Recorded webhooks -----------------------------------------------------------------------

MESSAGES: list[tuple[str, Inbound]] = [
    (
        "whatsapp_text",
        Inbound(
            channel="whatsapp",
            user_ref="whatsapp:+51986432175",
            message_id="SM96681bfed3b10914ccd7466b654ea1db",
            text="Hola, quiero una cita 🙏",
        ),
    ),
    (
        "whatsapp_button_reply",
        Inbound(
            channel="whatsapp",
            user_ref="whatsapp:+51986432175",
            message_id="SM01b87cd220336185e057cd9f147fb9e0",
            text="Sí, confirmo",
            payload="cita_confirmar:PE-ARE-2026-000418",
        ),
    ),
    (
        "whatsapp_interactive_reply",
        Inbound(
            channel="whatsapp",
            user_ref="whatsapp:+51986432175",
            message_id="SMfaf511a621b88806715f57f5989a974f",
            text="Reservar una cita",
            payload="menu:reservar",
        ),
    ),
    (
        "whatsapp_location",
        Inbound(
            channel="whatsapp",
            user_ref="whatsapp:+51954218630",
            message_id="SM73a760580f2818d36a836db288b8091a",
            location=Location(-16.398834228516, -71.536964416504),
        ),
    ),
    (
        "whatsapp_image",
        Inbound(
            channel="whatsapp",
            user_ref="whatsapp:+51986432175",
            message_id="MM0c13ec5e37568787b4f880d10a7d6cde",
            text="Les envío mi boleta de pago de febrero",
            media_kind="image",
        ),
    ),
    (
        "whatsapp_audio",
        Inbound(
            channel="whatsapp",
            user_ref="whatsapp:+51923507418",
            message_id="MM5f1ed3e0c7365559cca0a784d412ac2f",
            media_kind="audio",
        ),
    ),
]

STATUSES: list[tuple[str, StatusUpdate]] = [
    ("status_sent", StatusUpdate("SMe98134a969ff9eaeb68e0c6d8e6c2014", "sent")),
    ("status_delivered", StatusUpdate("SMe98134a969ff9eaeb68e0c6d8e6c2014", "delivered")),
    ("status_read", StatusUpdate("SMe98134a969ff9eaeb68e0c6d8e6c2014", "read")),
    (
        "status_undelivered",
        StatusUpdate("MMc6cc1abbc9208b086c2211fd54966aa5", "undelivered", 63049),
    ),
    ("status_failed_63016", StatusUpdate("SMcc2782e1ab1142880a9372e7528cb12d", "failed", 63016)),
]


def test_every_recorded_webhook_is_covered() -> None:
    names = {path.stem for path in FIXTURES.glob("*.txt")}
    assert names == {name for name, _ in MESSAGES} | {name for name, _ in STATUSES}


@pytest.mark.parametrize(("name", "expected"), MESSAGES, ids=[name for name, _ in MESSAGES])
def test_parse_message(name: str, expected: Inbound) -> None:
    params = form(name)
    assert params == twin(name)  # the wire body and its JSON twin say the same
    parsed = parse_message(params)
    assert parsed.inbound == expected
    assert parsed.inbound.channel == CHANNEL
    assert parsed.followup["profile_name"] == params["ProfileName"]
    assert parsed.followup["wa_id"] == params["WaId"]


@pytest.mark.parametrize(("name", "expected"), STATUSES, ids=[name for name, _ in STATUSES])
def test_parse_status(name: str, expected: StatusUpdate) -> None:
    params = form(name)
    assert params == twin(name)
    update = parse_status(params)
    assert update == expected
    assert update.failed == (expected.status in ("failed", "undelivered"))


def test_a_number_answer_is_plain_text() -> None:
    params = form("whatsapp_text") | {"Body": "2"}
    inbound = parse_message(params).inbound
    assert inbound is not None
    assert (inbound.text, inbound.payload) == ("2", None)


def test_a_current_location_share_has_only_coordinates() -> None:
    params = {"MessageSid": "SM1", "From": PERSON, "Latitude": "-12.05", "Longitude": "-77.04"}
    inbound = parse_message(params).inbound
    assert inbound is not None
    assert inbound.location == Location(-12.05, -77.04)


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [("", "-77.04"), ("abc", "-77.04"), ("nan", "1"), ("-12", "inf"), ("91", "0"), ("0", "181")],
)
def test_a_bad_location_is_ignored(latitude: str, longitude: str) -> None:
    params = {"MessageSid": "SM1", "From": PERSON, "Latitude": latitude, "Longitude": longitude}
    inbound = parse_message(params).inbound
    assert inbound is not None
    assert inbound.location is None


@pytest.mark.parametrize(
    ("num_media", "content_type", "kind"),
    [
        ("1", "video/mp4", "video"),
        ("1", "application/pdf", "document"),
        ("1", "text/vcard", "contact"),
        ("1", "", "document"),
        ("0", "image/jpeg", None),
        ("x", "image/jpeg", None),
    ],
)
def test_media_kind(num_media: str, content_type: str, kind: str | None) -> None:
    params = {"MessageSid": "MM1", "From": PERSON, "NumMedia": num_media}
    params["MediaContentType0"] = content_type
    inbound = parse_message(params).inbound
    assert inbound is not None
    assert inbound.media_kind == kind


@pytest.mark.parametrize("missing", ["MessageSid", "From"])
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_a_message_without_sid_or_sender_is_refused(missing: str, how: str) -> None:
    params = form("whatsapp_text")
    if how == "absent":
        del params[missing]
    else:
        params[missing] = ""
    with pytest.raises(WebhookError) as refused:
        parse_message(params)
    assert refused.value.status == 400


@pytest.mark.parametrize("missing", ["MessageSid", "MessageStatus"])
def test_a_status_without_sid_or_status_is_refused(missing: str) -> None:
    params = form("status_delivered")
    del params[missing]
    with pytest.raises(WebhookError) as refused:
        parse_status(params)
    assert refused.value.status == 400


def parses_or_is_refused_with_400(params: dict[str, str]) -> None:
    try:
        parsed = parse_message(params)
    except WebhookError as refused:
        assert refused.status == 400
    else:
        assert parsed.inbound is not None
        assert parsed.inbound.message_id == params["MessageSid"]


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=40)))
def test_any_form_parses_or_is_refused_with_400(params: dict[str, str]) -> None:
    parses_or_is_refused_with_400(params)


@given(
    st.dictionaries(
        st.sampled_from(
            ["MessageSid", "From", "Body", "Latitude", "Longitude", "NumMedia", "ButtonPayload"]
        ),
        st.text(max_size=20),
    )
)
def test_twilio_fields_with_any_value_parse_or_are_refused(params: dict[str, str]) -> None:
    parses_or_is_refused_with_400(params)


@given(st.dictionaries(st.sampled_from(["MessageSid", "MessageStatus", "ErrorCode"]), st.text()))
def test_any_status_form_parses_or_is_refused_with_400(params: dict[str, str]) -> None:
    try:
        update = parse_status(params)
    except WebhookError as refused:
        assert refused.status == 400
    else:
        assert update.message_sid == params["MessageSid"]
        assert update.error_code is None or update.error_code >= 0


# --- Signatures -------------------------------------------------------------------------------

TOKEN = "12345678901234567890123456789012"
URL = "https://psv.trabajo.gob.pe/webhooks/whatsapp"


def sign(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    signature: str = RequestValidator(token).compute_signature(url, params)
    return signature


def test_a_valid_signature_passes() -> None:
    params = form("whatsapp_text")
    check_signature(URL, params, sign(URL, params), TOKEN)


def test_a_signature_over_the_url_with_its_default_port_passes() -> None:
    params = form("whatsapp_text")
    check_signature(
        URL, params, sign("https://psv.trabajo.gob.pe:443/webhooks/whatsapp", params), TOKEN
    )


@pytest.mark.parametrize(
    "case", ["missing", "empty", "wrong", "tampered", "other host", "other token", "other path"]
)
def test_a_bad_signature_is_refused_with_403(case: str) -> None:
    params = form("whatsapp_text")
    signature: str | None = sign(URL, params)
    url = URL
    if case == "missing":
        signature = None
    elif case == "empty":
        signature = ""
    elif case == "wrong":
        signature = "bm90IGEgc2lnbmF0dXJlIGF0IGFsbCE="
    elif case == "tampered":
        params["Body"] = "Quiero cancelar"
    elif case == "other host":
        url = "https://attacker.example.com/webhooks/whatsapp"
    elif case == "other token":
        signature = sign(URL, params, token="another-token")
    elif case == "other path":
        url = URL + "/status"
    with pytest.raises(WebhookError) as refused:
        check_signature(url, params, signature, TOKEN)
    assert refused.value.status == 403


# --- Rendering --------------------------------------------------------------------------------


def options(count: int) -> tuple[Option, ...]:
    return tuple(Option(f"opt:{n}", f"Opción {n}") for n in range(1, count + 1))


def test_a_short_message_is_one_body() -> None:
    message = Outbound("¿En qué le puedo ayudar?", options=options(3))
    assert render(message) == ["¿En qué le puedo ayudar?\n\n1. Opción 1\n2. Opción 2\n3. Opción 3"]


def test_links_follow_the_text() -> None:
    message = Outbound("Su cita es virtual.", links=("https://meet.jit.si/psv-abc",))
    assert render(message) == ["Su cita es virtual.\n\nhttps://meet.jit.si/psv-abc"]


def test_a_long_text_is_split_at_paragraphs_and_words_under_the_limit() -> None:
    paragraph = " ".join(["Derechos laborales del trabajador 👷🏽‍♀️"] * 30)
    text = "\n\n".join([paragraph] * 4)
    bodies = render(Outbound(text))
    assert len(bodies) > 1
    assert all(0 < unit_len(body) <= MAX_BODY for body in bodies)
    # Nothing lost, no word cut in two: the words come back in order.
    assert " ".join(bodies).split() == text.split()


def test_a_text_without_spaces_is_cut_hard() -> None:
    text = "x" * (MAX_BODY * 2 + 5)
    assert [len(piece) for piece in split_text(text)] == [MAX_BODY, MAX_BODY, 5]


def test_astral_characters_count_double() -> None:
    text = "😀" * MAX_BODY
    pieces = split_text(text)
    assert [unit_len(piece) for piece in pieces] == [MAX_BODY, MAX_BODY]
    assert "".join(pieces) == text


LONG = "\n\n".join(f"Parte {n}: " + "derechos laborales " * 80 for n in range(1, 4))
HINT = "Escriba «más» para ver más opciones"


def numbers(body: str) -> list[int]:
    return [int(line.split(".")[0]) for line in body.splitlines() if line[:1].isdigit()]


def test_23_options_show_one_page_of_10_numbered_on_across_pages() -> None:
    labels = options(23)
    first = render(Outbound("Elija su distrito:", options=labels, meta={"more_hint": HINT}))
    assert len(first) == 1
    assert first[0].startswith("Elija su distrito:\n\n1. Opción 1\n")
    assert numbers(first[0]) == list(range(1, 11))
    assert first[0].endswith(f"{HINT} (11-20)")
    second = render(
        Outbound("Elija su distrito:", options=labels, meta={"more_hint": HINT, "page_from": 10})
    )
    assert numbers(second[0]) == list(range(11, 21))
    assert second[0].endswith(f"{HINT} (21-23)")
    last = render(Outbound("Elija:", options=labels, meta={"more_hint": HINT, "page_from": 20}))
    assert numbers(last[0]) == [21, 22, 23]
    assert last[0].endswith("23. Opción 23")


def test_a_page_out_of_range_shows_the_first() -> None:
    for start in (23, -1, "x"):
        bodies = render(Outbound("Elija:", options=options(23), meta={"page_from": start}))
        assert numbers(bodies[0]) == list(range(1, 11))


def test_a_single_following_option_is_named_alone() -> None:
    bodies = render(Outbound("Elija:", options=options(11), meta={"more_hint": HINT}))
    assert bodies == [bodies[0]]
    assert bodies[0].endswith(f"{HINT} (11)")


def test_options_go_to_their_own_message_when_the_text_is_full() -> None:
    message = Outbound("a" * (MAX_BODY - 5), options=options(2))
    assert render(message) == ["a" * (MAX_BODY - 5), "1. Opción 1\n2. Opción 2"]


def test_an_empty_message_renders_nothing() -> None:
    assert render(Outbound("")) == []


# --- Sending, with the real twilio client against the fake API --------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as server:
        yield server


@pytest.fixture
async def channel(fake: FakeTwilio) -> AsyncIterator[WhatsAppChannel]:
    whatsapp = WhatsAppChannel(
        fake.account_sid,
        fake.auth_token,
        SENDER,
        fake.url,
        templates=TEMPLATES,
        clock=lambda: NOW,
        timeout=0.5,
    )
    yield whatsapp
    await whatsapp.close()


REPLY = SendContext()
NOTICE_VARS = {"1": "Lucía", "2": "martes 17 de marzo, 10:30"}


def notice(last_inbound_at: datetime | None, template: str | None = None) -> SendContext:
    return SendContext(
        kind="notification",
        template=template,
        template_vars=NOTICE_VARS,
        last_inbound_at=last_inbound_at,
    )


async def test_a_plain_text_is_sent(channel: WhatsAppChannel, fake: FakeTwilio) -> None:
    result = await channel.send(PERSON, Outbound("¡Hola! 👋"), REPLY)
    assert result.outcome is Outcome.SENT
    assert result.provider_ids == ("SM" + "0" * 31 + "1",)
    assert fake.calls == [{"To": PERSON, "From": SENDER, "Body": "¡Hola! 👋"}]


async def test_an_address_without_the_prefix_gets_it(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    await channel.send("+51986432175", Outbound("Hola"), REPLY)
    assert fake.calls[0]["To"] == PERSON


async def test_options_are_sent_as_one_numbered_page(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    message = Outbound("Elija:", options=options(12), meta={"more_hint": HINT})
    result = await channel.send(PERSON, message, REPLY)
    assert result.outcome is Outcome.SENT
    assert len(result.provider_ids) == 1
    assert numbers(fake.calls[0]["Body"]) == list(range(1, 11))
    assert fake.calls[0]["Body"].splitlines()[-1] == f"{HINT} (11-12)"


async def test_429_is_retried_after_what_twilio_says(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    fake.fail_next(429, headers={"Retry-After": "7"})
    result = await channel.send(PERSON, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.RETRY
    assert result.retry_after == 7.0
    assert not result.unreachable


async def test_429_without_retry_after(channel: WhatsAppChannel, fake: FakeTwilio) -> None:
    fake.fail_next(429)
    result = await channel.send(PERSON, Outbound("Hola"), REPLY)
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, None)


async def test_an_unsubscribed_person_is_unreachable(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    fake.fail_next(400, ERROR_21610)
    result = await channel.send(PERSON, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.PERMANENT
    assert result.unreachable
    assert result.error is not None
    assert "21610" in result.error
    assert "+519" not in result.error


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}, "permanent"),
        (400, {"code": 63016, "message": "Outside the allowed window", "status": 400}, "permanent"),
        (404, None, "permanent"),
        (500, None, "retry"),
        (503, "<html>Service Unavailable</html>", "retry"),
    ],
)
async def test_errors_are_classified(
    channel: WhatsAppChannel,
    fake: FakeTwilio,
    status: int,
    body: dict[str, Any] | str | None,
    outcome: str,
) -> None:
    fake.fail_next(status, body)
    result = await channel.send(PERSON, Outbound("Hola"), REPLY)
    assert result.outcome == outcome
    assert not result.unreachable


async def test_a_timeout_is_retried(channel: WhatsAppChannel, fake: FakeTwilio) -> None:
    fake.delay_next(1.5)  # the channel waits 0.5 s
    result = await channel.send(PERSON, Outbound("Hola"), REPLY)
    assert (result.outcome, result.error) == (Outcome.RETRY, "timeout")


async def test_an_unreachable_api_is_retried(fake: FakeTwilio) -> None:
    whatsapp = WhatsAppChannel(fake.account_sid, fake.auth_token, SENDER, "http://127.0.0.1:1")
    try:
        result = await whatsapp.send(PERSON, Outbound("Hola"), REPLY)
    finally:
        await whatsapp.close()
    assert result.outcome is Outcome.RETRY


async def test_wrong_credentials_are_refused(fake: FakeTwilio) -> None:
    whatsapp = WhatsAppChannel(fake.account_sid, "wrong-token", SENDER, fake.url)
    try:
        result = await whatsapp.send(PERSON, Outbound("Hola"), REPLY)
    finally:
        await whatsapp.close()
    assert (result.outcome, fake.unauthorized, fake.calls) == (Outcome.PERMANENT, 1, [])


async def test_a_partial_failure_reports_what_was_sent(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    fake.fail_next(503, after=1)
    result = await channel.send(PERSON, Outbound(LONG), REPLY)
    assert result.outcome is Outcome.RETRY
    assert result.provider_ids == ("SM" + "0" * 31 + "1",)  # the first body went out
    assert len(fake.calls) == 2


async def test_a_retry_sends_only_the_parts_not_yet_sent(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    message = Outbound(LONG)
    whole = render(message)
    assert len(whole) == 3
    result = await channel.send(PERSON, message, SendContext(parts_sent=1))
    assert result.outcome is Outcome.SENT
    assert [call["Body"] for call in fake.calls] == whole[1:]
    everything = await channel.send(PERSON, message, SendContext(parts_sent=len(whole)))
    assert (everything.outcome, len(fake.calls)) == (Outcome.SENT, len(whole) - 1)


async def test_a_notification_outside_the_window_needs_a_template(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    for last in (None, NOW - timedelta(hours=24), NOW - timedelta(days=3)):
        result = await channel.send(PERSON, Outbound("Recordatorio"), notice(last))
        assert result.outcome is Outcome.NEEDS_TEMPLATE
        result = await channel.send(PERSON, Outbound("Recordatorio"), notice(last, "unknown"))
        assert result.outcome is Outcome.NEEDS_TEMPLATE
    assert fake.calls == []


async def test_a_notification_outside_the_window_uses_its_template(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    context = notice(NOW - timedelta(hours=30), "recordatorio_cita")
    result = await channel.send(PERSON, Outbound("Recordatorio"), context)
    assert result.outcome is Outcome.SENT
    assert len(result.provider_ids) == 1
    [call] = fake.calls
    assert "Body" not in call
    assert call["ContentSid"] == TEMPLATES["recordatorio_cita"]
    assert json.loads(call["ContentVariables"]) == NOTICE_VARS
    assert (call["To"], call["From"]) == (PERSON, SENDER)


async def test_a_notification_inside_the_window_is_plain_text(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    naive_utc = (NOW - timedelta(hours=23)).replace(tzinfo=None)  # as SQLite gives it back
    for last in (NOW - timedelta(hours=1), naive_utc):
        context = notice(last, "recordatorio_cita")
        result = await channel.send(PERSON, Outbound("Su cita es mañana"), context)
        assert result.outcome is Outcome.SENT
    assert [call.get("Body") for call in fake.calls] == ["Su cita es mañana"] * 2
    assert all("ContentSid" not in call for call in fake.calls)


async def test_a_reply_is_never_held_for_a_template(
    channel: WhatsAppChannel, fake: FakeTwilio
) -> None:
    result = await channel.send(PERSON, Outbound("Hola"), SendContext(kind="reply"))
    assert result.outcome is Outcome.SENT
    assert len(fake.calls) == 1


async def test_a_status_callback_url_is_sent_when_configured(fake: FakeTwilio) -> None:
    callback = "https://psv.trabajo.gob.pe/webhooks/whatsapp/status"
    whatsapp = WhatsAppChannel(
        fake.account_sid, fake.auth_token, SENDER, fake.url, status_callback=callback
    )
    try:
        await whatsapp.send(PERSON, Outbound("Hola"), REPLY)
    finally:
        await whatsapp.close()
    assert fake.calls[0]["StatusCallback"] == callback


async def test_close_twice_and_send_after_close(channel: WhatsAppChannel, fake: FakeTwilio) -> None:
    await channel.close()
    await channel.close()
    result = await channel.send(PERSON, Outbound("Hola"), REPLY)
    assert result.outcome is Outcome.SENT


# --- Quick replies ----------------------------------------------------------------------------

QUICK = {"2": "HX" + "2" * 32, "3": "HX" + "3" * 32}


@pytest.fixture
async def buttons(fake: FakeTwilio) -> AsyncIterator[WhatsAppChannel]:
    whatsapp = WhatsAppChannel(
        fake.account_sid, fake.auth_token, SENDER, fake.url, quick_replies=QUICK, timeout=0.5
    )
    yield whatsapp
    await whatsapp.close()


async def test_up_to_three_short_options_go_as_quick_reply_buttons(
    buttons: WhatsAppChannel, fake: FakeTwilio
) -> None:
    message = Outbound("¿Confirmo su cita?", options=(Option("yes", "Sí"), Option("no", "No")))
    result = await buttons.send(PERSON, message, REPLY)
    assert result.outcome is Outcome.SENT
    [call] = fake.calls
    assert call["ContentSid"] == QUICK["2"]
    assert "Body" not in call
    assert json.loads(call["ContentVariables"]) == {
        "1": "¿Confirmo su cita?",
        "2": "Sí",
        "3": "yes",
        "4": "No",
        "5": "no",
    }


@pytest.mark.parametrize(
    "message",
    [
        Outbound("Elija:", options=(Option("a", "Uno"),)),  # no template for one button
        Outbound("Elija:", options=tuple(Option(str(n), f"Op {n}") for n in range(4))),
        Outbound(
            "Elija:", options=(Option("a", "Una etiqueta de más de veinte"), Option("b", "B"))
        ),
        Outbound("x" * 1025, options=(Option("a", "A"), Option("b", "B"))),
        Outbound("Sin opciones"),
    ],
)
async def test_other_messages_keep_the_numbered_list(
    buttons: WhatsAppChannel, fake: FakeTwilio, message: Outbound
) -> None:
    result = await buttons.send(PERSON, message, REPLY)
    assert result.outcome is Outcome.SENT
    assert all("ContentSid" not in call and call["Body"] for call in fake.calls)


async def test_a_tapped_quick_reply_comes_back_as_its_payload() -> None:
    params = {**form("whatsapp_button_reply"), "ButtonPayload": "yes", "ButtonText": "Sí"}
    parsed = parse_message(params)
    assert parsed.inbound is not None
    assert parsed.inbound.payload == "yes"


async def test_a_template_in_the_citizens_language_else_the_plain_one(fake: FakeTwilio) -> None:
    english = "HX" + "e" * 32
    whatsapp = WhatsAppChannel(
        fake.account_sid,
        fake.auth_token,
        SENDER,
        fake.url,
        templates={**TEMPLATES, "recordatorio_cita.en": english},
        clock=lambda: NOW,
        timeout=0.5,
    )
    try:
        late = NOW - timedelta(hours=30)
        for name in ("recordatorio_cita.en", "recordatorio_cita.qu", "recordatorio_cita"):
            result = await whatsapp.send(PERSON, Outbound("Recordatorio"), notice(late, name))
            assert result.outcome is Outcome.SENT
    finally:
        await whatsapp.close()
    assert [call["ContentSid"] for call in fake.calls] == [
        english,
        TEMPLATES["recordatorio_cita"],
        TEMPLATES["recordatorio_cita"],
    ]
