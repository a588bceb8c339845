"""The aiohttp server of `psv serve`: channel webhooks, health, metrics, background workers.

Each channel serves its own webhook routes (bot/channels/registry.py); the server mounts
them and is their `Gateway`. A webhook authenticates the request, parses it into an
`Inbound` and queues it in the database (a redelivered id is acknowledged and dropped), then
answers at once. Inbox processors run the queued turns (a person's messages in order, one at
a time) and the outbox worker sends the replies. Rejected requests change nothing. The parts
come from the composition root (bot/bootstrap.py).

While the database does not answer, webhooks answer 503 with Retry-After (the platforms
deliver again later) and the log says so once per outage (`bot/outage.py`). A request's
body must arrive within `PSV_BODY_TIMEOUT_SECONDS` (408 otherwise), its headers within
`PSV_HEADER_TIMEOUT_SECONDS` (aiohttp's keep-alive timer, which also runs before the first
request of a connection). A chat past its flood limit is kept but not answered, and told
once (`FloodGuard`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from bot import admin_api, i18n, metrics, outbox, pg_events
from bot.bootstrap import bootstrap
from bot.channels.base import Channel, Parsed, WebhookError
from bot.channels.registry import Handler
from bot.logs import pseudonym
from bot.messages import REPLY_PRIORITY, Inbound, Outbound
from bot.outbox.pacing import FloodGuard
from bot.outbox.scheduler import run_with_scheduler
from bot.outbox.worker import record_delivery
from bot.pg_events import INBOX, OUTBOX
from bot.turn_processes import TurnProcesses
from core.db import Database
from core.models import ChannelIdentity, Conversation
from core.settings import Settings
from core.states import REPLY_KIND, InboundStatus

log = logging.getLogger("psv.server")

MAX_BODY = 1024 * 1024
RETRY_AFTER_S = 5  # what a 503 asks the platform to wait during a database outage


@dataclass
class Counters:
    """Counters for /metrics (Prometheus text format)."""

    values: dict[tuple[str, tuple[tuple[str, str], ...]], int] = field(default_factory=dict)

    def inc(self, name: str, **labels: str) -> None:
        """Add one to a labelled counter."""
        key = (name, tuple(sorted(labels.items())))
        self.values[key] = self.values.get(key, 0) + 1

    def render(self) -> list[str]:
        """The counters as Prometheus text lines."""
        lines = []
        for (name, labels), value in sorted(self.values.items()):
            rendered = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"{name}{{{rendered}}} {value}" if rendered else f"{name} {value}")
        return lines


class Server:
    """Everything `psv serve` runs, wired together; `app` is the aiohttp application."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        channels: Mapping[str, Channel] | None = None,
        run_worker: bool = True,
        run_inbox: bool = True,
        turn_processes: int = 0,
        prepare: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.parts = bootstrap(settings, db, channels=channels, role="serve")
        self.settings = settings
        self.db = db
        self.channels = self.parts.channels
        self.engine = self.parts.engine
        self.watch = self.parts.watch
        self.inbox = self.parts.inbox
        self.worker = self.parts.worker
        self.flood = FloodGuard(settings.flood_burst, settings.flood_per_minute)
        self.run_worker = run_worker
        # Turns in `psv inbox` children (PostgreSQL only; bot/turn_processes.py).
        self.children = TurnProcesses(turn_processes) if turn_processes and db.is_postgres else None
        self.run_inbox = run_inbox and self.children is None
        self.prepare = prepare
        self._listener: pg_events.Listener | None = None
        self._notifier: pg_events.Notifier | None = None
        self.counters = Counters()
        self._background: set[asyncio.Task[Any]] = set()
        self._worker_task: asyncio.Task[None] | None = None
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[self._read_body])
        for plugin in self.parts.plugins.values():
            for route in plugin.routes:
                self.app.router.add_route(route.method, route.path, self._serve(route.handler))
        self.app.router.add_get("/healthz", self.healthz)
        metrics.setup(self)  # GET /metrics (bot/metrics.py)
        admin_api.setup(self.app, db, settings)
        self.app.on_startup.append(self._startup)
        self.app.on_shutdown.append(self._shutdown)

    # ---- life cycle -------------------------------------------------------------------

    async def _startup(self, _app: web.Application) -> None:
        if self.prepare is not None:
            await self.prepare()
        await self.engine.start()
        self.inbox.on_replies = self.worker.wake.set
        if self.run_inbox:
            self.inbox.start()
        elif self.db.is_postgres:
            # Turns run in other processes: wake them when messages are queued (one NOTIFY
            # for a burst, not one a message), and let them wake this process's worker when
            # they have queued replies.
            self._notifier = pg_events.Notifier(self.db.url, INBOX)
            self.inbox.writer.on_queued = self._notifier.poke
            if self.run_worker:
                wake = self.worker.wake.set
                self._listener = pg_events.Listener(self.db.url, {OUTBOX: lambda _p: wake()})
                self._listener.start()
        if self.children is not None:
            self.children.start()
        if self.run_worker:
            # The scheduler (morning agendas) runs beside the worker and stops with it.
            self._worker_task = asyncio.create_task(
                run_with_scheduler(self.worker, self.db, self.settings)
            )
        log.info(
            "serving channels: %s; outbox worker %s",
            ", ".join(sorted(self.channels)) or "none",
            "on" if self.run_worker else "off",
        )

    async def _shutdown(self, _app: web.Application) -> None:
        """Stop taking work, finish what is in flight, record it, release everything."""
        await self.inbox.stop()
        if self.children is not None:
            await self.children.stop()
        if self._listener is not None:
            await self._listener.stop()
        if self._notifier is not None:
            await self._notifier.close()
        if self._background:
            await asyncio.wait(self._background, timeout=5)
        if self._worker_task is not None:
            self.worker.stop()
            await self._worker_task
        await self.parts.close()
        await self.db.dispose()

    # ---- webhooks: the channels' routes and their Gateway -----------------------------

    @web.middleware
    async def _read_body(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Read a request's whole body within the body timeout (it is kept for the handler)."""
        if request.body_exists and not request.content_type.startswith("multipart/"):
            try:
                async with asyncio.timeout(self.settings.body_timeout_seconds):
                    await request.read()
            except TimeoutError:
                self.counters.inc("psv_slow_body_total")
                log.info("a client sent its body too slowly; answered 408 (%s)", request.path)
                return web.Response(status=408, text="the body took too long to arrive")
            except ConnectionError:
                self.counters.inc("psv_abandoned_body_total")
                log.info("a client went away before sending its whole body (%s)", request.path)
                return web.Response(status=400, text="incomplete body")
        return await handler(request)

    def _serve(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """A channel's handler as an aiohttp handler: 503 when the database is down."""

        async def serve(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request, self)
            except web.HTTPException:
                raise
            except Exception as exc:
                if await self.watch.is_outage(exc):
                    return self._unavailable()
                raise

        return serve

    def _unavailable(self) -> web.Response:
        self.counters.inc("psv_webhook_unavailable_total")
        return web.Response(
            status=503,
            text="database unavailable, try again later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    def channel(self, name: str) -> Channel | None:
        """The configured channel of that name, None while it is off."""
        return self.channels.get(name)

    def refuse(self, channel: str, refused: WebhookError) -> web.Response:
        """Count a refused webhook of a channel and answer it with the refusal's status."""
        self.counters.inc("psv_webhook_refused_total", channel=channel, status=str(refused.status))
        return web.Response(status=refused.status, text=refused.reason)

    async def accept(self, parsed: Parsed) -> None:
        """Queue what a webhook carried in the inbox (flood guard, redeliveries, counters)."""
        inbound = parsed.inbound
        if inbound is None:
            self.counters.inc("psv_inbound_ignored_total")
            return
        verdict = self.flood.check(f"{inbound.channel}:{inbound.user_ref}")
        status = InboundStatus.QUEUED if verdict == "run" else InboundStatus.FLOODED
        if await self.inbox.accept(inbound, status=status):
            if verdict == "run":
                self.counters.inc("psv_inbound_queued_total", channel=inbound.channel)
                self.inbox.wake.set()
            else:
                self.counters.inc("psv_inbound_flooded_total", channel=inbound.channel)
            if verdict == "tell":
                log.info("%s is flooding the bot; told to slow down", pseudonym(inbound.user_ref))
                await self._tell_to_slow_down(inbound)
        else:
            self.counters.inc("psv_inbound_redelivered_total", channel=inbound.channel)
        self.watch.answered()

    async def _tell_to_slow_down(self, inbound: Inbound) -> None:
        """Queue the one "please slow down" reply of a flood, in the person's language."""
        async with self.db.uow() as uow:
            found = await uow.session.execute(
                select(Conversation.id, Conversation.language).where(
                    Conversation.channel == inbound.channel,
                    Conversation.user_ref == inbound.user_ref,
                )
            )
            conversation = found.first()
            lang = self.settings.default_lang if conversation is None else conversation.language
            now = self.engine.clock()
            note = outbox.Note(
                key=None,
                channel=inbound.channel,
                address=inbound.user_ref,
                message=Outbound(i18n.t("flood.slow_down", lang)),
                kind=REPLY_KIND,
                subject=None,
                tenant_id=None,
                due_at=now,
                priority=REPLY_PRIORITY,
                conversation_id=None if conversation is None else conversation.id,
            )
            await outbox.write(uow, [note], now=now)
            await uow.commit()
        self.worker.wake.set()

    async def set_reachable(self, channel: str, address: str, reachable: bool) -> None:
        """Mark a person reachable (or not: blocked, unsubscribed) on a channel."""
        async with self.db.uow() as uow:
            await uow.session.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
                .values(reachable=reachable)
            )
            await uow.commit()

    async def record_delivery(self, provider_id: str, status: str) -> None:
        """Record a delivery status the platform reported for a sent message."""
        await record_delivery(self.db, provider_id, status)

    def later(self, job: Awaitable[Any]) -> None:
        """Run a follow-up after the answer (e.g. acknowledging a button tap)."""
        task = asyncio.ensure_future(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- operations -------------------------------------------------------------------

    async def healthz(self, _request: web.Request) -> web.Response:
        """GET /healthz: 200 when the database answers, 503 (said once per outage) when not."""
        if not await self.watch.probe():
            return web.json_response(
                {"status": "database unavailable", "database": "down"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        return web.json_response({"status": "ok", "database": "up"})
