"""Telegram's place in PSV: its webhook, its channel, its send limits and its webhook set-up."""

from __future__ import annotations

from aiohttp import web

from bot.channels.base import WebhookError
from bot.channels.registry import ChannelPlugin, Gateway, Route, SendLimits, register
from bot.channels.telegram.parse import CHANNEL, check_secret, parse_update
from bot.channels.telegram.send import TelegramChannel
from core.settings import Settings, SettingsError

PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def webhook(request: web.Request, gateway: Gateway) -> web.Response:
    """POST /webhooks/telegram: authenticate, parse, queue; follow-ups after the answer."""
    channel = gateway.channel(CHANNEL)
    secret = gateway.settings.telegram_secret
    if not isinstance(channel, TelegramChannel) or not secret:
        return web.Response(status=404, text="telegram channel is off")
    try:
        check_secret(request.headers.get(SECRET_HEADER), secret)
        parsed = parse_update(await request.read())
    except WebhookError as refused:
        return gateway.refuse(CHANNEL, refused)
    followup = dict(parsed.followup)
    await gateway.accept(parsed)
    for key, reachable in (("blocked", False), ("unblocked", True)):
        if key in followup:
            await gateway.set_reachable(CHANNEL, str(followup[key]), reachable)
    if "callback_query_id" in followup:
        gateway.later(channel.acknowledge(followup))
    return web.Response(status=200)


def build(settings: Settings) -> TelegramChannel | None:
    """The Telegram channel, or None without PSV_TELEGRAM_TOKEN."""
    if not settings.telegram_token:
        return None
    return TelegramChannel(settings.telegram_token, settings.telegram_api_url)


def limits(settings: Settings) -> SendLimits:
    """PSV_TELEGRAM_RATE overall (the Bot API's 30/s; more with paid broadcasts), 1/s per chat."""
    rate = settings.telegram_rate
    return SendLimits(rate, max(1.0, rate / 6), per_address=(1.0, 3.0))


async def set_webhook(settings: Settings) -> str:
    """Register PSV_PUBLIC_URL/webhooks/telegram with Telegram, with the secret token."""
    if not settings.telegram_token or not settings.telegram_secret:
        raise SettingsError("PSV_TELEGRAM_TOKEN and PSV_TELEGRAM_SECRET are needed")
    url = f"{settings.public_url}{PATH}"
    channel = TelegramChannel(settings.telegram_token, settings.telegram_api_url)
    try:
        await channel.set_webhook(url, settings.telegram_secret)
    finally:
        await channel.close()
    return url


PLUGIN = register(
    ChannelPlugin(
        CHANNEL,
        build=build,
        limits=limits,
        routes=(Route("POST", PATH, webhook),),
        set_webhook=set_webhook,
    )
)
