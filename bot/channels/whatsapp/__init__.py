"""WhatsApp through Twilio: webhook parsing (`parse`), sending (`send`), its place (`webhook`).

Importing this package registers the channel (bot/channels/registry.py).
"""

from bot.channels.whatsapp.parse import (
    CHANNEL,
    EMPTY_TWIML,
    UNSUBSCRIBED,
    StatusUpdate,
    check_signature,
    parse_message,
    parse_status,
)
from bot.channels.whatsapp.send import (
    DEFAULT_API_URL,
    MAX_BODY,
    OPTIONS_PER_MESSAGE,
    WhatsAppChannel,
    render,
    split_text,
)
from bot.channels.whatsapp.webhook import PLUGIN

__all__ = [
    "CHANNEL",
    "DEFAULT_API_URL",
    "EMPTY_TWIML",
    "MAX_BODY",
    "OPTIONS_PER_MESSAGE",
    "PLUGIN",
    "UNSUBSCRIBED",
    "StatusUpdate",
    "WhatsAppChannel",
    "check_signature",
    "parse_message",
    "parse_status",
    "render",
    "split_text",
]
