"""Telegram: webhook parsing (`parse`), sending (`send`) and its place in PSV (`webhook`).

Importing this package registers the channel (bot/channels/registry.py).
"""

from bot.channels.telegram.parse import ALLOWED_UPDATES, CHANNEL, check_secret, parse_update
from bot.channels.telegram.send import (
    TelegramChannel,
    TelegramStartError,
    callback_data,
    keyboard,
    quiet_transport_loggers,
    render_text,
    split_text,
)
from bot.channels.telegram.webhook import PLUGIN

__all__ = [
    "ALLOWED_UPDATES",
    "CHANNEL",
    "PLUGIN",
    "TelegramChannel",
    "TelegramStartError",
    "callback_data",
    "check_secret",
    "keyboard",
    "parse_update",
    "quiet_transport_loggers",
    "render_text",
    "split_text",
]
