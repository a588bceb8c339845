"""The conversation engine: one inbound message -> one unit of work -> replies in the outbox.

In one transaction: record the inbound id (a redelivery hits the unique key and is a
no-op), load and lock the conversation, offer the message to the handlers in order (the
first that answers wins), queue every reply in the outbox, commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update

from bot import i18n, outbox
from bot.conversation import loading
from bot.conversation.flow_runner import FlowRunner
from bot.conversation.handlers import FollowUps, Handler, Message, Relay, SpecialistDesk
from bot.conversation.loading import Loaded
from bot.flows import catalogue, registry
from bot.language_wish import language_of_text
from bot.logs import pseudonym
from bot.messages import Inbound, Outbound
from bot.understanding import needs
from core.db import Database
from core.errors import NotFound
from core.models import Conversation, OutboxMessage
from core.settings import Settings
from core.states import REPLY_KIND, OutboxStatus
from core.types import utcnow
from core.uow import UnitOfWork

log = logging.getLogger("psv.engine")


class Engine:
    """Channel-neutral conversation engine over the booking core."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        desk = SpecialistDesk(settings.timezone, settings.meeting_url)
        followups = FollowUps(settings.meeting_url)
        self.flow_runner = FlowRunner(settings)
        # The order a message is offered in: the first handler that answers it wins.
        self.handlers: tuple[Handler, ...] = (desk, followups, Relay(), self.flow_runner)

    async def start(self) -> None:
        """Publish changed national templates (call once at start-up)."""
        async with self.db.uow() as uow:
            published = await registry.sync_templates(uow, now=self.clock())
            await uow.commit()
        if published:
            log.info("published flow templates: %s", ", ".join(published))
        needs.model()  # built now (about 130 ms of CPU), not on a citizen's first message

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        """Process one inbound message; returns the replies (also queued in the outbox).

        An unexpected failure rolls the turn back, records the message as handled (a
        redelivery would fail the same way) and answers with a polite apology.
        """
        now = self.clock()
        try:
            return await self._handle(inbound, now)
        except Exception:
            log.exception(
                "engine failed on a %s message of %s", inbound.channel, pseudonym(inbound.user_ref)
            )
            return await self._apologise(inbound, now)

    def _apology(self) -> Outbound:
        return Outbound(i18n.t("error.internal", self.settings.default_lang))

    async def _apologise(self, inbound: Inbound, now: datetime) -> list[Outbound]:
        reply = self._apology()
        async with self.db.uow() as uow:
            if not await self._record_inbound(uow, inbound, now):
                return []
            await outbox.write(uow, outbox.reply_notes(inbound, None, [reply], now), now=now)
            await uow.commit()
        return [reply]

    async def _handle(self, inbound: Inbound, now: datetime) -> list[Outbound]:
        async with self.db.uow() as uow:
            if not await self._record_inbound(uow, inbound, now):
                return []
            replies = await self.run_turn(uow, inbound, now)
            await uow.commit()
        return replies

    async def run_turn(
        self,
        uow: UnitOfWork,
        inbound: Inbound,
        now: datetime,
        loaded: Loaded | None = None,
    ) -> list[Outbound]:
        """Run one turn inside the caller's transaction; the replies are queued in it too.

        `loaded` is the conversation with its flags when the caller already locked it (the
        inbox's claim on PostgreSQL: bot/conversation/loading.py, `claimed_query`).
        """
        return (await self._conversation_turn(uow, inbound, now, loaded))[1]

    async def queue_apology(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> None:
        """Queue the polite apology for a turn that failed (its own changes rolled back)."""
        await outbox.insert_new(
            uow, outbox.reply_notes(inbound, None, [self._apology()], now), now=now
        )

    async def _conversation_turn(
        self, uow: UnitOfWork, inbound: Inbound, now: datetime, loaded: Loaded | None = None
    ) -> tuple[Conversation, list[Outbound]]:
        conversation, from_specialist, has_ticket = loaded or await self._conversation(
            uow, inbound, now
        )
        before = loading.progress(conversation)
        replies = await self._offer(
            Message(uow, conversation, inbound, now, from_specialist, has_ticket)
        )
        saving = loading.saving(uow, conversation, before, now)
        tenant_id = await self._tenant_id(uow, conversation)
        notes = outbox.reply_notes(inbound, conversation.id, replies, now, tenant_id)
        await outbox.insert_new(uow, notes, now=now, along=saving)
        log.debug(
            "handled %s message of %s: %d replies",
            inbound.channel,
            pseudonym(inbound.user_ref),
            len(replies),
        )
        return conversation, replies

    async def _offer(self, message: Message) -> list[Outbound]:
        """The replies of the first handler that answers the message."""
        for handler in self.handlers:
            replies = await handler(message)
            if replies is not None:
                return replies
        raise AssertionError("the flow runner, last in the chain, always answers")

    async def rehearse(self, inbound: Inbound) -> list[Outbound]:
        """Run a turn for its replies only (`psv-admin flows try`): every effect is rolled back.

        Bookings, notices, tickets and outbox rows never leave the transaction; only the
        conversation's own progress (step, answers, state) is kept, so the next line goes on.
        """
        now = self.clock()
        fields = ("flow_version_id", "step", "answers", "memory", "state", "language")
        try:
            async with self.db.uow() as uow:  # left without commit: rolled back
                conversation, replies = await self._conversation_turn(uow, inbound, now)
                progress = {name: getattr(conversation, name) for name in fields}
                progress["misunderstood"] = conversation.misunderstood
                conversation_id = conversation.id
        except Exception:
            log.exception("rehearsed turn failed")
            return [self._apology()]
        async with self.db.uow() as uow:
            await uow.session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(**progress, last_inbound_at=now)
            )
            await uow.commit()
        return replies

    async def _tenant_id(self, uow: UnitOfWork, conversation: Conversation) -> int | None:
        """The region the person is dealing with, so its admins see replies that failed."""
        code = (conversation.answers or {}).get("region") or (conversation.memory or {}).get(
            "region"
        )
        if not isinstance(code, str):
            return None
        try:
            return (await catalogue.tenant(uow, code)).id
        except NotFound:
            return None

    # ---- storage ----------------------------------------------------------------------

    async def _record_inbound(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> bool:
        """Record the message id; False when it was already there (a redelivery)."""
        values = {"channel": inbound.channel, "message_id": inbound.message_id, "received_at": now}
        recorded = await uow.session.execute(loading.record_inbound(uow.dialect), values)
        return recorded.first() is not None

    async def _conversation(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> Loaded:
        """The conversation, locked; whether a specialist writes; whether a ticket is open."""
        query, address = loading.query(uow.dialect), loading.address(inbound)
        row = (await uow.session.execute(query, address)).first()
        if row is not None:
            return loading.trusted(*row)
        hint = (inbound.lang_hint or "").split("-")[0].lower()
        if not hint and not inbound.payload:
            hint = language_of_text(inbound.text) or ""  # «hello» on WhatsApp, which has no hint
        language = hint if hint in i18n.languages() else self.settings.default_lang
        await uow.session.execute(
            loading.new_conversation(uow.dialect),
            {**address, "language": language, "created_at": now},
        )
        row = (await uow.session.execute(query, address)).first()
        assert row is not None
        return row[0], row[1], row[2]


async def mark_console_sent(db: Database, user_ref: str) -> None:
    """The terminal shows replies at once: mark that user's console replies sent.

    Only the replies: reminders and surveys due later stay pending for their time.
    """
    async with db.uow() as uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == "console",
                OutboxMessage.address == user_ref,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.kind == REPLY_KIND,
            )
            .values(status=OutboxStatus.SENT, sent_at=utcnow())
        )
        await uow.commit()
