"""The string status columns default to and are checked against their enums' values."""

from __future__ import annotations

import enum

import pytest
from sqlalchemy import CheckConstraint

from core.models import Base, Closure, ClosureKind, FlowVersion, OutboxMessage
from core.states import FlowStatus, OutboxStatus


def check_text(table: str, name: str) -> str:
    constraints = Base.metadata.tables[table].constraints
    (check,) = [c for c in constraints if isinstance(c, CheckConstraint) and c.name == name]
    return str(check.sqltext)


@pytest.mark.parametrize(
    ("table", "name", "expected"),
    [
        (
            "outbox_message",
            "ck_outbox_message_status",
            "status IN ('pending', 'sending', 'sent', 'failed', 'withdrawn', 'needs_template')",
        ),
        ("flow_version", "ck_flow_version_status", "status IN ('draft', 'published', 'retired')"),
        ("closure", "ck_closure_kind", "kind IN ('holiday', 'regional', 'day_off')"),
    ],
)
def test_checks_keep_the_migrations_text(table: str, name: str, expected: str) -> None:
    # The migrations created these checks with this text; the enums must not drift from it.
    assert check_text(table, name) == expected


@pytest.mark.parametrize(
    ("model", "column", "states"),
    [
        (OutboxMessage, "status", OutboxStatus),
        (FlowVersion, "status", FlowStatus),
        (Closure, "kind", ClosureKind),
    ],
)
def test_checked_columns_fit_every_value(
    model: type[Base], column: str, states: type[enum.StrEnum]
) -> None:
    length = model.__table__.c[column].type.length
    assert all(len(state) <= length for state in states)
