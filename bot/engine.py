"""The conversation engine: one inbound message -> one unit of work -> replies in the outbox.

In one transaction: record the inbound id (a redelivery hits the unique key and is a
no-op), load and lock the conversation, run one step of its pinned flow version (and the
message and action steps that follow it), queue every reply in the outbox, commit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot import hearing, i18n, outbox
from bot.desk import Desk
from bot.flows import actions, conditions, placeholders, registry, steps
from bot.flows.machine import END, CompiledFlow, outcome_trigger
from bot.flows.schema import FLOW_PREFIX, Step
from bot.hearing import Answer
from bot.language_wish import language_wish
from bot.messages import OPTIONS_PAGE, Inbound, Option, Outbound
from bot.turn import Turn
from bot.understanding import Choice, global_command, match_option, needs, search_services, yes_no
from core import catalog
from core.db import Database
from core.errors import NotFound
from core.models import Conversation, FlowVersion, InboundMessage, OutboxMessage, Tenant
from core.settings import Settings
from core.types import utcnow
from core.uow import UnitOfWork

log = logging.getLogger("psv.engine")

FIRST_CONTACT = "first_contact"
MENU = "menu"
BOOK = "book"
# Answers a later message may change («no, en Cusco»), with the answers that depend on them.
_WHEN = ("day", "slot", "time", "period", "asap")
CORRECTABLE: dict[str, tuple[str, ...]] = {"service": _WHEN, "region": _WHEN, "day": _WHEN[1:]}
MAX_HOPS = 40
MISUNDERSTOOD_LIMIT = 3
NAV_STEP = "_nav"
# Global words and the flow each one opens (the others act on the current step).
FLOW_COMMANDS = {
    "menu": MENU,
    "restart": MENU,
    "language": "language",
    "human": "handoff",
    "erase": "delete_data",  # «borrar mis datos» at any question, as the privacy notice promises
    "book": "book",  # the "book again" button of a notification (payload "menu:book")
}


SUCCESS = frozenset({"ok", "waitlisted", "ask"})  # "ask": a question is due


def refusal_text(turn: Turn, reason: str) -> str:
    """The catalogue's explanation of a refusal reason (a generic one for unknown codes).

    What the refusing action noted in `extra_vars` fills its placeholders (for example the
    appointment already held at that time).
    """
    try:
        params = {"region": "", "name": "", "day": "", **turn.extra_vars}
        return turn.t(f"refusal.{reason}", **params)
    except KeyError:
        return turn.t("refusal.error")


def pseudonym(value: str) -> str:
    """A stable, non-reversible tag for logs in place of a chat id or phone number."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


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
        self.session_timeout = timedelta(minutes=settings.session_timeout_minutes)
        self.desk = Desk(settings.timezone, settings.meeting_url)
        self._flows: dict[int, CompiledFlow] = {}
        self._tenant_ids: dict[str, int | None] = {}  # region code -> id (regions never move)

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

    def _queue(
        self,
        uow: UnitOfWork,
        inbound: Inbound,
        conversation_id: int | None,
        replies: list[Outbound],
        now: datetime,
        tenant_id: int | None = None,
    ) -> None:
        outbox.stage(
            uow, outbox.reply_notes(inbound, conversation_id, replies, now, tenant_id), now=now
        )

    async def _handle(self, inbound: Inbound, now: datetime) -> list[Outbound]:
        async with self.db.uow() as uow:
            if not await self._record_inbound(uow, inbound, now):
                return []
            replies = await self.run_turn(uow, inbound, now)
            await uow.commit()
        return replies

    async def run_turn(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> list[Outbound]:
        """Run one turn inside the caller's transaction; the replies are queued in it too."""
        return (await self._conversation_turn(uow, inbound, now))[1]

    def queue_apology(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> None:
        """Queue the polite apology for a turn that failed (its own changes rolled back)."""
        outbox.stage(uow, outbox.reply_notes(inbound, None, [self._apology()], now), now=now)

    async def _conversation_turn(
        self, uow: UnitOfWork, inbound: Inbound, now: datetime
    ) -> tuple[Conversation, list[Outbound]]:
        conversation = await self._conversation(uow, inbound, now)
        # A specialist's message, or a citizen's while a person answers them, skips the flows.
        replies = await self.desk.handle(uow, conversation, inbound, now)
        if replies is None:
            turn = Turn.begin(uow, conversation, inbound, now, self.settings)
            await self._process(turn)
            turn.store()
            replies = turn.replies
        conversation.last_inbound_at = now
        tenant_id = await self._tenant_id(uow, conversation)
        self._queue(uow, inbound, conversation.id, replies, now, tenant_id)
        log.debug(
            "handled %s message of %s: %d replies",
            inbound.channel,
            pseudonym(inbound.user_ref),
            len(replies),
        )
        return conversation, replies

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
        if code not in self._tenant_ids:
            self._tenant_ids[code] = await uow.session.scalar(
                select(Tenant.id).where(Tenant.code == code)
            )
        return self._tenant_ids[code]

    # ---- storage ----------------------------------------------------------------------

    async def _record_inbound(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> bool:
        try:
            async with uow.session.begin_nested():
                uow.session.add(
                    InboundMessage(
                        channel=inbound.channel, message_id=inbound.message_id, received_at=now
                    )
                )
        except IntegrityError:
            return False
        return True

    async def _conversation(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> Conversation:
        query = (
            select(Conversation)
            .where(
                Conversation.channel == inbound.channel, Conversation.user_ref == inbound.user_ref
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        conversation = await uow.session.scalar(query)
        if conversation is not None:
            return conversation
        try:
            async with uow.session.begin_nested():
                hint = (inbound.lang_hint or "").split("-")[0].lower()
                conversation = Conversation(
                    channel=inbound.channel,
                    user_ref=inbound.user_ref,
                    language=hint if hint in i18n.languages() else self.settings.default_lang,
                    created_at=now,
                    answers={},
                    memory={},
                    state={},
                )
                uow.session.add(conversation)
        except IntegrityError:
            conversation = await uow.session.scalar(query)
        assert conversation is not None
        return conversation

    async def _flow(self, turn: Turn, version_id: int) -> CompiledFlow:
        flow = self._flows.get(version_id)
        if flow is None:
            version = await turn.uow.session.get(FlowVersion, version_id)
            assert version is not None
            flow = registry.compiled(version)
            self._flows[version_id] = flow
        return flow

    # ---- one turn ---------------------------------------------------------------------

    async def _process(self, turn: Turn) -> None:
        conversation, inbound = turn.conversation, turn.inbound
        if inbound.start_param:
            await self._deep_link(turn, inbound.start_param)
        last = conversation.last_inbound_at
        if (
            conversation.flow_version_id is not None
            and last is not None
            and turn.now - last > self.session_timeout
        ):
            self._finish(turn)
            if turn.memory.get("name"):
                turn.say(turn.t("nav.welcome_back", name=str(turn.memory["name"]).split(" ")[0]))
        wish = await self._language_wish(turn)
        if wish is not None:
            await self._switch_language(turn, wish)
            return
        if conversation.flow_version_id is None or conversation.step is None:
            await self._fresh_start(turn)
            return
        command = self._command(turn)
        if command not in ("cancel", "stay"):
            turn.state.pop("cancel_asked", None)
        if command is None:
            self._drop_nav(turn)
        page = turn.state.pop("page", 0)
        if command == "more" and not self._pageable(turn):
            command = None  # "más" is an ordinary answer where there is nothing more to show
        if command == "more":
            await self._next_page(turn, page)
            return
        if command is not None:
            await self._global(turn, command)
            return
        flow = await self._flow(turn, conversation.flow_version_id)
        step = flow.step(conversation.step)
        if await self._unreadable(turn, flow, step.source):
            return
        if flow.name == BOOK and await self._undo_guess(turn, flow, step):
            return
        if flow.name in (BOOK, MENU):
            await self._listen(turn, skip=step.save)
        result = await steps.accept(step, turn)
        if isinstance(result, steps.Accepted) and step.save != "service":
            turn.state.pop("service_guessed", None)  # answering on accepts the guess
        if isinstance(result, steps.Rejected) and flow.name == MENU and self._heard_a_need(turn):
            await self._goto_flow(turn, BOOK)  # free words at the menu: the need they name
            return
        if (
            isinstance(result, steps.Rejected)
            and flow.name == BOOK
            and not result.understood
            and await self._correct(turn, flow)
        ):
            return
        if isinstance(result, steps.Rejected):
            await self._misunderstood(turn, flow, result)
        elif isinstance(result, steps.Back):
            turn.say(result.message)
            await self._back(turn, flow)
        else:
            conversation.misunderstood = 0
            await self._settle(turn, flow, step.name, result)

    async def _fresh_start(self, turn: Turn) -> None:
        """Start a conversation; a known person's first words may already pick a menu option.

        What the first message says about a booking is kept, before consent too, and answers
        those questions when the booking reaches them.
        """
        command = self._command(turn)
        if command is None:
            await self._listen(turn)
        if not turn.memory.get("consent"):
            await self._goto_flow(turn, "language" if command == "language" else FIRST_CONTACT)
            return
        if command in FLOW_COMMANDS:
            await self._goto_flow(turn, FLOW_COMMANDS[command])
            return
        version = await registry.current_version(turn.uow, MENU, turn.value("region"))
        flow = await self._flow(turn, version.id)
        start = flow.step(flow.definition.start)
        if turn.inbound.text.strip() and start.kind == "choice" and start.options:
            chosen = await steps.accept(start, turn)
            if isinstance(chosen, steps.Accepted):
                turn.conversation.flow_version_id = version.id
                turn.state["history"] = []
                await self._settle(turn, flow, start.name, chosen)
                return
        await self._goto_flow(turn, BOOK if self._heard_a_need(turn) else MENU)

    async def _language_wish(self, turn: Turn) -> str | None:
        """The language a message asks for («english», «runasimipi rimayta munani»), if any.

        Not at the language question itself, whose options already read those names.
        """
        inbound = turn.inbound
        if inbound.payload or not inbound.text:
            return None
        wish = language_wish(inbound.text)
        conversation = turn.conversation
        if wish is None or wish not in i18n.languages():
            return None
        if conversation.flow_version_id is not None and conversation.step is not None:
            flow = await self._flow(turn, conversation.flow_version_id)
            if flow.step(conversation.step).source == "languages":
                return None
        return wish

    async def _switch_language(self, turn: Turn, lang: str) -> None:
        """Speak the wished language from now on and ask the question being asked again."""
        turn.answers["language"] = lang
        await actions.set_language(turn)
        turn.answers.pop("language", None)
        turn.say(turn.t("nav.language_changed", language=i18n.language_name(lang)))
        conversation = turn.conversation
        if conversation.flow_version_id is None or conversation.step is None:
            await self._goto_flow(turn, MENU if turn.memory.get("consent") else FIRST_CONTACT)
            return
        flow = await self._flow(turn, conversation.flow_version_id)
        await self._advance(turn, flow, conversation.step, remember=False)

    async def _listen(self, turn: Turn, *, skip: str | None = None) -> None:
        """Keep what a message says about the booking's questions not answered yet."""
        text = turn.inbound.text
        if not text.strip() or turn.inbound.payload or text.lstrip().startswith("/"):
            return  # nothing typed, a button, or a bot command such as «/start PE-ARE»
        services, regions = await steps.hearing_context(turn)
        heard = hearing.hear(text, services=services, regions=regions, now=turn.now, lang=turn.lang)
        kept: dict[str, Any] = dict(turn.state.get("heard") or {})
        for save, answer in heard.items():
            if save != skip and not turn.answers.get(save):
                kept[save] = answer.to_json()
        if kept:
            turn.state["heard"] = kept

    async def _undo_guess(self, turn: Turn, flow: CompiledFlow, step: Step) -> bool:
        """«no» or «otro» right after a service taken from free words: ask the service again."""
        if not turn.state.get("service_guessed") or step.save == "service":
            return False
        if step.kind not in ("choice", "date", "slot") or not hearing.rejects_guess(
            turn.inbound.text
        ):
            return False
        turn.state.pop("service_guessed", None)
        for dropped in ("service", *CORRECTABLE["service"]):
            turn.answers.pop(dropped, None)
        target = next(name for name, s in flow.definition.steps.items() if s.save == "service")
        turn.say(turn.t("service.not_that"))
        await self._advance(turn, flow, target, ask=True)
        return True

    async def _correct(self, turn: Turn, flow: CompiledFlow) -> bool:
        """«no, en Cusco», «mejor conciliación»: change an earlier answer the words contradict.

        Only words the current question could not read count. The earliest contradicted answer
        is asked again with the new words (and the answers that depend on it are dropped);
        True when that happened.
        """
        services, regions = await steps.hearing_context(turn)
        heard = hearing.hear(
            turn.inbound.text, services=services, regions=regions, now=turn.now, lang=turn.lang
        )
        for name, step in flow.definition.steps.items():
            save = step.save
            if save not in CORRECTABLE or save not in heard or not turn.answers.get(save):
                continue
            answer = heard[save]
            if answer.payload is not None and answer.payload == turn.answers.get(save):
                continue
            if save == "service" and len(search_services(answer.text, services)) != 1:
                continue  # a change of service must name one
            for dropped in (save, *CORRECTABLE[save]):
                turn.answers.pop(dropped, None)
            kept = {k: v.to_json() for k, v in heard.items() if not turn.answers.get(k)}
            turn.state["heard"] = kept
            await self._advance(turn, flow, name)
            return True
        return False

    @staticmethod
    def _heard_for(turn: Turn, step: Step) -> bool:
        """Whether something heard earlier answers this step."""
        return step.save is not None and step.save in (turn.state.get("heard") or {})

    @staticmethod
    def _heard_a_need(turn: Turn) -> bool:
        """Whether a message kept from this conversation names a service to book."""
        return "service" in (turn.state.get("heard") or {})

    async def _answer_heard(
        self, turn: Turn, step: Step
    ) -> steps.EnterResult | steps.AcceptResult | None:
        """Answer a question with what was heard for it earlier, read as if typed now.

        None when nothing was heard for it. Accepted: answered, go on. Rejected: the question
        is asked (with the reason the heard words did not do, or a narrower question).
        """
        kept: dict[str, Any] = dict(turn.state.get("heard") or {})
        if step.save is None or step.save not in kept or step.kind in ("message", "action"):
            return None
        answer = Answer.from_json(kept.pop(step.save))
        turn.state["heard"] = kept
        before = len(turn.replies)
        entered = await steps.enter(step, turn)
        if entered is not None:
            return entered
        asked = turn.replies[before:]
        del turn.replies[before:]
        inbound = turn.inbound
        turn.inbound = dataclasses.replace(
            inbound, text=answer.text, payload=answer.payload, location=None
        )
        try:
            result = await steps.accept(step, turn)
        finally:
            turn.inbound = inbound
        if isinstance(result, steps.Rejected):
            if result.message:
                turn.say(result.message)
                turn.replies.extend(asked)
            return steps.Rejected("")
        return result

    async def _unreadable(self, turn: Turn, flow: CompiledFlow, source: str | None) -> bool:
        """Answer kindly what the step cannot read: media, or a location outside a region step.

        True when the turn is answered (the same question is asked again).
        """
        inbound = turn.inbound
        if inbound.location is not None and source != "regions":
            where = inbound.location
            tenant = await catalog.nearest_tenant(turn.uow, where.latitude, where.longitude)
            if tenant is not None:
                turn.save("region", tenant.code)
                turn.say(turn.t("location.region", region=tenant.name))
        elif not (inbound.media_kind and not inbound.text.strip() and not inbound.payload):
            return False
        else:
            turn.say(turn.t("media.unsupported"))
        assert turn.conversation.step is not None
        await self._advance(turn, flow, turn.conversation.step, remember=False)
        return True

    async def _deep_link(self, turn: Turn, param: str) -> None:
        code = param.strip().upper()
        try:
            tenant = await catalog.get_tenant(turn.uow, code)
        except NotFound:
            return
        turn.save("region", tenant.code)

    @staticmethod
    def _offer_nav(turn: Turn, text: str, options: list[tuple[str, str]]) -> None:
        """Ask a navigation question, keeping the question's own options for a later answer."""
        if turn.state.get("offered_step") != NAV_STEP:
            turn.state["nav_saved"] = [turn.state.get("offered"), turn.state.get("offered_step")]
        turn.state["offered"] = [list(o) for o in options]
        turn.state["offered_step"] = NAV_STEP
        turn.say(text, [Option(p, label) for p, label in options])

    @staticmethod
    def _drop_nav(turn: Turn) -> None:
        """The person answered the question itself: its own options stand again."""
        saved = turn.state.pop("nav_saved", None)
        if turn.state.get("offered_step") == NAV_STEP:
            offered, step = saved if saved else (None, None)
            turn.state["offered"], turn.state["offered_step"] = offered or [], step

    def _command(self, turn: Turn) -> str | None:
        inbound = turn.inbound
        if inbound.payload and inbound.payload.startswith(("nav:", "menu:")):
            return inbound.payload.partition(":")[2]
        if turn.state.get("offered_step") == NAV_STEP:
            offered = [Choice(p, (label,)) for p, label in turn.state.get("offered", [])]
            chosen = match_option(inbound.text, offered).payload
            if chosen:
                return chosen.removeprefix("nav:")
        if turn.state.get("cancel_asked") and inbound.text:
            said = yes_no(inbound.text, turn.lang, emoji=False)
            if said is not None:
                return "cancel" if said else "stay"
        return global_command(inbound.text) if inbound.text else None

    @staticmethod
    def _pageable(turn: Turn) -> bool:
        """Whether the question being asked offers more options than one page shows."""
        state = turn.state
        return (
            state.get("offered_step") == turn.conversation.step
            and len(state.get("offered", [])) > OPTIONS_PAGE
        )

    async def _next_page(self, turn: Turn, page: int) -> None:
        """Ask the same question again, showing the next page of its options (then the first)."""
        assert turn.conversation.flow_version_id is not None and turn.conversation.step
        flow = await self._flow(turn, turn.conversation.flow_version_id)
        await self._advance(turn, flow, turn.conversation.step, remember=False)
        for n in range(len(turn.replies) - 1, -1, -1):
            reply = turn.replies[n]
            if len(reply.options) > OPTIONS_PAGE:
                page = page + 1 if (page + 1) * OPTIONS_PAGE < len(reply.options) else 0
                meta = {**reply.meta, "page_from": page * OPTIONS_PAGE}
                turn.replies[n] = dataclasses.replace(reply, meta=meta)
                turn.state["page"] = page
                return

    async def _global(self, turn: Turn, command: str) -> None:
        conversation = turn.conversation
        if command in FLOW_COMMANDS:
            target = FLOW_COMMANDS[command]
            if not turn.memory.get("consent") and target != "language":
                target = FIRST_CONTACT
            turn.answers.clear()
            await self._goto_flow(turn, target)
            return
        assert conversation.flow_version_id is not None and conversation.step is not None
        flow = await self._flow(turn, conversation.flow_version_id)
        if command == "cancel" and turn.answers and not turn.state.pop("cancel_asked", False):
            # Something was already answered: ask before dropping it.
            turn.state["cancel_asked"] = True
            options = [
                ("nav:cancel", turn.t("option.cancel_yes")),
                ("nav:stay", turn.t("option.cancel_no")),
            ]
            self._offer_nav(turn, turn.t("nav.cancel_confirm"), options)
        elif command == "cancel":
            self._finish(turn)
            turn.say(turn.t("nav.cancelled"))
        elif command == "stay":
            turn.state.pop("cancel_asked", None)
            turn.say(turn.t("nav.cancel_kept"))
            await self._advance(turn, flow, conversation.step, remember=False)
        elif command == "back":
            await self._back(turn, flow)
        else:  # help
            turn.say(turn.t("nav.help"))
            await self._advance(turn, flow, conversation.step)

    async def _misunderstood(
        self, turn: Turn, flow: CompiledFlow, rejected: steps.Rejected
    ) -> None:
        if not rejected.message:  # the step asked a narrower question (e.g. "which of these?")
            return
        conversation = turn.conversation
        if not rejected.understood:
            conversation.misunderstood += 1
        if conversation.misunderstood >= MISUNDERSTOOD_LIMIT:
            conversation.misunderstood = 0
            options = [("nav:menu", turn.t("option.menu")), ("nav:human", turn.t("option.human"))]
            self._offer_nav(turn, turn.t("misunderstood.offer_help"), options)
            return
        turn.say(rejected.message)
        assert conversation.step is not None
        await self._advance(turn, flow, conversation.step, remember=False)

    async def _back(self, turn: Turn, flow: CompiledFlow, *, current_asked: bool = True) -> None:
        """Ask the previous question again (the last one asked, if the current one was not)."""
        history: list[str] = list(turn.state.get("history", []))
        if history and current_asked:
            history.pop()  # the step being asked now
        if history:
            previous = history.pop()
            turn.state["history"] = history
            saved = flow.step(previous).save
            if saved:
                turn.answers.pop(saved, None)
            await self._advance(turn, flow, previous, ask=True)
            return
        turn.say(turn.t("nav.back_at_start"))
        await self._goto_flow(turn, MENU if turn.memory.get("consent") else FIRST_CONTACT)

    async def _settle(
        self, turn: Turn, flow: CompiledFlow, step_name: str, result: steps.Accepted
    ) -> None:
        step = flow.step(step_name)
        if step.save:
            turn.save(step.save, result.value)
        for key, value in result.extra.items():
            turn.answers[key] = value
        await self._fire(turn, flow, step_name, result.trigger)

    async def _fire(self, turn: Turn, flow: CompiledFlow, state: str, trigger: str) -> None:
        step = flow.step(state)
        needed = [b.condition for b in step.next if b.condition]
        facts = await conditions.facts(turn, needed)
        await self._advance(turn, flow, flow.fire(state, trigger, facts))

    async def _goto_flow(self, turn: Turn, name: str) -> None:
        version = await registry.current_version(turn.uow, name, turn.value("region"))
        turn.conversation.flow_version_id = version.id
        turn.state["history"] = []
        flow = await self._flow(turn, version.id)
        await self._advance(turn, flow, flow.definition.start)

    def _finish(self, turn: Turn) -> None:
        turn.conversation.flow_version_id = None
        turn.conversation.step = None
        turn.conversation.misunderstood = 0
        turn.answers.clear()
        turn.state.clear()

    async def _advance(
        self,
        turn: Turn,
        flow: CompiledFlow,
        state: str,
        *,
        remember: bool = True,
        ask: bool = False,
    ) -> None:
        """Walk from `state` through message, action and skipped steps to the next question.

        `ask` asks the first step even if its skip condition holds (going back to it).
        """
        for hop in range(MAX_HOPS):
            if state == END:
                self._finish(turn)
                return
            if state.startswith(FLOW_PREFIX):
                target = state.removeprefix(FLOW_PREFIX)
                if target == MENU and self._heard_a_need(turn):
                    target = BOOK  # what the first message asked for, once consent is given
                await self._goto_flow(turn, target)
                return
            step = flow.step(state)
            skip_if = None if ask and hop == 0 else step.skip_if
            # A region heard now outweighs the one remembered from an earlier conversation.
            listening = flow.name == BOOK
            overridden = listening and step.save == "region" and self._heard_for(turn, step)
            if skip_if and not overridden and (await conditions.facts(turn, [skip_if]))[skip_if]:
                state = await self._next_state(turn, flow, state, "next")
                continue
            heard = None
            if listening and not (ask and hop == 0):
                heard = await self._answer_heard(turn, step)
            if heard is not None:
                entered: steps.EnterResult | steps.AcceptResult = heard
            else:
                if step.kind == "message":
                    turn.say(await placeholders.render(turn, turn.text(step.prompt)))
                    state = await self._next_state(turn, flow, state, "next")
                    continue
                if step.kind == "action":
                    assert step.action is not None
                    outcome = await actions.run(turn, step.action)
                    state = await self._after_action(turn, flow, state, outcome)
                    continue
                entered = await steps.enter(step, turn)
            if isinstance(entered, steps.Accepted):
                if step.save:
                    turn.save(step.save, entered.value)
                turn.answers.update(entered.extra)
                state = await self._next_state(turn, flow, state, entered.trigger)
                continue
            if isinstance(entered, steps.Back):
                turn.say(entered.message)
                await self._back(turn, flow, current_asked=False)
                return
            turn.conversation.step = state
            if remember:
                history: list[str] = list(turn.state.get("history", []))
                if not history or history[-1] != state:
                    history.append(state)
                turn.state["history"] = history
            return
        log.error("flow %s loops without asking anything", flow.name)
        self._finish(turn)
        turn.say(turn.t("error.internal"))

    async def _next_state(self, turn: Turn, flow: CompiledFlow, state: str, trigger: str) -> str:
        step = flow.step(state)
        needed = [b.condition for b in step.next if b.condition]
        facts = await conditions.facts(turn, needed)
        return flow.fire(state, trigger, facts)

    async def _after_action(self, turn: Turn, flow: CompiledFlow, state: str, outcome: str) -> str:
        if outcome not in SUCCESS:
            turn.extra_vars["reason"] = refusal_text(turn, outcome)
        for candidate in (outcome, "default"):
            if flow.has_trigger(state, outcome_trigger(candidate)):
                return flow.fire(state, outcome_trigger(candidate))
        if outcome == "ok" and flow.step(state).next:
            return await self._next_state(turn, flow, state, "next")
        turn.say(turn.extra_vars["reason"])
        return f"{FLOW_PREFIX}{MENU}"


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
                OutboxMessage.status == "pending",
                OutboxMessage.kind == "reply",
            )
            .values(status="sent", sent_at=utcnow())
        )
        await uow.commit()
