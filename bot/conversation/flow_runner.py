"""The flow runner: the last handler, reading a citizen's message as the answer to a flow step.

It runs one step of the conversation's pinned flow version and walks on through the message,
action and skipped steps that follow it to the next question; navigation words
(`navigation.py`) and what free words say (`listening.py`) are read on the way.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select

from bot import i18n
from bot.conversation import listening, navigation
from bot.conversation.handlers import Message
from bot.conversation.navigation import BOOK, FIRST_CONTACT, FLOW_COMMANDS, MENU
from bot.conversation.refusals import refusal_text
from bot.conversation.state import (
    CANCEL_ASKED,
    FIRST_WORDS,
    HISTORY,
    MENU_WORDS,
    PAGE,
    SERVICE_GUESSED,
)
from bot.conversation.turn import Turn
from bot.flows import actions, catalogue, conditions, placeholders, registry, steps
from bot.flows.machine import EMPTY, END, CompiledFlow, option_trigger, outcome_trigger
from bot.flows.schema import FLOW_PREFIX, Step
from bot.language_wish import language_wish
from bot.messages import OPTIONS_PAGE, Outbound
from bot.understanding import match_option, names_a_position
from bot.understanding.changes import only_when
from bot.understanding.text import only_a_greeting
from core import catalog
from core.errors import NotFound
from core.models import FlowVersion, Tenant
from core.settings import Settings
from core.uow import UnitOfWork

log = logging.getLogger("psv.engine")

MAX_HOPS = 40
MISUNDERSTOOD_LIMIT = 3
SUCCESS = frozenset({"ok", "waitlisted", "ask"})  # "ask": a question is due
ZONES_FRESH_SECONDS = 600.0  # the regions' time zones are read again after this long


class FlowRunner:
    """Runs the citizen flows: always answers, so it comes last in the chain."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session_timeout = timedelta(minutes=settings.session_timeout_minutes)
        self._flows: dict[int, CompiledFlow] = {}
        self._zones: dict[str, str] = {}
        self._zones_read = -ZONES_FRESH_SECONDS

    async def __call__(self, message: Message) -> list[Outbound]:
        """Run one step of the conversation's flow (and what follows it); its replies."""
        turn = Turn.begin(
            message.uow,
            message.conversation,
            message.inbound,
            message.now,
            self.settings,
            await self._region_zones(message.uow),
        )
        await self._process(turn)
        turn.store()
        return turn.replies

    async def _region_zones(self, uow: UnitOfWork) -> Mapping[str, str]:
        # 26 rows that change about never: one read per process every few minutes, not per turn.
        if time.monotonic() - self._zones_read >= ZONES_FRESH_SECONDS:
            rows = await uow.session.execute(select(Tenant.code, Tenant.timezone))
            self._zones = {code: zone for code, zone in rows}
            self._zones_read = time.monotonic()
        return self._zones

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
        command = navigation.command(turn)
        if command not in ("cancel", "stay"):
            turn.state.pop(CANCEL_ASKED, None)
        if command is None:
            navigation.drop_nav(turn)
        page = turn.state.pop(PAGE, 0)
        if command == "more" and not navigation.pageable(turn):
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
        target = listening.guess_undone(turn, flow, step) if flow.name == BOOK else None
        if target is not None:
            await self._advance(turn, flow, target, ask=True)
            return
        if flow.name == BOOK and step.kind == "text" and await listening.only_a_change(turn):
            target = await listening.corrected(turn, flow, step.name)
            if target is not None:  # «mejor el viernes» at «cuéntenos su caso» is no case
                await self._advance(turn, flow, target)
                return
        when = listening.new_when(turn, flow) if flow.name == BOOK and step.kind == "text" else None
        if when is not None:  # «mejor a las 11», «otro día» at «cuéntenos su caso»
            chosen, said = turn.answers.get("slot"), len(turn.replies)
            await self._advance(turn, flow, when[0], ask=when[1])
            moved = turn.answers.get("slot")
            if moved and moved != chosen:  # read at once: say so before the next question
                at = i18n.format_when(datetime.fromisoformat(str(moved)), turn.lang, turn.timezone)
                turn.say(turn.t("slot.changed", when=at))
                turn.replies.insert(said, turn.replies.pop())
            return
        if flow.name in (BOOK, MENU):
            await listening.listen(turn, skip=step.save)
        result = await steps.accept(step, turn)
        if isinstance(result, steps.Rejected) and not result.understood:
            result = _a_day_picks_its_option(turn, flow, step) or result
        if (
            isinstance(result, steps.Rejected)
            and not result.understood
            and flow.name != BOOK
            and await listening.keep_for_the_note(turn, flow, step)
        ):
            result = steps.Rejected(turn.t("note.kept"), understood=True)
        if flow.name == MENU and isinstance(result, steps.Accepted) and not turn.inbound.payload:
            _picked_by_words(turn, step, result, turn.inbound.text)
        if isinstance(result, steps.Accepted) and step.save != "service":
            turn.state.pop(SERVICE_GUESSED, None)  # answering on accepts the guess
        if (
            isinstance(result, steps.Rejected)
            and flow.name == MENU
            and (
                listening.heard_a_need(turn)
                or (_refused(result) and await listening.keep_unsure_need(turn, turn.inbound.text))
            )
        ):
            await self._goto_flow(turn, BOOK)  # free words at the menu: the need they name
            return
        if isinstance(result, steps.Rejected) and flow.name == BOOK and not result.understood:
            target = await listening.corrected(turn, flow, step.name)
            if target is not None:
                await self._advance(turn, flow, target)
                return
        if isinstance(result, steps.Rejected):
            await self._misunderstood(turn, flow, result)
        elif isinstance(result, steps.Back):
            turn.say(result.message)
            await self._back(turn, flow, to=result.to)
        else:
            conversation.misunderstood = 0
            await self._settle(turn, flow, step.name, result)

    async def _fresh_start(self, turn: Turn) -> None:
        """Start a conversation; a known person's first words may already pick a menu option.

        What the first message says about a booking is kept, before consent too, and answers
        those questions when the booking reaches them.
        """
        command = navigation.command(turn)
        # «hola» says nothing to keep: the most common first message skips the readers.
        greeting = only_a_greeting(turn.inbound.text)
        if command is None and not greeting:
            await listening.listen(turn)
        if not turn.memory.get("consent"):
            if (
                command in (None, "human")
                and turn.inbound.text.strip()
                and not turn.inbound.payload
                and not greeting
            ):
                turn.state[FIRST_WORDS] = turn.inbound.text  # «quiero cancelar mi cita»
            await self._goto_flow(turn, "language" if command == "language" else FIRST_CONTACT)
            return
        if command in FLOW_COMMANDS:
            await self._goto_flow(turn, FLOW_COMMANDS[command])
            return
        if (
            turn.inbound.text.strip()
            and not greeting
            and await self._menu_by_words(turn, turn.inbound.text)
        ):
            return
        await self._goto_flow(turn, BOOK if listening.heard_a_need(turn) else MENU)

    async def _menu_by_words(self, turn: Turn, words: str, *, whole: bool = False) -> bool:
        """Open the menu option the words pick («ver mis citas», «hay cursos?»), if one does;
        `whole`: only an option whose label or words they contain whole («un curso»).

        Nothing is said when they pick none: the caller shows the menu.
        """
        version_id = await catalogue.flow_version_id(turn.uow, MENU, turn.value("region"))
        flow = await self._flow(turn, version_id)
        start = flow.step(flow.definition.start)
        if start.kind != "choice" or not start.options:
            return False
        if whole and _whole_option(start, words) is None:
            return False
        inbound, said = turn.inbound, len(turn.replies)
        turn.inbound = dataclasses.replace(inbound, text=words, payload=None)
        try:
            chosen = await steps.accept(start, turn)
        finally:
            turn.inbound = inbound
        if not isinstance(chosen, steps.Accepted):
            del turn.replies[said:]
            if not _refused(chosen) or not await listening.keep_unsure_need(turn, words):
                return False
            await self._goto_flow(turn, BOOK)  # «me botaron»: which service is asked there
            return True
        turn.conversation.flow_version_id = version_id
        turn.state[HISTORY] = []
        _picked_by_words(turn, start, chosen, words)
        await self._settle(turn, flow, start.name, chosen)
        return True

    async def _option_named(self, turn: Turn, step: Step, words: str) -> steps.AcceptResult | None:
        """The option of a flow's first question that the words which picked it at the menu
        name as a whole («quiero inscribirme en una capacitación»: see the events and sign
        up), chosen as its button would be; None when they name none (no guess, no number)."""
        chosen = _whole_option(step, words)
        if chosen is None:
            return None
        inbound = turn.inbound
        turn.inbound = dataclasses.replace(inbound, text="", payload=chosen)
        try:
            return await steps.accept(step, turn)
        finally:
            turn.inbound = inbound

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
            tenant = await catalogue.tenant(turn.uow, code)
        except NotFound:
            return
        turn.save("region", tenant.code)

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
                turn.state[PAGE] = page
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
        if command == "cancel" and turn.answers and not turn.state.pop(CANCEL_ASKED, False):
            # Something was already answered: ask before dropping it.
            turn.state[CANCEL_ASKED] = True
            options = [
                ("nav:cancel", turn.t("option.cancel_yes")),
                ("nav:stay", turn.t("option.cancel_no")),
            ]
            navigation.offer_nav(turn, turn.t("nav.cancel_confirm"), options)
        elif command == "cancel":
            self._finish(turn)
            turn.say(turn.t("nav.cancelled"))
        elif command == "stay":
            turn.state.pop(CANCEL_ASKED, None)
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
            navigation.offer_nav(turn, turn.t("misunderstood.offer_help"), options)
            return
        turn.say(rejected.message)
        assert conversation.step is not None
        await self._advance(turn, flow, conversation.step, remember=False)

    async def _back(
        self, turn: Turn, flow: CompiledFlow, *, current_asked: bool = True, to: str | None = None
    ) -> None:
        """Ask the previous question again (the last one asked, if the current one was not),
        or the question that saves `to`, asked or skipped before."""
        history: list[str] = list(turn.state.get(HISTORY, []))
        target = next((s.name for s in flow.definition.steps.values() if to and s.save == to), None)
        if target is not None:
            turn.state[HISTORY] = history[: history.index(target)] if target in history else []
            turn.answers.pop(str(to), None)
            await self._advance(turn, flow, target, ask=True)
            return
        if history and current_asked:
            history.pop()  # the step being asked now
        if history:
            previous = history.pop()
            turn.state[HISTORY] = history
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
        await self._advance(
            turn, flow, await self._next_state(turn, flow, step_name, result.trigger)
        )

    async def _goto_flow(self, turn: Turn, name: str) -> None:
        version_id = await catalogue.flow_version_id(turn.uow, name, turn.value("region"))
        # Read (or find cached) before the conversation changes: a read after the change
        # would flush it first, one UPDATE more.
        flow = await self._flow(turn, version_id)
        turn.conversation.flow_version_id = version_id
        turn.state[HISTORY] = []
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
                first_words = str(turn.state.pop(FIRST_WORDS, "")) if target == MENU else ""
                # A menu option named whole («un curso», «cancelar mi cita») comes before a
                # service heard in the same words («inscribirme»).
                if first_words and await self._menu_by_words(turn, first_words, whole=True):
                    return
                if target == MENU and listening.heard_a_need(turn):
                    target = BOOK  # what the first message asked for, once consent is given
                elif first_words and await self._menu_by_words(turn, first_words):
                    return  # the menu option the first message named («ver mis citas»)
                await self._goto_flow(turn, target)
                return
            step = flow.step(state)
            skip_if = None if ask and hop == 0 else step.skip_if
            # A region heard now outweighs the one remembered from an earlier conversation.
            in_book = flow.name == BOOK
            overridden = step.save == "region" and listening.heard_for(turn, step)
            if skip_if and not overridden and (await conditions.facts(turn, [skip_if]))[skip_if]:
                state = await self._next_state(turn, flow, state, "next")
                continue
            heard = None
            # A document typed at the document-type question answers the number's question,
            # a day the day's and a region the region's, in any flow; the rest only in the
            # booking.
            anywhere = step.kind in ("document", "date") or step.save in ("region", "note")
            if (in_book or anywhere) and not (ask and hop == 0):
                heard = await listening.answer_heard(turn, step)
            # The menu's words are for the chosen flow's first question only, answered or not.
            question = flow.name != MENU and step.kind not in ("message", "action")
            carried = turn.state.pop(MENU_WORDS, None) if question else None
            if heard is None and carried and not (ask and hop == 0):
                heard = await self._option_named(turn, step, str(carried))
            if heard is not None:
                entered: steps.EnterResult | steps.Empty | steps.AcceptResult = heard
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
            if isinstance(entered, steps.Empty):
                state = flow.fire(state, EMPTY)
                continue
            if isinstance(entered, steps.Back):
                turn.say(entered.message)
                await self._back(turn, flow, current_asked=False, to=entered.to)
                return
            turn.conversation.step = state
            if remember:
                history: list[str] = list(turn.state.get(HISTORY, []))
                if not history or history[-1] != state:
                    history.append(state)
                turn.state[HISTORY] = history
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
            turn.extra_vars["reason"] = refusal_text(turn.lang, outcome, turn.extra_vars)
        for candidate in (outcome, "default"):
            if flow.has_trigger(state, outcome_trigger(candidate)):
                return flow.fire(state, outcome_trigger(candidate))
        if outcome == "ok" and flow.step(state).next:
            return await self._next_state(turn, flow, state, "next")
        turn.say(turn.extra_vars["reason"])
        return f"{FLOW_PREFIX}{MENU}"


