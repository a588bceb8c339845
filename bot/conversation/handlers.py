"""The handlers a message is offered to, in order; the first that answers it wins.

In the spirit of python-telegram-bot's `Application.process_update`: each handler returns
its replies when the message is for it, else None and the next one is asked. The order is
`Engine.handlers` (bot/conversation/engine.py); the flow runner (`flow_runner.py`) comes
last and always answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.conversation import followups, relay
from bot.conversation.desk import Desk
from bot.messages import Inbound, Outbound
from bot.understanding import global_command
from core.models import Conversation
from core.uow import UnitOfWork


@dataclass(frozen=True)
class Message:
    """One inbound message inside its turn's transaction, with the conversation it is part of."""

    uow: UnitOfWork
    conversation: Conversation
    inbound: Inbound
    now: datetime
    # Read with the conversation (engine.py): False skips the desk's and relay's own queries.
    from_specialist: bool = True
    has_ticket: bool = True


class Handler(Protocol):
    """Replies when the message is for this handler; None passes it to the next one."""

    async def __call__(self, message: Message) -> list[Outbound] | None:
        """The replies, or None when the message is not for this handler."""
        ...


class SpecialistDesk:
    """A message from a specialist's registered address: their desk, never the flows."""

    def __init__(self, timezone: str, meeting_url: str) -> None:
        self.desk = Desk(timezone, meeting_url)

    async def __call__(self, message: Message) -> list[Outbound] | None:
        """The desk's replies to a specialist; None for anyone else."""
        if not message.from_specialist:
            return None
        return await self.desk.handle(
            message.uow, message.conversation, message.inbound, message.now
        )


class FollowUps:
    """Answers to what the bot sent on its own: survey scores and comments, new times offered."""

    def __init__(self, meeting_url: str) -> None:
        self.meeting_url = meeting_url

    async def __call__(self, message: Message) -> list[Outbound] | None:
        """The replies when the message answers a notification; None otherwise."""
        return await followups.handle(
            message.uow, message.conversation, message.inbound, message.now, self.meeting_url
        )


class Relay:
    """A citizen whose ticket is assigned (relayed to the specialist) or waiting (kept)."""

    async def __call__(self, message: Message) -> list[Outbound] | None:
        """Relay, keep or close; None when no ticket takes the message (the flows go on)."""
        if not message.has_ticket:
            return None
        uow, conversation, inbound, now = (
            message.uow,
            message.conversation,
            message.inbound,
            message.now,
        )
        ticket = await relay.ticket_of_conversation(uow, conversation.id)
        command = global_command(inbound.text) if inbound.text else None
        if ticket is None:
            return await self._waiting(uow, conversation, inbound, command)
        if command == "erase":  # «borrar mis datos» is never relayed: the flows erase
            await relay.close(uow, ticket, by="citizen", now=now)
            return None
        if relay.wants_to_close(inbound, command):
            return await relay.close(uow, ticket, by="citizen", now=now)
        return await relay.from_citizen(uow, ticket, inbound, now)

    @staticmethod
    async def _waiting(
        uow: UnitOfWork, conversation: Conversation, inbound: Inbound, command: str | None
    ) -> list[Outbound] | None:
        """While a ticket waits, the citizen's words are kept for the specialist.

        Only when no question is pending (a flow in progress, or a command such as «menú»,
        goes on as usual), so a citizen can still book or leave while waiting.
        """
        if conversation.step is not None or command is not None or inbound.payload:
            return None
        ticket = await relay.waiting_ticket(uow, conversation.id)
        if ticket is None:
            return None
        return relay.keep_for_specialist(ticket, inbound, conversation.language)
