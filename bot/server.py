"""The aiohttp server of `psv serve`: channel webhooks, health, metrics, background workers.

A webhook authenticates the request, parses it into an `Inbound` and queues it in the
database (a redelivered id is acknowledged and dropped), then answers at once. Inbox
processors run the queued turns (a person's messages in order, one at a time) and the
outbox worker sends the replies. Rejected requests change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, text, update

from bot import admin_api
from bot.channels import telegram, whatsapp
from bot.channels.base import Channel, Parsed, WebhookError
from bot.engine import Engine
from bot.pacing import Pacer
from bot.scheduler import run_with_scheduler
from bot.worker import OutboxWorker, record_delivery
from core.db import Database
from core.models import ChannelIdentity, InboundMessage, OutboxMessage
from core.settings import Settings

log = logging.getLogger("psv.server")

MAX_BODY = 1024 * 1024


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


class Inbox:
    """Processor tasks that run queued turns until stopped."""

    def __init__(self, engine: Engine, *, concurrency: int, idle_wait: float = 1.0) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self.idle_wait = idle_wait
        self.wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the processor tasks."""
        self._tasks = [asyncio.create_task(self._run()) for _ in range(self.concurrency)]

    async def _run(self) -> None:
        while not self._stopping:
            try:
                worked = await self.engine.process_next()
            except Exception:
                log.exception("inbox processing failed; trying again shortly")
                worked = False
            if not worked and not self._stopping:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.idle_wait)

    async def stop(self) -> None:
        """Let each processor finish its current turn, then stop."""
        self._stopping = True
        self.wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run(self) -> None:
        """Process until `request_stop()` (for `psv inbox`)."""
        self.start()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def request_stop(self) -> None:
        """Ask the processors to stop after their current turn."""
        self._stopping = True
        self.wake.set()


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels configured in the settings (a channel without credentials is off)."""
    channels: dict[str, Channel] = {}
    if settings.telegram_token:
        channels[telegram.CHANNEL] = telegram.TelegramChannel(
            settings.telegram_token, settings.telegram_api_url
        )
    if settings.twilio_account_sid and settings.twilio_auth_token:
        channels[whatsapp.CHANNEL] = whatsapp.WhatsAppChannel(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_whatsapp_from or "",
            settings.twilio_api_url,
            templates=settings.twilio_templates,
            quick_replies=settings.twilio_quick_replies,
            status_callback=f"{settings.public_url}/webhooks/whatsapp/status",
        )
    return channels


def build_pacers(settings: Settings) -> dict[str, Pacer]:
    """Telegram: 30/s overall, 1/s per chat with short bursts; WhatsApp: a set rate.

    The overall rates are each worker's share: `PSV_OUTBOX_WORKERS` processes together keep
    to the platform's limit (a chat's messages go one at a time whichever worker sends them).
    """
    share = settings.outbox_workers
    telegram_rate, whatsapp_rate = 30 / share, settings.whatsapp_rate / share
    return {
        telegram.CHANNEL: Pacer(telegram_rate, max(1.0, 5 / share), per_address=(1.0, 3.0)),
        whatsapp.CHANNEL: Pacer(whatsapp_rate, max(1.0, whatsapp_rate / 6)),
    }


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
        prepare: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.channels = dict(build_channels(settings) if channels is None else channels)
        self.engine = Engine(db, settings)
        self.inbox = Inbox(self.engine, concurrency=1 if db.dialect == "sqlite" else 4)
        self.worker = OutboxWorker(
            db,
            self.channels,
            build_pacers(settings),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )
        self.run_worker = run_worker
        self.run_inbox = run_inbox
        self.prepare = prepare
        self.counters = Counters()
        self._background: set[asyncio.Task[Any]] = set()
        self._worker_task: asyncio.Task[None] | None = None
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.router.add_post("/webhooks/telegram", self.telegram_webhook)
        self.app.router.add_post("/webhooks/whatsapp", self.whatsapp_webhook)
        self.app.router.add_post("/webhooks/whatsapp/status", self.whatsapp_status)
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/metrics", self.metrics)
        admin_api.setup(self.app, db, settings)
        self.app.on_startup.append(self._startup)
        self.app.on_shutdown.append(self._shutdown)

    # ---- life cycle -------------------------------------------------------------------

    async def _startup(self, _app: web.Application) -> None:
        if self.prepare is not None:
            await self.prepare()
        await self.engine.start()
        self.engine.on_replies = self.worker.wake.set
        if self.run_inbox:
            self.inbox.start()
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
        if self._background:
            await asyncio.wait(self._background, timeout=5)
        if self._worker_task is not None:
            self.worker.stop()
            await self._worker_task
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.close()
        await self.engine.inbox.close()
        await self.db.dispose()

    def _later(self, job: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- webhooks ---------------------------------------------------------------------

    async def _queue(self, parsed: Parsed) -> None:
        if parsed.inbound is not None and await self.engine.accept(parsed.inbound):
            self.counters.inc("psv_inbound_queued_total", channel=parsed.inbound.channel)
            self.inbox.wake.set()
        elif parsed.inbound is not None:
            self.counters.inc("psv_inbound_redelivered_total", channel=parsed.inbound.channel)
        else:
            self.counters.inc("psv_inbound_ignored_total")

    async def telegram_webhook(self, request: web.Request) -> web.Response:
        """POST /webhooks/telegram."""
        channel = self.channels.get(telegram.CHANNEL)
        secret = self.settings.telegram_secret
        if not isinstance(channel, telegram.TelegramChannel) or not secret:
            return web.Response(status=404, text="telegram channel is off")
        try:
            telegram.check_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token"), secret)
            parsed = telegram.parse_update(await request.read())
        except WebhookError as refused:
            self.counters.inc(
                "psv_webhook_refused_total", channel="telegram", status=str(refused.status)
            )
            return web.Response(status=refused.status, text=refused.reason)
        await self._queue(parsed)
        followup = dict(parsed.followup)
        if "callback_query_id" in followup:
            self._later(channel.acknowledge(followup))
        for key, reachable in (("blocked", False), ("unblocked", True)):
            if key in followup:
                await self._set_reachable(telegram.CHANNEL, str(followup[key]), reachable)
        return web.Response(status=200)

    async def _whatsapp_params(self, request: web.Request) -> dict[str, str]:
        if self.channels.get(whatsapp.CHANNEL) is None or not self.settings.twilio_auth_token:
            raise WebhookError(404, "whatsapp channel is off")
        body = await request.read()
        try:
            from urllib.parse import parse_qsl

            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise WebhookError(400, "the body is not UTF-8 form data") from exc
        params = dict(pairs)
        url = self.settings.public_url + request.path_qs
        whatsapp.check_signature(
            url, params, request.headers.get("X-Twilio-Signature"), self.settings.twilio_auth_token
        )
        return params

    async def whatsapp_webhook(self, request: web.Request) -> web.Response:
        """POST /webhooks/whatsapp: answers empty TwiML; replies go through the outbox."""
        try:
            params = await self._whatsapp_params(request)
            parsed = whatsapp.parse_message(params)
        except WebhookError as refused:
            self.counters.inc(
                "psv_webhook_refused_total", channel="whatsapp", status=str(refused.status)
            )
            return web.Response(status=refused.status, text=refused.reason)
        await self._queue(parsed)
        return web.Response(status=200, text=whatsapp.EMPTY_TWIML, content_type="text/xml")

    async def whatsapp_status(self, request: web.Request) -> web.Response:
        """POST /webhooks/whatsapp/status: delivery status of a sent message."""
        try:
            params = await self._whatsapp_params(request)
            status = whatsapp.parse_status(params)
        except WebhookError as refused:
            return web.Response(status=refused.status, text=refused.reason)
        await record_delivery(self.db, status.message_sid, status.status)
        if status.error_code == 21610:
            await self._set_reachable(whatsapp.CHANNEL, params.get("To", ""), False)
        return web.Response(status=200, text=whatsapp.EMPTY_TWIML, content_type="text/xml")

    async def _set_reachable(self, channel: str, address: str, reachable: bool) -> None:
        async with self.db.uow() as uow:
            await uow.session.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
                .values(reachable=reachable)
            )
            await uow.commit()

    # ---- operations -------------------------------------------------------------------

    async def healthz(self, _request: web.Request) -> web.Response:
        """GET /healthz: 200 when the database answers."""
        try:
            async with self.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            log.warning("health check: the database does not answer")
            return web.json_response({"status": "database unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    async def metrics(self, _request: web.Request) -> web.Response:
        """GET /metrics: Prometheus text format (bind privately)."""
        lines = ["# TYPE psv_events_total counter", *self.counters.render()]
        stats = self.worker.stats
        for name, bucket in (
            ("psv_outbox_sent_total", stats.sent),
            ("psv_outbox_retried_total", stats.retried),
            ("psv_outbox_failed_total", stats.failed),
            ("psv_outbox_needs_template_total", stats.held),
        ):
            lines += [f'{name}{{channel="{ch}"}} {n}' for ch, n in sorted(bucket.items())]
        async with self.db.uow() as uow:
            for status, count in await uow.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ):
                lines.append(f'psv_outbox_messages{{status="{status}"}} {count}')
            queued = await uow.session.scalar(
                select(func.count())
                .select_from(InboundMessage)
                .where(InboundMessage.status == "queued")
            )
            lines.append(f"psv_inbox_queued {queued}")
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")
