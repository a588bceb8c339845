"""TokenBucket and Pacer against a fake clock: bursts, rates, per-address and overall limits.

`asyncio.sleep` is replaced by a fake that records each wait and moves the fake clock
forward by it, so nothing here sleeps and no assertion depends on wall time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.bootstrap import build_pacers
from bot.outbox.pacing import MAX_ADDRESSES, Pacer, TokenBucket
from core.settings import Settings


class FakeClock:
    """A monotonic clock that only moves when told (starts far from 0, like a real one)."""

    def __init__(self, now: float = 84_213.379) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def waits(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every `asyncio.sleep` wait, in order; each one advances the fake clock instead."""
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float, result: object = None) -> object:
        assert len(recorded) < 1000, "acquire keeps sleeping: it would never return"
        recorded.append(delay)
        clock.advance(delay)
        await real_sleep(0)  # still yield to the loop, as a real sleep would
        return result

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return recorded


# --------------------------------------------------------------------------- TokenBucket


def test_bucket_allows_a_burst_then_the_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, clock=clock)
    for _ in range(3):
        assert bucket.delay() == 0.0
        bucket.take()
    assert bucket.delay() == pytest.approx(0.5)
    clock.advance(0.25)
    assert bucket.delay() == pytest.approx(0.25)
    clock.advance(0.25)
    assert bucket.delay() == 0.0
    bucket.take()
    assert bucket.delay() == pytest.approx(0.5)


def test_bucket_refills_no_further_than_the_burst(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=10.0, burst=2.0, clock=clock)
    bucket.take()
    bucket.take()
    clock.advance(3600)  # a long idle time earns no more than `burst` tokens
    bucket.take()
    bucket.take()
    assert bucket.delay() == pytest.approx(0.1)


def test_bucket_delay_does_not_use_a_token(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=1.0, burst=1.0, clock=clock)
    for _ in range(5):
        assert bucket.delay() == 0.0
    bucket.take()
    assert bucket.delay() == pytest.approx(1.0)


def test_bucket_with_a_fractional_rate(clock: FakeClock) -> None:
    """A rate under one per second (e.g. a WhatsApp rate of 0.5) still lets messages out."""
    bucket = TokenBucket(rate=0.5, burst=0.5, clock=clock)
    assert bucket.delay() == 0.0
    bucket.take()
    assert bucket.delay() == pytest.approx(2.0)
    clock.advance(2.0)
    assert bucket.delay() == 0.0


# --------------------------------------------------------------------------- Pacer


async def _timed(
    clock: FakeClock, acquire: Callable[[str], Awaitable[None]], address: str
) -> float:
    """Acquire for an address; the fake time it took."""
    start = clock.now
    await acquire(address)
    return clock.now - start


async def test_pacer_burst_is_free_then_waits_the_rate(
    clock: FakeClock, waits: list[float]
) -> None:
    pacer = Pacer(rate=4.0, burst=2.0, clock=clock)
    assert [await _timed(clock, pacer.acquire, "1") for _ in range(2)] == [0.0, 0.0]
    assert waits == []
    took = [await _timed(clock, pacer.acquire, "1") for _ in range(3)]
    assert took == [pytest.approx(0.25)] * 3
    assert waits == [pytest.approx(0.25)] * 3


async def test_pacer_waits_exactly_once_per_token_with_awkward_rates(
    clock: FakeClock, waits: list[float]
) -> None:
    """Rates whose delays do not add up exactly in floating point still cost one wait each."""
    for rate in (3.0, 0.3, 7.0, 30.0):
        waits.clear()
        pacer = Pacer(rate=rate, burst=1.0, clock=clock)
        await pacer.acquire("1")
        for _ in range(5):
            await pacer.acquire("1")
        assert waits == [pytest.approx(1 / rate)] * 5, rate


async def test_per_address_limit_is_independent_per_address(
    clock: FakeClock, waits: list[float]
) -> None:
    pacer = Pacer(rate=1000.0, burst=1000.0, per_address=(1.0, 2.0), clock=clock)
    # Two at once for each chat: no wait, whatever the other chats did.
    for address in ("100", "200", "300"):
        assert await _timed(clock, pacer.acquire, address) == 0.0
        assert await _timed(clock, pacer.acquire, address) == 0.0
    assert waits == []
    # The third for one chat waits for that chat's bucket (1 per second)...
    assert await _timed(clock, pacer.acquire, "100") == pytest.approx(1.0)
    assert waits == [pytest.approx(1.0)]
    # ... and a new chat still goes at once.
    assert await _timed(clock, pacer.acquire, "400") == 0.0
    assert waits == [pytest.approx(1.0)]


async def test_overall_limit_is_shared_by_all_addresses(
    clock: FakeClock, waits: list[float]
) -> None:
    pacer = Pacer(rate=2.0, burst=3.0, per_address=(1.0, 3.0), clock=clock)
    took = [await _timed(clock, pacer.acquire, address) for address in ("1", "2", "3")]
    assert took == [0.0, 0.0, 0.0]
    # A fourth chat has its own full bucket, but the channel's is empty.
    assert await _timed(clock, pacer.acquire, "4") == pytest.approx(0.5)
    assert await _timed(clock, pacer.acquire, "5") == pytest.approx(0.5)
    assert waits == [pytest.approx(0.5), pytest.approx(0.5)]


