"""The aiohttp server of `psv serve`: channel webhooks, health, metrics, background workers.

A webhook authenticates the request, parses it into an `Inbound` and queues it in the
database (a redelivered id is acknowledged and dropped), then answers at once. Inbox
processors run the queued turns (a person's messages in order, one at a time) and the
outbox worker sends the replies. Rejected requests change nothing.

While the database does not answer, webhooks answer 503 with Retry-After (the platforms
deliver again later) and the log says so once per outage (`bot/outage.py`). A request's
body must arrive within `PSV_BODY_TIMEOUT_SECONDS` (408 otherwise), its headers within
`PSV_HEADER_TIMEOUT_SECONDS` (aiohttp's keep-alive timer, which also runs before the first
request of a connection). A chat past its flood limit is kept but not answered, and told
once (`FloodGuard`).
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
from sqlalchemy import select, update

from bot import admin_api, i18n, metrics, outbox
from bot.channels import telegram, whatsapp
from bot.channels.base import Channel, Parsed, WebhookError
from bot.conversation.engine import Engine
from bot.inbox import Inbox
from bot.logs import pseudonym
from bot.messages import Inbound, Outbound
from bot.outage import DatabaseWatch
from bot.outbox.pacing import FloodGuard, Pacer
from bot.outbox.scheduler import run_with_scheduler
from bot.outbox.worker import OutboxWorker, record_delivery
from core.db import Database
from core.models import ChannelIdentity, Conversation
from core.settings import Settings
from core.states import InboundStatus

log = logging.getLogger("psv.server")

MAX_BODY = 1024 * 1024
RETRY_AFTER_S = 5  # what a 503 asks the platform to wait during a database outage
REPLY_PRIORITY = 10


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
        self.watch = DatabaseWatch(db)
        self.inbox = Inbox(
            self.engine, concurrency=1 if db.dialect == "sqlite" else 4, watch=self.watch
        )
        self.worker = OutboxWorker(
            db,
            self.channels,
            build_pacers(settings),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            retry_for=timedelta(seconds=settings.outbox_retry_seconds),
            name=settings.outbox_worker_name or "serve",
            watch=self.watch,
        )
        self.flood = FloodGuard(settings.flood_burst, settings.flood_per_minute)
        self.run_worker = run_worker
        self.run_inbox = run_inbox
        self.prepare = prepare
        self.counters = Counters()
        self._background: set[asyncio.Task[Any]] = set()
        self._worker_task: asyncio.Task[None] | None = None
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[self._read_body])
        self.app.router.add_post("/webhooks/telegram", self.telegram_webhook)
        self.app.router.add_post("/webhooks/whatsapp", self.whatsapp_webhook)
        self.app.router.add_post("/webhooks/whatsapp/status", self.whatsapp_status)
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
        await self.inbox.close()
        await self.db.dispose()

    def _later(self, job: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- webhooks ---------------------------------------------------------------------

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

    def _unavailable(self) -> web.Response:
        self.counters.inc("psv_webhook_unavailable_total")
        return web.Response(
            status=503,
            text="database unavailable, try again later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    async def _queue(self, parsed: Parsed) -> None:
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
                kind="reply",
                subject=None,
                tenant_id=None,
                due_at=now,
                priority=REPLY_PRIORITY,
                conversation_id=None if conversation is None else conversation.id,
            )
            await outbox.write(uow, [note], now=now)
            await uow.commit()
        self.worker.wake.set()

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
        followup = dict(parsed.followup)
        try:
            await self._queue(parsed)
            for key, reachable in (("blocked", False), ("unblocked", True)):
                if key in followup:
                    await self._set_reachable(telegram.CHANNEL, str(followup[key]), reachable)
        except Exception as exc:
            if await self.watch.is_outage(exc):
                return self._unavailable()
            raise
        if "callback_query_id" in followup:
            self._later(channel.acknowledge(followup))
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
        try:
            await self._queue(parsed)
        except Exception as exc:
            if await self.watch.is_outage(exc):
                return self._unavailable()
            raise
        return web.Response(status=200, text=whatsapp.EMPTY_TWIML, content_type="text/xml")

    async def whatsapp_status(self, request: web.Request) -> web.Response:
        """POST /webhooks/whatsapp/status: delivery status of a sent message."""
        try:
            params = await self._whatsapp_params(request)
            status = whatsapp.parse_status(params)
        except WebhookError as refused:
            return web.Response(status=refused.status, text=refused.reason)
        try:
            await record_delivery(self.db, status.message_sid, status.status)
            if status.error_code == 21610:
                await self._set_reachable(whatsapp.CHANNEL, params.get("To", ""), False)
        except Exception as exc:
            if await self.watch.is_outage(exc):
                return self._unavailable()
            raise
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
        """GET /healthz: 200 when the database answers, 503 (said once per outage) when not."""
        if not await self.watch.probe():
            return web.json_response(
                {"status": "database unavailable", "database": "down"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        return web.json_response({"status": "ok", "database": "up"})
