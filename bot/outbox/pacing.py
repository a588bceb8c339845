"""Token buckets that keep sends within each platform's limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# A token this close (in seconds of refill) counts as there: sleeping exactly the delay
# given must be enough, although the clock's floating point may leave a few ULPs short.
_TOLERANCE_S = 1e-6
# Past this many per-address buckets, those of idle addresses (full again) are forgotten.
MAX_ADDRESSES = 10_000


class TokenBucket:
    """`rate` sends per second on average, with bursts of up to `burst`.

    The bucket always holds at least one token, so a burst under 1 (e.g. a rate of 0.5
    used as its own burst) means one message at a time at that rate, not none ever.
    """

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._capacity = max(1.0, burst)
        self._clock = clock
        self._tokens = self._capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self) -> float:
        """Seconds until a token is available (0 when one is there now)."""
        self._refill()
        wait = (1 - self._tokens) / self.rate
        return 0.0 if wait <= _TOLERANCE_S else wait

    def take(self) -> None:
        """Use one token (the caller checked `delay()` first)."""
        self._refill()
        self._tokens -= 1

    def full(self) -> bool:
        """Whether the bucket has refilled completely (forgetting it would change nothing)."""
        self._refill()
        return self._tokens >= self._capacity - _TOLERANCE_S * self.rate


async def _wait_for(bucket: TokenBucket) -> None:
    """Sleep until the bucket has a token (a refill is a matter of time, not of an event)."""
    wait = bucket.delay()
    while wait > 0:
        await asyncio.sleep(wait)
        wait = bucket.delay()


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
        self._line = asyncio.Lock()

    async def acquire(self, address: str) -> None:
        """Wait until both the channel and this address may send, then use a token of each."""
        bucket = None
        if self.per_address is not None:
            bucket = self._addresses.get(address)
            if bucket is None:
                rate, burst = self.per_address
                bucket = self._addresses[address] = TokenBucket(rate, burst, clock=self._clock)
                if len(self._addresses) > MAX_ADDRESSES:
                    self._forget_idle(keep=address)
        if bucket is not None:
            # This chat's own pace first, outside the line: it holds back no other chat.
            await _wait_for(bucket)
        # Then the channel's, first come first served: under a long overload every waiting
        # send gets its turn in order, none starves past its lease.
        async with self._line:
            await _wait_for(self.overall)
            self.overall.take()
        if bucket is not None:
            bucket.take()

    def _forget_idle(self, keep: str) -> None:
        """Drop the buckets of idle addresses; a throttled one must keep its (empty) bucket."""
        self._addresses = {
            address: bucket
            for address, bucket in self._addresses.items()
            if address == keep or not bucket.full()
        }


class FloodGuard:
    """Per chat: a burst, then `per_minute` messages a minute run as turns; the rest wait out.

    `check` answers "run" (a normal message), "tell" (the first one past the limit: keep it
    unanswered and tell the person once to slow down) or "hold" (keep it unanswered, say
    nothing more). A chat that stays calm until its bucket is full again starts afresh.
    """

    def __init__(
        self, burst: int, per_minute: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.rate = per_minute / 60
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._told: set[str] = set()

    def check(self, chat: str) -> str:
        """What to do with this chat's next message: "run", "tell" or "hold"."""
        bucket = self._buckets.get(chat)
        if bucket is None:
            bucket = self._buckets[chat] = TokenBucket(self.rate, self.burst, clock=self._clock)
            if len(self._buckets) > MAX_ADDRESSES:
                self._forget_calm(keep=chat)
        elif bucket.full():
            self._told.discard(chat)
        if bucket.delay() <= 0:
            bucket.take()
            return "run"
        if chat in self._told:
            return "hold"
        self._told.add(chat)
        return "tell"

    def _forget_calm(self, keep: str) -> None:
        self._buckets = {
            chat: bucket
            for chat, bucket in self._buckets.items()
            if chat == keep or not bucket.full()
        }
        self._told &= set(self._buckets)
