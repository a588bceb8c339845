"""Typed domain errors, each with a reason code a person can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class DomainError(Exception):
    """Base of every refusal from the core; `reason` is a stable code for messages."""

    reason = "error"

    def __init__(self, detail: str = "", **context: Any) -> None:
        super().__init__(detail or self.reason)
        self.detail = detail or self.reason
        self.context = context


class NotFound(DomainError):
    """The named thing does not exist (in this tenant)."""

    reason = "not_found"


class ServiceNotOffered(DomainError):
    """The region does not offer the service (or it is not bookable)."""

    reason = "service_not_offered"


class Holiday(DomainError):
    """The day is a public holiday."""

    reason = "holiday"


class Closed(DomainError):
    """The regional office is closed that day."""

    reason = "closed"


class OutsideHours(DomainError):
    """No competent specialist works at that time."""

    reason = "outside_hours"


class TooSoon(DomainError):
    """The time is inside the minimum notice."""

    reason = "too_soon"


class TooFarAhead(DomainError):
    """The time is beyond the booking horizon."""

    reason = "too_far"


class InvalidDocument(DomainError):
    """A document number is malformed or fails its check digit."""

    reason = "document_invalid"


class InvalidPhone(DomainError):
    """A phone number is not a valid Peruvian number."""

    reason = "phone_invalid"


class NotActive(DomainError):
    """The appointment or registration is no longer active (already cancelled or done)."""

    reason = "not_active"


class InvalidTransition(DomainError):
    """A status change that the lifecycle does not allow."""

    reason = "invalid_transition"


class EventClosed(DomainError):
    """The group event is cancelled or already started."""

    reason = "event_closed"


@dataclass(frozen=True)
class SlotOffer:
    """A free time a refusal can offer instead (UTC)."""

    start: datetime
    end: datetime


class SlotTaken(DomainError):
    """Every competent specialist is busy at that time; `alternatives` are the next free ones."""

    reason = "slot_taken"

    def __init__(self, detail: str = "", alternatives: Sequence[SlotOffer] = ()) -> None:
        super().__init__(detail)
        self.alternatives = list(alternatives)


class AlreadyBooked(DomainError):
    """The citizen already holds a booked appointment overlapping that time.

    `existing` is that appointment's id, `service_id` and UTC `start`, for the answer to
    show what they already have.
    """

    reason = "already_booked"

    def __init__(
        self, detail: str = "", *, existing: int, service_id: int, start: datetime
    ) -> None:
        super().__init__(detail)
        self.existing = existing
        self.service_id = service_id
        self.start = start
