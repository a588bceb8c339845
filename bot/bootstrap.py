"""The composition root: settings -> database, channels, pacers, engine, inbox, outbox worker.

`bootstrap()` is the one place PSV's parts are put together; `psv serve` (bot/server.py),
`psv inbox` and `psv worker` (bot/cli/processes.py) all start from it. The channels come
from the registry (bot/channels/registry.py): a channel without credentials is off. The
engine, the inbox and the outbox worker are built on first use, so a process builds only
the parts it runs (`psv inbox` loads no channel); the parts of one process share one
`DatabaseWatch`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property

from bot.channels.base import Channel
from bot.channels.registry import ChannelPlugin, load
from bot.conversation.engine import Engine
from bot.inbox import Inbox
from bot.outage import DatabaseWatch
from bot.outbox.pacing import Pacer
from bot.outbox.worker import OutboxWorker
from core.db import Database
from core.settings import Settings

SQLITE_PROCESSORS = 1  # SQLite has one writer at a time: one turn at a time


def build_channels(
    settings: Settings, plugins: Mapping[str, ChannelPlugin] | None = None
) -> dict[str, Channel]:
    """The channels configured in the settings (a channel without credentials is off)."""
    channels: dict[str, Channel] = {}
    for name, plugin in (load() if plugins is None else plugins).items():
        channel = plugin.build(settings)
        if channel is not None:
            channels[name] = channel
    return channels


def build_pacers(
    settings: Settings, plugins: Mapping[str, ChannelPlugin] | None = None
) -> dict[str, Pacer]:
    """Each channel's send limits, as this worker's share of them.

    `PSV_OUTBOX_WORKERS` processes together keep to a platform's overall limit (a chat's
    messages go one at a time whichever worker sends them, so per-address limits stay whole).
    """
    share = settings.outbox_workers
    pacers: dict[str, Pacer] = {}
    for name, plugin in (load() if plugins is None else plugins).items():
        limits = plugin.limits(settings)
        pacers[name] = Pacer(
            limits.rate / share, max(1.0, limits.burst / share), per_address=limits.per_address
        )
    return pacers


class Parts:
    """PSV's parts for one process, built from the settings on first use (see `bootstrap`)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        channels: Mapping[str, Channel] | None = None,
        role: str = "serve",
        processors: int = 4,
    ) -> None:
        self.settings = settings
        self.db = db
        self.role = role
        self.processors = processors
        self.watch = DatabaseWatch(db)
        self._given_channels = None if channels is None else dict(channels)

    @cached_property
    def plugins(self) -> dict[str, ChannelPlugin]:
        """The registered channels (bot/channels/registry.py)."""
        return load()

    @cached_property
    def channels(self) -> dict[str, Channel]:
        """The channels configured in the settings (or those given instead)."""
        if self._given_channels is not None:
            return self._given_channels
        return build_channels(self.settings, self.plugins)

    @cached_property
    def pacers(self) -> dict[str, Pacer]:
        """The send pace of each channel (this process's share)."""
        return build_pacers(self.settings, self.plugins)

    @cached_property
    def engine(self) -> Engine:
        """The conversation engine."""
        return Engine(self.db, self.settings)

    @cached_property
    def inbox(self) -> Inbox:
        """The inbox and its processors (one at a time on SQLite)."""
        concurrency = SQLITE_PROCESSORS if self.db.dialect == "sqlite" else self.processors
        return Inbox(self.engine, concurrency=concurrency, watch=self.watch)

    @cached_property
    def worker(self) -> OutboxWorker:
        """The outbox worker, named by PSV_OUTBOX_WORKER_NAME or by this process's role."""
        return OutboxWorker(
            self.db,
            self.channels,
            self.pacers,
            lease=timedelta(seconds=self.settings.outbox_lease_seconds),
            retry_for=timedelta(seconds=self.settings.outbox_retry_seconds),
            name=self.settings.outbox_worker_name or self.role,
            watch=self.watch,
        )

    async def close(self) -> None:
        """Release the connections of the channels and the inbox (the database stays open)."""
        built = self.__dict__
        for channel in built.get("channels", {}).values():
            with contextlib.suppress(Exception):
                await channel.close()
        if "inbox" in built:
            await self.inbox.close()


def bootstrap(
    settings: Settings,
    db: Database | None = None,
    *,
    channels: Mapping[str, Channel] | None = None,
    role: str = "serve",
    processors: int = 4,
) -> Parts:
    """PSV's parts from its settings: database, channels, pacers, engine, inbox, outbox worker.

    `role` names the process ("serve", "inbox", "worker"); `processors` is how many turns
    the inbox runs at once; `channels` replaces the configured channels (tests).
    """
    database = Database(settings.database_url) if db is None else db
    return Parts(settings, database, channels=channels, role=role, processors=processors)
