"""The registry of channels: each channel module registers itself, its routes and its set-up.

A channel module ends with one `register(ChannelPlugin(...))`: its name, how to build its
`Channel` from the settings (None while its credentials are missing), the send limits of its
platform, the webhook routes it serves and, optionally, how to register its webhook with the
platform (`psv NAME set-webhook`). `BUILT_IN` is the one line per channel that makes
`load()` import it; the server, the outbox worker and the CLI learn the channels from here
only. Adding a channel is one module plus one line in `BUILT_IN`.

A webhook handler gets the request and a `Gateway`, the small interface the server gives
every channel. The server answers 503 (Retry-After) for a handler whose database work meets
an outage, so handlers only authenticate, parse and hand over.

This module stays light (no platform libraries, no aiohttp at import): `psv --help` reads
`BUILT_IN` to list the channels' commands.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from bot.channels.base import Channel, Parsed, WebhookError
    from core.settings import Settings

# name -> the module whose import registers the channel
BUILT_IN: Final[Mapping[str, str]] = {
    "telegram": "bot.channels.telegram",
    "whatsapp": "bot.channels.whatsapp",
}


class Gateway(Protocol):
    """What the server gives a channel's webhook handlers."""

    @property
    def settings(self) -> Settings:
        """The settings the server runs with."""
        ...

    def channel(self, name: str) -> Channel | None:
        """The configured channel of that name, None while it is off."""
        ...

    def refuse(self, channel: str, refused: WebhookError) -> web.Response:
        """Count a refused webhook of a channel and answer it with the refusal's status."""
        ...

    async def accept(self, parsed: Parsed) -> None:
        """Queue what a webhook carried in the inbox (flood guard, redeliveries, counters)."""
        ...

    async def set_reachable(self, channel: str, address: str, reachable: bool) -> None:
        """Mark a person reachable (or not: blocked, unsubscribed) on a channel."""
        ...

    async def record_delivery(self, provider_id: str, status: str) -> None:
        """Record a delivery status the platform reported for a sent message."""
        ...

    def later(self, job: Awaitable[Any]) -> None:
        """Run a follow-up after the answer (e.g. acknowledging a button tap)."""
        ...


Handler = Callable[["web.Request", Gateway], Awaitable["web.StreamResponse"]]


@dataclass(frozen=True)
class Route:
    """One webhook route a channel serves."""

    method: str
    path: str
    handler: Handler


@dataclass(frozen=True)
class SendLimits:
    """A platform's send limits: overall rate and burst, and per address (rate, burst)."""

    rate: float
    burst: float
    per_address: tuple[float, float] | None = None


@dataclass(frozen=True)
class ChannelPlugin:
    """Everything PSV needs to know about one channel."""

    name: str
    build: Callable[[Settings], Channel | None]
    limits: Callable[[Settings], SendLimits]
    routes: tuple[Route, ...] = ()
    # Registers the webhook with the platform and returns its URL (`psv NAME set-webhook`);
    # raises core.settings.SettingsError when a setting it needs is missing.
    set_webhook: Callable[[Settings], Coroutine[Any, Any, str]] | None = None


_registered: dict[str, ChannelPlugin] = {}


def register(plugin: ChannelPlugin) -> ChannelPlugin:
    """Add a channel to the registry (a channel module calls this once, at import)."""
    known = _registered.get(plugin.name)
    if known is not None and known is not plugin:
        raise ValueError(f"a channel named {plugin.name!r} is already registered")
    _registered[plugin.name] = plugin
    return plugin


def unregister(name: str) -> None:
    """Remove a channel from the registry (tests)."""
    _registered.pop(name, None)


def load() -> dict[str, ChannelPlugin]:
    """Every registered channel, the built-in ones first (importing registers them)."""
    for module in BUILT_IN.values():
        importlib.import_module(module)
    return dict(_registered)
