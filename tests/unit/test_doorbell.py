"""The doorbell of the inbox's processors: one processor per ring, and no ring lost."""

from __future__ import annotations

import asyncio

from bot.doorbell import Doorbell
from bot.pg_events import poke_count


async def _settle() -> None:
    """Let woken tasks run to their end (a few passes of the event loop)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def _waiting(bell: Doorbell, count: int) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(bell.wait(3600)) for _ in range(count)]
    await asyncio.sleep(0)  # every task is waiting now
    assert not any(task.done() for task in tasks)
    return tasks


async def test_a_ring_wakes_one_waiting_task_not_all() -> None:
    """One message, one processor: the others keep waiting instead of claiming nothing."""
    bell = Doorbell()
    tasks = await _waiting(bell, 3)
    bell.set()
    await _settle()
    assert [task.done() for task in tasks] == [True, False, False]
    bell.set()
    await _settle()
    assert [task.done() for task in tasks] == [True, True, False]
    bell.set_all()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)


async def test_a_notification_of_several_messages_wakes_as_many_tasks() -> None:
    """Two messages behind one notification: two processors, and the third keeps waiting."""
    bell = Doorbell()
    tasks = await _waiting(bell, 3)
    bell.set(2)
    await _settle()
    assert [task.done() for task in tasks] == [True, True, False]
    bell.set(5)  # more rings than waiting tasks: the rest is kept as one
    await _settle()
    assert all(task.done() for task in tasks)
    await asyncio.wait_for(bell.wait(3600), timeout=5)


async def test_a_ring_while_nobody_waits_is_kept_for_the_next_wait_once() -> None:
    """A message queued while every processor looked is not left for the next poll."""
    bell = Doorbell()
    bell.set()
    bell.set()  # kept once, not counted: one look finds what there is
    await asyncio.wait_for(bell.wait(3600), timeout=5)
    tasks = await _waiting(bell, 1)
    tasks[0].cancel()


async def test_a_wait_that_ended_is_passed_over_by_the_next_ring() -> None:
    """A task whose wait timed out is not woken in place of one still waiting."""
    bell = Doorbell()
    await bell.wait(0.01)  # nobody rang: it returns once its time is up
    tasks = await _waiting(bell, 1)
    bell.set()
    await asyncio.wait_for(tasks[0], timeout=5)


async def test_set_all_wakes_every_waiting_task() -> None:
    """Stopping wakes every processor at once."""
    bell = Doorbell()
    tasks = await _waiting(bell, 4)
    bell.set_all()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)


def test_a_notification_says_how_many_messages_it_stands_for() -> None:
    """The payload of the webhooks' NOTIFY; one without a count stands for one message."""
    assert [poke_count(payload) for payload in ("3", "1", "0", "", "x")] == [3, 1, 1, 1, 1]
