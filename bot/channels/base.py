"""What every channel provides: the `Channel` protocol and the vocabulary of its results.

A channel does two things: it turns a platform's webhook into `Inbound`s (after
authenticating it), and it sends an `Outbound` to an address, reporting the result in
the small vocabulary of `SendResult`. Nothing about a platform is visible past it. How a
channel joins PSV (its routes, limits and set-up) is in bot/channels/registry.py.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.messages import Inbound, Outbound
from core.states import REPLY_KIND


class Outcome(enum.StrEnum):
    """How a send ended."""

    SENT = "sent"
    RETRY = "retry"  # try again later (timeouts, 5xx, 429): `retry_after` when the platform says
    PERMANENT = "permanent"  # never retry (blocked by the user, unsubscribed, bad address)
    NEEDS_TEMPLATE = "needs_template"  # WhatsApp: outside the 24-hour window, no template set


@dataclass(frozen=True)
class SendResult:
    """The result of one send; `unreachable` marks the person as opted out on this channel."""

    outcome: Outcome
    provider_ids: tuple[str, ...] = ()
    retry_after: float | None = None
    error: str | None = None
    unreachable: bool = False


@dataclass(frozen=True)
class SendContext:
    """What a channel may need to know about a message beyond its content."""

    kind: str = REPLY_KIND  # REPLY_KIND to a person who just wrote, or "notification"
    template: str | None = None  # the name of an approved template for business-initiated sends
    template_vars: Mapping[str, str] = field(default_factory=dict)
    last_inbound_at: datetime | None = None  # the person's last message (24-hour window)
    # Parts of this message that earlier attempts already delivered: a retry sends the rest.
    parts_sent: int = 0


class WebhookError(Exception):
    """A webhook request that must be refused; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Parsed:
    """What a webhook carried: an inbound to handle, or nothing (acknowledged and ignored)."""

    inbound: Inbound | None
    # Platform-specific follow-ups done after answering (e.g. answerCallbackQuery).
    followup: Mapping[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    """A messaging platform seen from PSV."""

    name: str

    async def send(self, address: str, message: Outbound, context: SendContext) -> SendResult:
        """Deliver one message to an address."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
