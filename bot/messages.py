"""Channel-neutral messages: what comes in (`Inbound`) and what goes out (`Outbound`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Location:
    """A shared location."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class Inbound:
    """One message from a person, as every channel hands it to the engine."""

    channel: str
    user_ref: str
    message_id: str
    text: str = ""
    payload: str | None = None
    location: Location | None = None
    media_kind: str | None = None
    lang_hint: str | None = None
    contact_phone: str | None = None
    start_param: str | None = None


def inbound_to_json(inbound: Inbound) -> dict[str, Any]:
    """A JSON-ready form of an inbound, for the inbox queue."""
    data: dict[str, Any] = {
        k: v for k, v in vars(inbound).items() if v not in (None, "") and k != "location"
    }
    if inbound.location is not None:
        data["location"] = [inbound.location.latitude, inbound.location.longitude]
    return data


def inbound_from_json(data: dict[str, Any]) -> Inbound:
    """Rebuild an inbound from its queued form."""
    fields = dict(data)
    location = fields.pop("location", None)
    return Inbound(**fields, location=Location(*location) if location else None)


REPLY_PRIORITY = 10
"""Outbox priority of answers to someone who just wrote (relayed chat too): before bulk."""

OPTIONS_PAGE = 10
"""Options shown at once where a channel lists them as text (WhatsApp); "más" shows the next."""


@dataclass(frozen=True)
class Option:
    """A choice offered to the person: a payload to send back and a label to show."""

    payload: str
    label: str


@dataclass(frozen=True)
class Attachment:
    """A file to send with a message (e.g. a calendar file)."""

    filename: str
    mime_type: str
    content: str


@dataclass(frozen=True)
class Outbound:
    """One message to the person; each channel renders options its own way."""

    text: str
    options: tuple[Option, ...] = ()
    links: tuple[str, ...] = ()
    attachment: Attachment | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form for the outbox."""
        data: dict[str, Any] = {"text": self.text}
        if self.options:
            data["options"] = [[o.payload, o.label] for o in self.options]
        if self.links:
            data["links"] = list(self.links)
        if self.attachment:
            a = self.attachment
            data["attachment"] = [a.filename, a.mime_type, a.content]
        if self.meta:
            data["meta"] = self.meta
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outbound:
        """Rebuild an Outbound from its outbox form."""
        attachment = data.get("attachment")
        return cls(
            text=data["text"],
            options=tuple(Option(p, label) for p, label in data.get("options", [])),
            links=tuple(data.get("links", [])),
            attachment=Attachment(*attachment) if attachment else None,
            meta=dict(data.get("meta", {})),
        )
