"""Dialog tests as tables of turns: what the person says, and what the bot must answer."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.conversation.engine import Engine
from bot.messages import Inbound, Location, Outbound
from core.db import Database
from core.settings import Settings

_ids = itertools.count(1)


@dataclass
class Clock:
    """A controllable clock for the engine."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@dataclass
class Reply:
    """Everything the bot answered to one message, joined for easy assertions."""

    messages: list[Outbound]

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)

    @property
    def options(self) -> list[str]:
        return [o.label for m in self.messages for o in m.options]

    @property
    def payloads(self) -> list[str]:
        return [o.payload for m in self.messages for o in m.options]


@dataclass
class Person:
    """Someone writing to the bot on a test channel."""

    engine: Engine
    user: str = field(default_factory=lambda: f"user-{next(_ids)}")
    channel: str = "test"
    lang_hint: str | None = None
    last: Reply | None = None

    async def says(
        self,
        text: str = "",
        *,
        payload: str | None = None,
        location: Location | None = None,
        start_param: str | None = None,
        message_id: str | None = None,
    ) -> Reply:
        inbound = Inbound(
            channel=self.channel,
            user_ref=self.user,
            message_id=message_id or f"m{next(_ids)}",
            text=text,
            payload=payload,
            location=location,
            lang_hint=self.lang_hint,
            start_param=start_param,
        )
        self.last = Reply(await self.engine.handle(inbound))
        return self.last


Expect = str | Sequence[str]


async def dialog(person: Person, turns: Sequence[tuple[str, Expect]]) -> Reply:
    """Play turns; each expected fragment must appear in the reply text or its options."""
    reply = Reply([])
    for n, (said, expected) in enumerate(turns, start=1):
        reply = await person.says(said)
        fragments = [expected] if isinstance(expected, str) else list(expected)
        shown = reply.text + "\n" + "\n".join(reply.options)
        for fragment in fragments:
            assert fragment in shown, f"turn {n} ({said!r}): {fragment!r} not in:\n{shown}"
    return reply


def make_engine(db: Database, clock: Clock, **settings: object) -> Engine:
    """An engine on a test database with the controllable clock."""
    return Engine(db, Settings(**settings), clock=clock)  # type: ignore[arg-type]


async def staffed_engine(db: Database, *staff: tuple[str, tuple[str, ...]]) -> Engine:
    """A started engine at the tests' NOW, after adding one specialist per (region, services)."""
    from tests.factories import NOW, add_specialist

    async with db.uow() as uow:
        for region, services in staff:
            await add_specialist(uow, region, services)
        await uow.commit()
    engine = make_engine(db, Clock(NOW))
    await engine.start()
    return engine
