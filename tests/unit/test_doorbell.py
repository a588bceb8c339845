"""The doorbell that wakes the inbox's processors keeps rings that come while they look."""

from __future__ import annotations

import asyncio

from bot.doorbell import Doorbell


async def test_a_ring_after_the_ticket_is_not_waited_for() -> None:
    """Two tasks took tickets and looked; a ring meanwhile wakes both, whoever looked last."""
    bell = Doorbell()
    first, second = bell.ticket(), bell.ticket()
    bell.set()
    await asyncio.wait_for(bell.wait(first, 3600), timeout=5)
    await asyncio.wait_for(bell.wait(second, 3600), timeout=5)


async def test_a_ring_wakes_every_task_already_waiting() -> None:
    """Each waiting task wakes on one ring; none of them consumes it for the others."""
    bell = Doorbell()
    ticket = bell.ticket()
    waiting = [asyncio.create_task(bell.wait(ticket, 3600)) for _ in range(3)]
    await asyncio.sleep(0)  # all three are waiting now
    assert not any(task.done() for task in waiting)
    bell.set()
    await asyncio.wait_for(asyncio.gather(*waiting), timeout=5)


async def test_without_a_ring_the_wait_lasts_its_timeout() -> None:
    """No ring since the ticket: the task waits (here briefly), and a ring before it is old."""
    bell = Doorbell()
    bell.set()  # before the ticket: not a reason to look again
    ticket = bell.ticket()
    waiting = asyncio.create_task(bell.wait(ticket, 3600))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    waiting.cancel()
    await bell.wait(ticket, 0.01)  # returns once its timeout passes
    assert bell.ticket() == ticket
