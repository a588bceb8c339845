"""The wake-up of the inbox's processors: one processor per ring, and no ring lost.

Two faults of an `asyncio.Event` shared by the processors (issue 16):
- a ring that came while a processor looked and found nothing was cleared with the look, so
  the message waited for the next poll (a second): about one turn in a hundred, paced;
- a ring woke every processor of every process for one message: at 300 messages a second
  each message cost seven empty claims, a transaction each.

Here a ring wakes one waiting processor; with none waiting it is kept for the next one that
would wait. A notification says how many messages it stands for (bot/pg_events.py), and
rings as many times: a burst behind one notification wakes as many processors as it needs.
A processor that found work looks again at once without waiting, so under a backlog every
processor stays busy.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib


class Doorbell:
    """Wakes one waiting task per ring; a ring with nobody waiting is kept for the next."""

    def __init__(self) -> None:
        self._kept = False
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    def set(self, times: int = 1) -> None:
        """Ring `times`: wake that many waiting tasks; rings nobody waits for are kept as one."""
        while self._waiting and times > 0:
            waiter = self._waiting.popleft()
            if not waiter.done():  # one whose wait ended meanwhile is passed over
                waiter.set_result(None)
                times -= 1
        if times > 0:
            self._kept = True

    def set_all(self) -> None:
        """Wake every waiting task (to stop), and keep a ring for any still busy."""
        self._kept = True
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, at_most: float) -> None:
        """Wait for a ring, for `at_most` seconds at the longest; a kept ring returns at once."""
        if self._kept:
            self._kept = False
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout=at_most)
        finally:
            with contextlib.suppress(ValueError):
                self._waiting.remove(waiter)
