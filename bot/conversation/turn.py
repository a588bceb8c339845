"""One turn of a conversation: the inbound, the stored state and the replies being made.

Steps, actions and conditions all work on a `Turn`; the engine creates it inside the unit
of work of one inbound message and writes its state back at the end.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot import i18n
from bot.messages import OPTIONS_PAGE, Inbound, Option, Outbound
from core.models import Conversation
from core.settings import Settings
from core.uow import UnitOfWork

# Answers that, once known, are remembered across conversations (until data is erased).
REMEMBERED = ("region", "name", "doc_type", "document", "citizen_id", "language")


@dataclass
class Turn:
    """The working state of one inbound message's processing."""

    uow: UnitOfWork
    conversation: Conversation
    inbound: Inbound
    now: datetime
    settings: Settings
    answers: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    replies: list[Outbound] = field(default_factory=list)
    extra_vars: dict[str, str] = field(default_factory=dict)
    zones: Mapping[str, str] = field(default_factory=dict)
    memo: dict[Hashable, object] = field(default_factory=dict)  # lookups repeated in one turn

    @classmethod
    def begin(
        cls,
        uow: UnitOfWork,
        conversation: Conversation,
        inbound: Inbound,
        now: datetime,
        settings: Settings,
        zones: Mapping[str, str] | None = None,
    ) -> Turn:
        """Start a turn with working copies of the stored state."""
        return cls(
            uow=uow,
            conversation=conversation,
            inbound=inbound,
            now=now,
            settings=settings,
            answers=dict(conversation.answers or {}),
            memory=dict(conversation.memory or {}),
            state=dict(conversation.state or {}),
            zones=zones or {},
        )

    def store(self) -> None:
        """Write the working copies back (new dicts, so the JSON columns are seen as changed)."""
        self.conversation.answers = dict(self.answers)
        self.conversation.memory = dict(self.memory)
        self.conversation.state = dict(self.state)

    @property
    def lang(self) -> str:
        """The language the person is spoken to in."""
        return str(self.memory.get("language") or self.conversation.language or "es")

    @property
    def timezone(self) -> str:
        """The time zone days and times are said in: the chosen region's, else the national one."""
        return self.zones.get(str(self.value("region") or ""), self.settings.timezone)

    def value(self, key: str) -> Any:
        """An answer of this conversation, else what is remembered of the person."""
        if key in self.answers and self.answers[key] is not None:
            return self.answers[key]
        return self.memory.get(key)

    def save(self, key: str, value: Any) -> None:
        """Keep an answer (and remember it across conversations when it is about the person)."""
        self.answers[key] = value
        if key in REMEMBERED:
            self.memory[key] = value

    def t(self, key: str, **params: object) -> str:
        """A catalogue message in the person's language."""
        return i18n.t(key, self.lang, **params)

    def text(self, texts: Mapping[str, str]) -> str:
        """A flow text in the person's language (Spanish when the flow lacks it)."""
        return texts.get(self.lang) or texts.get("es") or next(iter(texts.values()), "")

    def say(self, text: str, options: Sequence[Option] = (), links: Sequence[str] = ()) -> None:
        """Queue a reply."""
        if text or options:
            meta = {"more_hint": self.t("more_options")} if len(options) > OPTIONS_PAGE else {}
            self.replies.append(
                Outbound(text=text, options=tuple(options), links=tuple(links), meta=meta)
            )

    def day(self) -> date | None:
        """The day answered, if any."""
        raw = self.answers.get("day")
        return date.fromisoformat(raw) if raw else None

    def slot(self) -> datetime | None:
        """The slot start answered, if any (aware UTC)."""
        raw = self.answers.get("slot")
        return datetime.fromisoformat(raw) if raw else None
