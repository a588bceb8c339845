"""What the turns write, as live events for open dashboards (server-sent events).

Session listeners note, at each flush, appointments booked and changed (cancelled,
attended, no_show) and event registrations. After the transaction commits, the events go
to this process's `Hub` (so a savepoint or transaction rolled back publishes nothing).
On PostgreSQL each event is also sent with `pg_notify` inside the same transaction (sent
by PostgreSQL on commit only); every `psv serve` LISTENs, so turns run by a separate
`psv inbox` process reach the page too. An event carries a kind, a region id and a
service id: no personal data. Each process tags its events with its own origin and
ignores its own notifications (it already published them locally).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from bot import pg_events
from core.models import (
    Appointment,
    AppointmentStatus,
    EventRegistration,
    GroupEvent,
    RegistrationStatus,
)

log = logging.getLogger("psv.dashboard.live")

CHANNEL = "psv_live"
ORIGIN = secrets.token_hex(6)
QUEUE_SIZE = 256  # events kept for one slow page before the oldest are dropped
_PENDING = "psv_live_pending"
KINDS = ("booked", "cancelled", "attended", "no_show", "registered")


@dataclass(frozen=True)
class LiveEvent:
    """One committed change worth showing: its kind, region and service."""

    kind: str
    tenant_id: int
    service_id: int | None

    def to_json(self) -> dict[str, Any]:
        """The event as sent to pages and through NOTIFY."""
        return {"kind": self.kind, "tenant_id": self.tenant_id, "service_id": self.service_id}


class Hub:
    """In-process publish/subscribe: each open page has a bounded queue."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[LiveEvent]] = set()
        self.observers: list[Callable[[LiveEvent], None]] = []

    def publish(self, found: LiveEvent) -> None:
        """Hand an event to every subscriber (a full queue loses its oldest event)."""
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(found)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[LiveEvent]]:
        """A queue that receives every event published while the block runs."""
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def subscribers(self) -> int:
        """How many pages listen now."""
        return len(self._queues)


HUB = Hub()


def _changes(session: Session) -> list[tuple[Any, LiveEvent]]:
    found: list[tuple[Any, LiveEvent]] = []
    for obj in session.new:
        if isinstance(obj, Appointment) and obj.status in (None, AppointmentStatus.BOOKED):
            found.append((obj, LiveEvent("booked", obj.tenant_id, obj.service_id)))
        elif isinstance(obj, EventRegistration) and obj.status == RegistrationStatus.CONFIRMED:
            tenant = _registration_tenant(obj)
            if tenant is not None:
                found.append((obj, LiveEvent("registered", tenant, None)))
    for obj in session.dirty:
        if not isinstance(obj, Appointment):
            continue
        history = inspect(obj).attrs.status.history
        if history.added and history.added[0] != AppointmentStatus.BOOKED:
            kind = AppointmentStatus(history.added[0]).value
            found.append((obj, LiveEvent(kind, obj.tenant_id, obj.service_id)))
    return found


def _after_flush(session: Session, _context: Any) -> None:
    changes = _changes(session)
    if not changes:
        return
    session.info.setdefault(_PENDING, []).extend(changes)
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    connection = session.connection()
    for _obj, found in changes:
        payload = json.dumps({"o": ORIGIN, **found.to_json()})
        connection.execute(select(func.pg_notify(CHANNEL, payload)))


def _settled(obj: Any, found: LiveEvent) -> LiveEvent | None:
    """The event if its change survived the commit (not undone by a savepoint rollback)."""
    state = inspect(obj)
    if not state.persistent:
        return None
    if isinstance(obj, EventRegistration):
        return found
    status = state.dict.get("status")
    if status is None:
        return found if found.kind == "booked" else None
    expected = AppointmentStatus.BOOKED.value if found.kind == "booked" else found.kind
    return found if AppointmentStatus(status).value == expected else None


def _registration_tenant(obj: EventRegistration) -> int | None:
    """The region of a registration's event, if the session holds that event."""
    state = inspect(obj)
    session = state.session
    event_id = state.dict.get("event_id")
    if session is None or event_id is None:
        return None
    for held in session.identity_map.values():
        if isinstance(held, GroupEvent) and inspect(held).dict.get("id") == event_id:
            tenant = inspect(held).dict.get("tenant_id")
            return int(tenant) if tenant is not None else None
    return None


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction may still roll back
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    from bot import metrics

    for obj, noted in pending:
        found = _settled(obj, noted)
        if found is None:
            continue
        metrics.count_booking(found.kind)
        HUB.publish(found)


def _after_rollback(session: Session, previous: Any) -> None:
    if previous.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_PENDING, None)


def install() -> None:
    """Listen to every session's flushes and commits (once per process)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def _notified(payload: str) -> None:
    try:
        data = json.loads(payload)
        if data.get("o") == ORIGIN or data.get("kind") not in KINDS:
            return
        HUB.publish(LiveEvent(data["kind"], int(data["tenant_id"]), data.get("service_id")))
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a malformed %s notification", CHANNEL)


class Listener(pg_events.Listener):
    """LISTEN on PostgreSQL for events committed by other processes; reconnects when cut."""

    def __init__(self, database_url: str, retry_seconds: float = 5.0) -> None:
        super().__init__(database_url, {CHANNEL: _notified}, retry_seconds)
