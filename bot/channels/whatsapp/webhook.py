"""WhatsApp's place in PSV: its two webhooks (messages, delivery statuses), channel and limits.

Twilio takes the webhook URL in its console (or the sender's settings), so there is no
`set_webhook`; delivery statuses come to the status callback each send names.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web

from bot.channels.base import WebhookError
from bot.channels.registry import ChannelPlugin, Gateway, Route, SendLimits, register
from bot.channels.whatsapp.parse import (
    CHANNEL,
    EMPTY_TWIML,
    UNSUBSCRIBED,
    check_signature,
    parse_message,
    parse_status,
)
from bot.channels.whatsapp.send import WhatsAppChannel
from core.settings import Settings

PATH = "/webhooks/whatsapp"
STATUS_PATH = "/webhooks/whatsapp/status"


async def _params(request: web.Request, gateway: Gateway) -> dict[str, str]:
    """The form parameters of a request signed by Twilio; WebhookError otherwise."""
    auth_token = gateway.settings.twilio_auth_token
    if gateway.channel(CHANNEL) is None or not auth_token:
        raise WebhookError(404, "whatsapp channel is off")
    body = await request.read()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise WebhookError(400, "the body is not UTF-8 form data") from exc
    params = dict(pairs)
    url = gateway.settings.public_url + request.path_qs
    check_signature(url, params, request.headers.get("X-Twilio-Signature"), auth_token)
    return params


def _empty_twiml() -> web.Response:
    return web.Response(status=200, text=EMPTY_TWIML, content_type="text/xml")


async def message_webhook(request: web.Request, gateway: Gateway) -> web.Response:
    """POST /webhooks/whatsapp: answers empty TwiML; replies go through the outbox."""
    try:
        parsed = parse_message(await _params(request, gateway))
    except WebhookError as refused:
        return gateway.refuse(CHANNEL, refused)
    await gateway.accept(parsed)
    return _empty_twiml()


async def status_webhook(request: web.Request, gateway: Gateway) -> web.Response:
    """POST /webhooks/whatsapp/status: delivery status of a sent message."""
    try:
        params = await _params(request, gateway)
        status = parse_status(params)
    except WebhookError as refused:  # answered, not counted among refused webhooks
        return web.Response(status=refused.status, text=refused.reason)
    await gateway.record_delivery(status.message_sid, status.status)
    if status.error_code == UNSUBSCRIBED:
        await gateway.set_reachable(CHANNEL, params.get("To", ""), False)
    return _empty_twiml()


def build(settings: Settings) -> WhatsAppChannel | None:
    """The WhatsApp channel, or None without PSV_TWILIO_ACCOUNT_SID and PSV_TWILIO_AUTH_TOKEN."""
    if not settings.twilio_account_sid or not settings.twilio_auth_token:
        return None
    return WhatsAppChannel(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_whatsapp_from or "",
        settings.twilio_api_url,
        templates=settings.twilio_templates,
        quick_replies=settings.twilio_quick_replies,
        status_callback=f"{settings.public_url}{STATUS_PATH}",
    )


def limits(settings: Settings) -> SendLimits:
    """The rate the WhatsApp sender is allowed (PSV_WHATSAPP_RATE), in bursts of a sixth."""
    return SendLimits(settings.whatsapp_rate, settings.whatsapp_rate / 6)


PLUGIN = register(
    ChannelPlugin(
        CHANNEL,
        build=build,
        limits=limits,
        routes=(Route("POST", PATH, message_webhook), Route("POST", STATUS_PATH, status_webhook)),
    )
)
