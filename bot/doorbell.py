"""A wake-up shared by several waiting tasks that is never lost between a look and a wait.

An `asyncio.Event` cleared after a task looked for work and found none forgets a ring that
came during the look, and a task that clears it also forgets the rings meant for the others:
the work then waits for the next poll. Under a steady trickle of messages that was about one
turn in a hundred waiting a whole second (issue 16). Here a task takes a `ticket()` before
it looks and waits only if nothing rang since.
"""

from __future__ import annotations

import asyncio
import contextlib


class Doorbell:
    """Rings wake every task waiting now and every task that looked since its ticket."""

    def __init__(self) -> None:
        self._rings = 0
        self._event = asyncio.Event()

    def set(self) -> None:
        """Ring: wake the waiting tasks and mark the ring for those still looking."""
        self._rings += 1
        rung, self._event = self._event, asyncio.Event()
        rung.set()

    def ticket(self) -> int:
        """Take before looking for work: `wait` returns at once if a ring came after it."""
        return self._rings

    async def wait(self, ticket: int, at_most: float) -> None:
        """Wait for a ring after `ticket`, for `at_most` seconds at the longest."""
        if self._rings != ticket:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=at_most)
