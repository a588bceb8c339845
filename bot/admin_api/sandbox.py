"""`flows try`: one engine turn with a chosen flow version in a sandbox conversation.

The conversation is on channel "try", which no outbox worker sends on. Each turn runs with
`Engine.rehearse`: in a transaction that is rolled back, so nothing it does (a booking, a
specialist's card, a hand-off, any outbox row) ever exists outside it; only the sandbox
conversation's progress is kept for the next line.

Starting a session uses only the engine's public `handle`: the conversation is pinned to the
version at its first step with that step in its history, and a "back" command makes the
engine ask it. (A hook such as `Engine.start(inbound, flow_version_id)` would be cleaner.)
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.admin_api.context import AdminContext
from bot.conversation.engine import Engine
from bot.flows.registry import compiled
from bot.messages import Inbound, Outbound
from core.errors import NotFound
from core.models import (
    Conversation,
    FlowVersion,
    Tenant,
)

CHANNEL = "try"
SESSION_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")


@dataclass(frozen=True)
class TryResult:
    """The session to continue with and what the bot answered."""

    session: str
    replies: list[Outbound]
    step: str | None


def reply_json(reply: Outbound) -> dict[str, Any]:
    """A reply as the API shows it."""
    return {
        "text": reply.text,
        "options": [{"payload": o.payload, "label": o.label} for o in reply.options],
        "links": list(reply.links),
    }


def _engine(ctx: AdminContext) -> Engine:
    if ctx.sandbox is None:
        ctx.sandbox = Engine(ctx.db, ctx.settings, clock=ctx.clock)
    engine: Engine = ctx.sandbox
    return engine


def _user_ref(tenant: Tenant, session: str) -> str:
    return f"{tenant.code}:{session}"


async def _start(ctx: AdminContext, tenant: Tenant, version: FlowVersion, session: str) -> None:
    start = compiled(version).definition.start
    now = ctx.clock()
    async with ctx.db.uow() as uow:
        uow.session.add(
            Conversation(
                channel=CHANNEL,
                user_ref=_user_ref(tenant, session),
                flow_version_id=version.id,
                step=start,
                answers={},
                memory={"consent": now.isoformat(), "region": tenant.code},
                state={"history": [start, start]},
                language="es",
                created_at=now,
            )
        )
        await uow.commit()


async def run(
    ctx: AdminContext, tenant: Tenant, version: FlowVersion, session: str | None, text: str
) -> TryResult:
    """Start a session at the version's first step, or answer `text` in an existing one."""
    engine = _engine(ctx)
    if session is None:
        session = secrets.token_urlsafe(12)
        await _start(ctx, tenant, version, session)
        inbound = Inbound(CHANNEL, _user_ref(tenant, session), uuid.uuid4().hex, payload="nav:back")
    else:
        if not SESSION_RE.fullmatch(session):
            raise NotFound("no such try session")
        async with ctx.db.uow() as uow:
            found = await uow.session.scalar(
                select(Conversation.id).where(
                    Conversation.channel == CHANNEL,
                    Conversation.user_ref == _user_ref(tenant, session),
                )
            )
        if found is None:
            raise NotFound("no such try session in this region")
        inbound = Inbound(CHANNEL, _user_ref(tenant, session), uuid.uuid4().hex, text=text)
    replies = await engine.rehearse(inbound)
    async with ctx.db.uow() as uow:
        step = await uow.session.scalar(
            select(Conversation.step).where(
                Conversation.channel == CHANNEL,
                Conversation.user_ref == _user_ref(tenant, session),
            )
        )
    return TryResult(session, replies, step)
