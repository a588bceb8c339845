"""`GET /metrics` with prometheus-client: messages, latencies, outbox and inbox depth, bookings.

Counters and histograms live in this module (one set per process, as Prometheus expects);
each `Server` gets its own registry holding them plus a collector that reads, at scrape
time, the server's own counts (webhook refusals, inbound outcomes) and a few cheap
database figures. The database figures use indexes only: counts are bounded (`DEPTH_CAP`)
and the oldest due message is one index seek (migration 0009, `ix_outbox_status_due`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.messages import REPLY_PRIORITY
from core.models import InboundMessage, OutboxMessage
from core.models.conversations import QUEUED_LITERAL
from core.states import OutboxStatus
from core.types import utcnow

if TYPE_CHECKING:
    from bot.server import Server

# Counts of waiting rows stop at this many: a bounded index scan stays cheap at any size.
DEPTH_CAP = 100_000
OUTBOX_WAITING = ("pending", "sending", "needs_template")
WEBHOOK_PATH = "/webhooks/"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

WEBHOOK_SECONDS = Histogram(
    "psv_webhook_seconds",
    "Time to answer a channel webhook, from its first byte handled to the answer.",
    ["channel", "code"],
    buckets=LATENCY_BUCKETS,
    registry=None,
)
TURN_SECONDS = Histogram(
    "psv_turn_seconds",
    "Time to run one queued turn (claim, flow steps, replies queued, commit).",
    buckets=TURN_BUCKETS,
    registry=None,
)
BOOKINGS = Counter(
    "psv_bookings",
    "Appointment changes committed, by outcome (booked, cancelled, attended, no_show) "
    "and event registrations (registered).",
    ["outcome"],
    registry=None,
)
LOGGED_ERRORS = Counter(
    "psv_logged_errors",
    "Records logged at ERROR or above by the psv loggers, by logger.",
    ["logger"],
    registry=None,
)

# Server counter names (bot/server.py `Counters`) and how they are exposed.
_INBOUND = re.compile(r"psv_inbound_(\w+)_total")


def observe_turn(seconds: float) -> None:
    """Record the duration of one turn that ran."""
    TURN_SECONDS.observe(seconds)


def count_booking(outcome: str) -> None:
    """Count one committed appointment change or registration."""
    BOOKINGS.labels(outcome=outcome).inc()


class _ErrorCounter(logging.Handler):
    """Counts ERROR records of the `psv.*` loggers (turn failures, crashed loops...)."""

    def emit(self, record: logging.LogRecord) -> None:
        LOGGED_ERRORS.labels(logger=record.name).inc()


_error_handler = _ErrorCounter(level=logging.ERROR)


def _count_logged_errors() -> None:
    root = logging.getLogger("psv")
    if _error_handler not in root.handlers:
        root.addHandler(_error_handler)


@dataclass
class DatabaseFigures:
    """What the last scrape read from the database."""

    outbox: dict[str, int] = field(default_factory=dict)
    oldest_due_age: float = 0.0
    oldest_reply_age: float = 0.0
    inbox_queued: int = 0
    oldest_queued_age: float = 0.0
    up: bool = True


async def _bounded_count(session: Any, query: Any) -> int:
    inner = query.limit(DEPTH_CAP).subquery()
    return int(await session.scalar(select(func.count()).select_from(inner)) or 0)


async def read_database(server: Server, now: datetime | None = None) -> DatabaseFigures:
    """Outbox and inbox depth and the age of their oldest due rows (index reads only)."""
    now = now or utcnow()
    found = DatabaseFigures()
    async with server.db.uow() as uow:
        session = uow.session
        for status in OUTBOX_WAITING:
            found.outbox[status] = await _bounded_count(
                session, select(OutboxMessage.id).where(OutboxMessage.status == status)
            )
        oldest = await session.scalar(
            select(OutboxMessage.due_at)
            .where(OutboxMessage.status == "pending", OutboxMessage.due_at <= now)
            .order_by(OutboxMessage.due_at)
            .limit(1)
        )
        found.oldest_due_age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        # Replies to people writing now apart from notices (one seek on ix_outbox_due).
        reply = await session.scalar(
            select(OutboxMessage.due_at)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.priority == REPLY_PRIORITY,
                OutboxMessage.due_at <= now,
            )
            .order_by(OutboxMessage.due_at)
            .limit(1)
        )
        found.oldest_reply_age = max(0.0, (now - reply).total_seconds()) if reply else 0.0
        queued = select(InboundMessage.id).where(InboundMessage.status == QUEUED_LITERAL)
        found.inbox_queued = await _bounded_count(session, queued)
        first = await session.scalar(
            select(InboundMessage.received_at)
            .where(InboundMessage.status == QUEUED_LITERAL)
            .order_by(InboundMessage.id)
            .limit(1)
        )
        found.oldest_queued_age = max(0.0, (now - first).total_seconds()) if first else 0.0
    return found


class ServerCollector(Collector):
    """The server's own counts and the last database figures, as metric families."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.figures = DatabaseFigures()

    def collect(self) -> Iterator[Any]:
        """Metric families of this server (called by the registry at each scrape)."""
        inbound = CounterMetricFamily(
            "psv_inbound_messages",
            "Inbound messages by channel and what became of them "
            "(queued, flooded, redelivered, ignored).",
            labels=["channel", "status"],
        )
        errors = CounterMetricFamily(
            "psv_errors",
            "Errors by kind: refused webhooks, database outages, slow or cut bodies, failed sends.",
            labels=["kind", "channel", "detail"],
        )
        for (name, labels), value in sorted(self.server.counters.values.items()):
            found = dict(labels)
            match = _INBOUND.fullmatch(name)
            if match:
                channel = found.get("channel", "")
                inbound.add_metric([channel, match.group(1)], value)
            else:
                kind = name.removeprefix("psv_").removesuffix("_total")
                detail = found.get("status", "")
                errors.add_metric([kind, found.get("channel", ""), detail], value)
        stats = self.server.worker.stats
        outbound = CounterMetricFamily(
            "psv_outbound_messages",
            "Outbound sends by channel and result (sent, retried, failed, needs_template).",
            labels=["channel", "status"],
        )
        for status, bucket in (
            ("sent", stats.sent),
            ("retried", stats.retried),
            ("failed", stats.failed),
            ("needs_template", stats.held),
        ):
            for channel, n in sorted(bucket.items()):
                outbound.add_metric([channel, status], n)
                if status == "failed":
                    errors.add_metric(["send_failed", channel, ""], n)
        yield inbound
        yield outbound
        yield errors
        figures = self.figures
        depth = GaugeMetricFamily(
            "psv_outbox_depth",
            f"Outbox messages waiting, by status (counted up to {DEPTH_CAP}).",
            labels=["status"],
        )
        for status, n in figures.outbox.items():
            depth.add_metric([status], n)
        yield depth
        yield GaugeMetricFamily(
            "psv_outbox_oldest_due_seconds",
            "Age of the oldest pending outbox message that is due (0 when none).",
            value=figures.oldest_due_age,
        )
        yield GaugeMetricFamily(
            "psv_outbox_oldest_reply_seconds",
            "Age of the oldest pending reply to someone writing now (notices apart; 0 when none).",
            value=figures.oldest_reply_age,
        )
        yield GaugeMetricFamily(
            "psv_inbox_queued",
            f"Inbound messages queued for a turn (counted up to {DEPTH_CAP}).",
            value=figures.inbox_queued,
        )
        yield GaugeMetricFamily(
            "psv_inbox_oldest_queued_seconds",
            "Age of the oldest queued inbound message (0 when none).",
            value=figures.oldest_queued_age,
        )
        yield GaugeMetricFamily(
            "psv_database_up", "1 when the last scrape could read the database.", value=figures.up
        )


