"""The one registry of what a flow may name: actions, conditions, data sources, placeholders.

The validator (bot/flows/schema/) checks a flow's names against these declarations. The
runtime tables are built with `bind`, which files each callable under its own name and
refuses, at import, a table whose names differ from the declared ones: bot/flows/actions.py,
bot/flows/conditions.py, bot/flows/placeholders.py and bot/flows/steps/sources.py. Nothing
here imports runtime code, so validating a flow loads no database module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

# Each action (bot/flows/actions.py) and what it needs among the answers on every path to it.
ACTION_NEEDS: Mapping[str, frozenset[str]] = {
    "record_consent": frozenset(),
    "set_language": frozenset({"language"}),
    "identify": frozenset({"doc_type", "document"}),
    "book": frozenset({"service", "region", "slot", "doc_type", "document", "name"}),
    "cancel_appointment": frozenset({"appointment"}),
    "reschedule_appointment": frozenset({"appointment", "slot"}),
    "register_event": frozenset({"event", "doc_type", "document", "name"}),
    "cancel_registration": frozenset({"registration"}),
    "handoff": frozenset(),
    "erase_data": frozenset(),
    "phone_known": frozenset(),
}
ACTIONS = frozenset(ACTION_NEEDS)

# Each condition (bot/flows/conditions.py), for `skip_if` and branching `next`, and what it
# vouches for: a step skipped when it holds counts as having saved these answers.
CONDITION_PROVIDES: Mapping[str, frozenset[str]] = {
    "has_region": frozenset({"region"}),
    "has_service": frozenset({"service"}),
    "has_identity": frozenset({"doc_type", "document", "name"}),
    "has_document": frozenset({"doc_type", "document"}),
    "has_description": frozenset({"description"}),
    "has_consent": frozenset(),
    "needs_language_choice": frozenset(),
    "service_asks_description": frozenset(),
    "is_company": frozenset(),
    "has_upcoming_appointments": frozenset(),
    "has_events": frozenset(),
    "has_registrations": frozenset(),
}
CONDITIONS = frozenset(CONDITION_PROVIDES)

# Data a choice step may list instead of static options (bot/flows/steps/sources.py).
SOURCES = frozenset(
    {
        "services",
        "regions",
        "events",
        "my_appointments",
        "my_registrations",
        "document_types",
        "languages",
    }
)

# Placeholders whose value is read from the conversation (bot/flows/placeholders.py), each
# with the answer it is made of when it has one: empty until the conversation has that answer.
RESOLVED_PLACEHOLDERS: Mapping[str, str | None] = {
    "name": "name",
    "first_name": "name",
    "region_name": "region",
    "service_name": "service",
    "service_description": "service",
    "modality": "service",
    "day": "day",
    "day_phrase": None,
    "when": "slot",
    "document": "document",
    "doc_type": "doc_type",
    "description": "description",
    "office_hours": None,
}
# Placeholders an action sets during the turn (e.g. the booked specialist's first name).
ACTION_PLACEHOLDERS = frozenset(
    {
        "specialist",
        "appointment_when",
        "event_title",
        "event_when",
        "position",
        "reason",
        "answer_when",
    }
)
# Everything a flow text may put in braces.
PLACEHOLDERS = frozenset(RESOLVED_PLACEHOLDERS) | ACTION_PLACEHOLDERS
# How a placeholder is written, `{name}` or `{name|fallback}` (the fallback is said when the
# value is empty). Anything between braces matches, so the validator can name a misspelt one;
# the renderer fills only the names it has values for and leaves the rest as written.
PLACEHOLDER = re.compile(r"\{(?P<name>[^{}|]*)(?:\|(?P<fallback>[^{}]*))?\}")
# The answer each placeholder is made of, for those that have one.
PLACEHOLDER_NEEDS: Mapping[str, str] = {
    name: answer for name, answer in RESOLVED_PLACEHOLDERS.items() if answer is not None
}

Runtime = TypeVar("Runtime", bound=Callable[..., Any])


class AllowlistMismatch(RuntimeError):
    """A runtime table whose names differ from the registry's declaration."""


def check(kind: str, declared: Iterable[str], provided: Iterable[str]) -> None:
    """Raise AllowlistMismatch unless `provided` names exactly the `declared` ones."""
    wanted, given = set(declared), set(provided)
    if wanted != given:
        raise AllowlistMismatch(
            f"{kind}: declared without code {sorted(wanted - given)}, "
            f"code without declaration {sorted(given - wanted)}"
        )


def bind(kind: str, declared: Iterable[str], runtime: Iterable[Runtime]) -> dict[str, Runtime]:
    """The runtime table of `kind`: each callable under its own name, checked against `declared`."""
    table = {function.__name__: function for function in runtime}
    check(kind, declared, table)
    return table
