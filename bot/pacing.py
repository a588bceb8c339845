"""Token buckets that keep sends within each platform's limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` sends per second on average, with bursts of up to `burst`."""

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self) -> float:
        """Seconds until a token is available (0 when one is there now)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def take(self) -> None:
        """Use one token (the caller checked `delay()` first)."""
        self._refill()
        self._tokens -= 1


class Pacer:
    """A channel's overall bucket plus one bucket per address (e.g. per Telegram chat)."""

    def __init__(
        self,
        rate: float,
        burst: float,
        per_address: tuple[float, float] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.overall = TokenBucket(rate, burst, clock=clock)
        self.per_address = per_address
        self._clock = clock
        self._addresses: dict[str, TokenBucket] = {}

    async def acquire(self, address: str) -> None:
        """Wait until both the channel and this address may send, then use a token of each."""
        bucket = None
        if self.per_address is not None:
            bucket = self._addresses.get(address)
            if bucket is None:
                rate, burst = self.per_address
                bucket = self._addresses[address] = TokenBucket(rate, burst, clock=self._clock)
                if len(self._addresses) > 10_000:  # forget idle chats now and then
                    self._addresses = {address: bucket}
        while True:
            wait = max(self.overall.delay(), bucket.delay() if bucket else 0.0)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self.overall.take()
        if bucket is not None:
            bucket.take()
