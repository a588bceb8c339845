"""PostgreSQL: the default `psv serve` runs the turns in `psv inbox` children it keeps alive."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.stack import Stack

CHAT = 7770321


def _running_children(parent: int) -> list[int]:
    """The live (not zombie) `psv inbox` processes whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z" and b"inbox" in command:
            found.append(int(entry.name))
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(400):  # up to 20 s: a loaded test run starts Python processes slowly
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within 20 s: {what}")


async def _say(stack: Stack, text: str) -> str:
    before = len(stack.tg_sent(CHAT))
    assert await stack.tg_post(stack.tg_text(CHAT, text)) == 200
    return "\n".join(str(m.get("text", "")) for m in await stack.tg_wait(CHAT, before))


async def _two_children(stack: Stack) -> tuple[int, list[int]]:
    """The running server's pid and its two inbox processes, once both are up."""
    assert stack.proc is not None
    server = stack.proc.pid
    await _until(lambda: len(_running_children(server)) == 2, "two inbox processes")
    return server, _running_children(server)


@pytest.mark.postgres
async def test_turns_run_in_two_inbox_processes_which_are_restarted_and_stopped(
    tmp_path: Path, scratch_pg: str
) -> None:
    stack = Stack(tmp_path, database_url=scratch_pg)
    async with stack:
        server, first = await _two_children(stack)
        assert "¿Acepta?" in await _say(stack, "hola")

        os.kill(first[0], signal.SIGKILL)  # a turn process dies: the server starts another
        await _until(
            lambda: (
                len(_running_children(server)) == 2 and first[0] not in _running_children(server)
            ),
            "a new inbox process in place of the killed one",
        )
        assert "¿En qué le puedo ayudar?" in await _say(stack, "si")
        assert "exited with code -9; starting it again" in stack.log()

        children = _running_children(server)
        assert await stack.stop() == 0  # SIGTERM: the children finish and stop with it
        assert not any(_alive(pid) for pid in children)


@pytest.mark.postgres
async def test_inbox_processes_do_not_outlive_a_crashed_server(
    tmp_path: Path, scratch_pg: str
) -> None:
    stack = Stack(tmp_path, database_url=scratch_pg)
    async with stack:
        _server, children = await _two_children(stack)
        await stack.stop(signal.SIGKILL)
        await _until(lambda: not any(_alive(pid) for pid in children), "the children gone")


@pytest.mark.postgres
async def test_inbox_processes_zero_runs_the_turns_in_the_server(
    tmp_path: Path, scratch_pg: str
) -> None:
    stack = Stack(tmp_path, database_url=scratch_pg)
    stack.extra_env = {"PSV_INBOX_PROCESSES": "0"}
    async with stack:
        assert stack.proc is not None
        assert "¿Acepta?" in await _say(stack, "hola")
        assert _running_children(stack.proc.pid) == []
