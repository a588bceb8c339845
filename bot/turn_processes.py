"""The turn processes `psv serve` starts on PostgreSQL: `psv inbox` children, kept running.

On PostgreSQL the default `psv serve` answers webhooks, sends and serves pages in its own
process and runs the conversation turns in `PSV_INBOX_PROCESSES` children (`psv inbox
--idle`): one Python process cannot use a second core, and turns run at idle priority, so
the webhooks keep their latency however long the queue. A child that dies is started again;
a child outlives neither a clean stop (SIGTERM, it finishes its turn) nor a crash of the
server (the kernel sends it SIGTERM: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import sys

log = logging.getLogger("psv.server")

PR_SET_PDEATHSIG = 1
RESTART_DELAY_S = 1.0
STOP_TIMEOUT_S = 20.0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class TurnProcesses:
    """`count` children running `psv inbox --idle --processors N`, restarted when they die."""

    def __init__(self, count: int, processors: int = 4, *, idle: bool = True) -> None:
        self.count = count
        self.command = [sys.executable, "-m", "bot.cli", "inbox", "--processors", str(processors)]
        if idle:
            self.command.append("--idle")
        self.children: list[asyncio.subprocess.Process] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        """Start the children and their keepers."""
        self._tasks = [asyncio.create_task(self._keep(n)) for n in range(self.count)]
        log.info("conversation turns run in %d inbox processes", self.count)

    async def _keep(self, slot: int) -> None:
        while not self._stopping:
            child = await asyncio.create_subprocess_exec(
                *self.command, preexec_fn=_die_with_parent, stdin=asyncio.subprocess.DEVNULL
            )
            self.children.append(child)
            code = await child.wait()
            self.children.remove(child)
            if self._stopping:
                return
            log.error("inbox process %d exited with code %s; starting it again", slot, code)
            await asyncio.sleep(RESTART_DELAY_S)

    async def stop(self) -> None:
        """Ask every child to finish its turn and stop; kill one that does not within 20 s."""
        self._stopping = True
        for child in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
        waits = [asyncio.create_task(child.wait()) for child in list(self.children)]
        if waits:
            _, late = await asyncio.wait(waits, timeout=STOP_TIMEOUT_S)
            for child in list(self.children):
                if child.returncode is None:
                    log.error("an inbox process did not stop in time; killed")
                    with contextlib.suppress(ProcessLookupError):
                        child.kill()
            if late:
                await asyncio.wait(late)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