async def test_pacer_waits_for_the_slower_of_both_buckets(
    clock: FakeClock, waits: list[float]
) -> None:
    pacer = Pacer(rate=10.0, burst=2.0, per_address=(0.5, 1.0), clock=clock)
    await pacer.acquire("1")
    # The channel's bucket still has a token; the chat's refills only after 2 s.
    assert await _timed(clock, pacer.acquire, "1") == pytest.approx(2.0)
    assert sum(waits) == pytest.approx(2.0)
    # Another chat only waits for the channel (already refilled by then).
    assert await _timed(clock, pacer.acquire, "2") == 0.0


async def test_pacer_without_per_address_limit(clock: FakeClock, waits: list[float]) -> None:
    pacer = Pacer(rate=1.0, burst=1.0, clock=clock)
    await pacer.acquire("1")
    assert await _timed(clock, pacer.acquire, "1") == pytest.approx(1.0)
    assert await _timed(clock, pacer.acquire, "2") == pytest.approx(1.0)
    assert waits == [pytest.approx(1.0), pytest.approx(1.0)]


async def test_concurrent_acquires_never_exceed_the_limit(
    clock: FakeClock, waits: list[float]
) -> None:
    """Many senders at once (the worker gathers a batch): every one gets through, in budget."""
    rate, burst = 5.0, 3.0
    pacer = Pacer(rate=rate, burst=burst, clock=clock)
    start = clock.now
    granted: list[float] = []

    async def send(n: int) -> None:
        await pacer.acquire(str(n))
        granted.append(clock.now - start)

    await asyncio.gather(*(send(n) for n in range(20)))
    assert len(granted) == 20
    granted.sort()
    for count, at in enumerate(granted, start=1):
        # No more than the burst plus what the rate earned by then.
        assert count <= burst + rate * at + 1e-6


async def test_fractional_rate_pacer_does_not_hang(clock: FakeClock, waits: list[float]) -> None:
    """Pacer(0.5, 0.5), as built for PSV_WHATSAPP_RATE=0.5, sends one message every 2 s."""
    pacer = Pacer(rate=0.5, burst=0.5, clock=clock)
    await asyncio.wait_for(pacer.acquire("+51900000001"), timeout=5)
    assert waits == []
    assert await _timed(clock, pacer.acquire, "+51900000002") == pytest.approx(2.0)


async def test_forgetting_idle_chats_keeps_the_limit_of_busy_ones(
    clock: FakeClock, waits: list[float]
) -> None:
    """Past MAX_ADDRESSES chats, idle buckets go, but a throttled chat stays throttled."""
    pacer = Pacer(rate=1e9, burst=1e9, per_address=(1.0, 1.0), clock=clock)
    for n in range(MAX_ADDRESSES):
        await pacer.acquire(f"idle{n}")
    clock.advance(5.0)  # every one of those chats is idle (full) again
    await pacer.acquire("busy")  # the busy chat's bucket is now empty
    await pacer.acquire("new")  # one chat too many: idle buckets are forgotten
    assert waits == []
    assert await _timed(clock, pacer.acquire, "busy") == pytest.approx(1.0)
    assert await _timed(clock, pacer.acquire, "idle0") == 0.0


def test_several_workers_each_pace_at_their_share() -> None:
    """Three workers at 10/s each keep Telegram's 30/s together; per chat stays 1/s."""
    alone = build_pacers(Settings())
    shared = build_pacers(Settings(outbox_workers=3, whatsapp_rate=90))
    assert alone["telegram"].overall.rate == 30
    assert shared["telegram"].overall.rate == 10
    assert shared["whatsapp"].overall.rate == 30
    assert shared["telegram"].per_address == alone["telegram"].per_address == (1.0, 3.0)


def test_telegram_rate_is_a_setting() -> None:
    """PSV_TELEGRAM_RATE (paid broadcasts allow more) sets the overall rate; a chat stays 1/s."""
    pacers = build_pacers(Settings(telegram_rate=120, outbox_workers=2))
    assert pacers["telegram"].overall.rate == 60
    assert pacers["telegram"].per_address == (1.0, 3.0)
    with pytest.raises(ValueError, match="messages per second"):
        Settings(telegram_rate=0)


async def test_under_overload_sends_take_the_channel_in_arrival_order(
    clock: FakeClock, waits: list[float]
) -> None:
    """FIFO over the channel's bucket: a long overload starves no send (past its lease)."""
    pacer = Pacer(1.0, 1.0, per_address=(1.0, 3.0), clock=clock)
    done: list[str] = []

    async def send(chat: str) -> None:
        await pacer.acquire(chat)
        done.append(chat)

    chats = [f"chat-{n}" for n in range(12)]
    await asyncio.gather(*(send(chat) for chat in chats))
    assert done == chats