def _webhook_channel(path: str) -> str:
    rest = path[len(WEBHOOK_PATH) :]
    return "whatsapp_status" if rest == "whatsapp/status" else rest.split("/", 1)[0][:20]


@web.middleware
async def webhook_timer(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Time every webhook request (first middleware: the body's arrival is included)."""
    if not request.path.startswith(WEBHOOK_PATH):
        return await handler(request)
    started = time.perf_counter()
    code = "500"
    try:
        response = await handler(request)
        code = str(response.status)
        return response
    except web.HTTPException as exc:
        code = str(exc.status)
        raise
    finally:
        WEBHOOK_SECONDS.labels(channel=_webhook_channel(request.path), code=code).observe(
            time.perf_counter() - started
        )


class Metrics:
    """The /metrics endpoint of one server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.collector = ServerCollector(server)
        self.registry = CollectorRegistry(auto_describe=True)
        for metric in (WEBHOOK_SECONDS, TURN_SECONDS, BOOKINGS, LOGGED_ERRORS, self.collector):
            self.registry.register(metric)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    async def handle(self, _request: web.Request) -> web.Response:
        """GET /metrics: Prometheus text format (bind privately)."""
        try:
            self.collector.figures = await read_database(self.server)
        except Exception as exc:
            if not await self.server.watch.is_outage(exc):
                raise
            self.collector.figures = DatabaseFigures(up=False)
        body = generate_latest(self.registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


def setup(server: Server) -> Metrics:
    """Serve /metrics on the server's app and time its webhooks."""
    _count_logged_errors()
    found = Metrics(server)
    server.app.middlewares.insert(0, webhook_timer)
    server.app.router.add_get("/metrics", found.handle)
    return found