def _refused(result: object) -> bool:
    """Whether a step refused words it could not read (not a question of its own, such as
    «¿a cuál de estos se refiere?», nor words it understood, such as a greeting)."""
    return isinstance(result, steps.Rejected) and bool(result.message) and not result.understood


def _picked_by_words(turn: Turn, menu: Step, chosen: steps.Accepted, words: str) -> None:
    """Words that picked a menu option («quiero inscribirme en un curso») are kept for the
    chosen flow's first question; a service heard in them is dropped unless the option is the
    booking's («inscribirme» is no union registration when it picked the training events)."""
    if not names_a_position(words):  # «3» picked it: it says nothing of what comes next
        turn.state[MENU_WORDS] = words
    option = next((o for o in menu.options or () if o.id == chosen.value), None)
    if option is not None and option.goto != f"{FLOW_PREFIX}{BOOK}":
        listening.forget(turn, "service")


def _whole_option(step: Step, words: str) -> str | None:
    """The option of a choice step whose label or words the text contains whole; None for
    none, a number, or only a fuzzy likeness."""
    if step.kind != "choice" or not step.options:
        return None
    found = match_option(words, steps.option_choices(step.options))
    if found.how == "exact" or (found.how == "contains" and found.score >= 2):
        return found.payload
    return None


def _a_day_picks_its_option(turn: Turn, flow: CompiledFlow, step: Step) -> steps.Accepted | None:
    """«el viernes» at «¿Qué desea hacer con esta cita?»: the one option that leads to a day
    question, chosen, with the words kept to answer it; None for any other message."""
    if step.kind != "choice" or not step.options or turn.inbound.payload:
        return None
    if not only_when(turn.inbound.text, turn.now, turn.lang):
        return None
    defined = flow.definition.steps
    leading = [
        (o.id, defined[o.goto])
        for o in step.options
        if o.goto is not None and o.goto in defined and defined[o.goto].kind == "date"
    ]
    if len(leading) != 1:
        return None
    option_id, day_step = leading[0]
    listening.keep(turn, day_step.save or "", turn.inbound.text)
    return steps.Accepted(option_trigger(option_id), value=option_id)
