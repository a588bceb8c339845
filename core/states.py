"""The states a stored row goes through, as string enums (the column holds the value).

`AppointmentStatus`, `RegistrationStatus` and `EventStatus` live with their models in
`core/models/`; these are the states of rows whose columns are plain strings.
"""

from __future__ import annotations

import enum
from typing import Final

# The outbox kind of an answer to someone who just wrote: sent first, inside any session window.
REPLY_KIND: Final = "reply"


class OutboxStatus(enum.StrEnum):
    """An outbox message: waiting, being sent, sent, given up, withdrawn or parked."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    # WhatsApp outside the 24-hour window: waits for an approved template to be configured.
    NEEDS_TEMPLATE = "needs_template"


class InboundStatus(enum.StrEnum):
    """An inbound message: waiting for its turn, turn run, or kept unanswered (flood limit)."""

    QUEUED = "queued"
    DONE = "done"
    FLOODED = "flooded"


class TicketStatus(enum.StrEnum):
    """A hand-off ticket: waiting in the region's queue, relayed by a specialist, closed."""

    OPEN = "open"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class FlowStatus(enum.StrEnum):
    """A flow version: being written, the one in use, or replaced."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"
