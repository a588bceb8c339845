"""What one conversation turn costs: turns/s, CPU ms and SQL statements per turn, one at a time.

People write to the engine directly (no channel, no inbox), one message after the other, so the
figures are the cost of a turn itself and not of waiting on others: the process's CPU time
(`time.process_time`, which includes aiosqlite's thread) over the turns, and the statements
counted with a `before_cursor_execute` listener. The people follow bench_engine.py's script
(consent, a booking from «hola» to the confirmation, nonsense, help, their appointments).

    PYTHONPATH=$PWD .venv/bin/python bench/bench_turn_cost.py [--people 30] [--pg-dsn DSN] \
        [--by-step]

With --by-step, the CPU and statements of each message of the script, averaged over the people.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from bench_engine import NOW, script  # the same people as the engine benchmark
from scratch import on_both, people_args
from sqlalchemy import event

from bot.conversation.engine import Engine
from bot.messages import Inbound
from core import catalog, migrate
from core.db import Database
from core.settings import Settings


async def run(url: str, people: int, label: str, by_step: bool = False) -> None:
    db = Database(url)
    await migrate.upgrade(db)
    async with db.uow() as uow:
        await catalog.seed(uow, demo=True)
        await uow.commit()
    engine = Engine(db, Settings(database_url=url), clock=lambda: NOW)
    await engine.start()
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    await engine.handle(Inbound(channel="bench", user_ref="warm", message_id="w", text="hola"))
    statements = 0
    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    turns = 0
    steps = len(script(0))
    step_cpu, step_statements = [0.0] * steps, [0] * steps
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(people):
        for i, text in enumerate(script(n)):
            inbound = Inbound(channel="bench", user_ref=f"p{n}", message_id=f"{n}-{i}", text=text)
            before_cpu, before_statements = time.process_time(), statements
            await engine.handle(inbound)
            step_cpu[i] += time.process_time() - before_cpu
            step_statements[i] += statements - before_statements
            turns += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    await db.dispose()
    print(
        f"{label:10} {turns:5d} turns  {turns / wall:7.1f} turns/s  "
        f"{cpu * 1000 / turns:6.2f} CPU ms/turn  {wall * 1000 / turns:6.2f} wall ms/turn  "
        f"{statements / turns:5.1f} statements/turn"
    )
    if by_step:
        for i, text in enumerate(script(0)):
            print(
                f"    step {i:2d} {text[:24]!r:28} {step_cpu[i] * 1000 / people:6.2f} CPU ms "
                f"{step_statements[i] / people:5.1f} statements"
            )


async def main() -> int:
    by_step = "--by-step" in sys.argv
    if by_step:
        sys.argv.remove("--by-step")
    args = people_args(__doc__.splitlines()[0], 30)
    print(f"{args.people} people x {len(script(0))} messages each, one message at a time")
    await on_both(
        lambda url, label: run(url, args.people, label, by_step), args.pg_dsn, "psv_bench_turn"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
