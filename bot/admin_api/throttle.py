"""A limit on failed token attempts per client address (admin API and dashboard).

Tokens have 256 random bits, so guessing one is hopeless; the limit still keeps a script
that tries tokens from wasting database lookups, and makes such attempts visible. After
`LIMIT` refused tokens (401) from one address within `WINDOW`, every request from that
address gets 429 with `Retry-After` until the oldest of those failures is a `WINDOW` old,
valid tokens included (otherwise the answers would still tell a good guess from a bad one).
A success does not clear the count. The count lives in the process: several `psv serve`
processes each keep their own.
"""

from __future__ import annotations

import ipaddress
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

LIMIT = 10
WINDOW = timedelta(minutes=1)
# Addresses remembered at most; beyond it the stalest are forgotten first.
MAX_CLIENTS = 10_000


def client_address(request: web.Request) -> str:
    """The caller's address: the peer, or the last X-Forwarded-For hop behind a local proxy.

    Only a proxy on the same host (a loopback peer) is trusted to name the client; the last
    entry is the one that proxy added, so a client cannot choose it.
    """
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    try:
        local = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = False
    if local and forwarded:
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return peer


@dataclass
class FailureLimiter:
    """Refused-token counts per client address within a sliding window."""

    limit: int = LIMIT
    window: timedelta = WINDOW
    max_clients: int = MAX_CLIENTS
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def _recent(self, client: str, now: datetime) -> deque[datetime] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def retry_after(self, client: str, now: datetime) -> int | None:
        """Seconds this client must wait, or None when it may try."""
        times = self._recent(client, now)
        if times is None or len(times) < self.limit:
            return None
        wait = (times[-self.limit] + self.window - now).total_seconds()
        return max(1, math.ceil(wait))

    def failed(self, client: str, now: datetime) -> None:
        """Count one refused token from this client."""
        times = self._recent(client, now)
        if times is None:
            if len(self._failures) >= self.max_clients:
                self._forget_stalest(now)
            times = self._failures[client] = deque(maxlen=self.limit)
        times.append(now)

    def _forget_stalest(self, now: datetime) -> None:
        self._failures = {
            c: times for c, times in self._failures.items() if times[-1] > now - self.window
        }
        if len(self._failures) >= self.max_clients:
            stalest = min(self._failures, key=lambda c: self._failures[c][-1])
            del self._failures[stalest]
