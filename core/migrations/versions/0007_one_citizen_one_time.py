"""one citizen, one appointment at a time

A citizen can no longer hold two booked appointments whose times [start_utc, end_utc)
overlap (the specialist's buffer is the specialist's own time, not the citizen's):
- PostgreSQL: the exclusion constraint `ex_appointment_citizen_overlap` (btree_gist, made
  available by 0001), as for a specialist's double booking.
- SQLite: two triggers (before insert, and before an update of the citizen, the times or
  the status) that abort with the same name. Writers are serialised there (BEGIN
  IMMEDIATE), so the check inside the trigger cannot race.
`core/booking.py` checks first so a citizen gets a kind answer; the database has the last
word when two requests race.

Training event seats already have one row per person and event
(`uq_event_registration_event_id_citizen_id`); a cancelled seat is taken again on that same
row, so nothing changes there.

Existing overlaps (made before this revision): the constraint could not be created over
them, and refusing to upgrade would stop `psv serve` on its first start. So the upgrade
keeps, for each citizen, the appointment booked first (lowest id) and cancels each later
one that overlaps an appointment it keeps: the row stays (status `cancelled`,
cancel_reason `overlap_migration_0007`, cancelled_by `system:migration-0007`), its unsent
reminders and notices are withdrawn, and an audit entry (`appointment.cancel`) names it,
so a regional admin finds it in the audit log and can offer a new time. Nothing is
deleted. The downgrade drops the constraint or triggers and leaves those rows cancelled.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:50:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import core.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "ex_appointment_citizen_overlap"
REASON = "overlap_migration_0007"
ACTOR = "system:migration-0007"
UNSENT = ("pending", "needs_template")

_appointment = sa.table(
    "appointment",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("citizen_id", sa.Integer),
    sa.column("start_utc", core.types.UTCDateTime()),
    sa.column("end_utc", core.types.UTCDateTime()),
    sa.column("status", sa.String),
    sa.column("cancel_reason", sa.String),
    sa.column("cancelled_by", sa.String),
    sa.column("cancelled_at", core.types.UTCDateTime()),
)
_outbox = sa.table(
    "outbox_message",
    sa.column("subject", sa.String),
    sa.column("status", sa.String),
)
_audit = sa.table(
    "audit_entry",
    sa.column("at", core.types.UTCDateTime()),
    sa.column("actor", sa.String),
    sa.column("tenant_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
)

# The SQLite triggers: the same rule as the exclusion constraint.
_OVERLAP = (
    "EXISTS (SELECT 1 FROM appointment AS other WHERE other.citizen_id = NEW.citizen_id "
    "AND other.status = 'booked' AND other.start_utc < NEW.end_utc "
    "AND NEW.start_utc < other.end_utc{extra})"
)
_SQLITE_TRIGGERS = {
    "tr_appointment_citizen_overlap_insert": (
        "BEFORE INSERT ON appointment",
        _OVERLAP.format(extra=""),
    ),
    "tr_appointment_citizen_overlap_update": (
        "BEFORE UPDATE OF citizen_id, start_utc, end_utc, status ON appointment",
        _OVERLAP.format(extra=" AND other.id <> NEW.id"),
    ),
}


def _overlapping_later(connection: sa.Connection) -> list[Any]:
    """Booked appointments that overlap an earlier-booked one of the same citizen kept."""
    a, b = _appointment.alias("a"), _appointment.alias("b")
    citizens = (
        sa.select(a.c.citizen_id)
        .join(
            b,
            sa.and_(
                a.c.citizen_id == b.c.citizen_id,
                a.c.id < b.c.id,
                a.c.start_utc < b.c.end_utc,
                b.c.start_utc < a.c.end_utc,
            ),
        )
        .where(a.c.status == "booked", b.c.status == "booked")
        .distinct()
    )
    ids = [row[0] for row in connection.execute(citizens)]
    if not ids:
        return []
    rows = connection.execute(
        sa.select(_appointment)
        .where(_appointment.c.citizen_id.in_(ids), _appointment.c.status == "booked")
        .order_by(_appointment.c.citizen_id, _appointment.c.id)
    ).all()
    kept: dict[int, list[Any]] = {}
    dropped = []
    for row in rows:
        mine = kept.setdefault(row.citizen_id, [])
        if any(k.start_utc < row.end_utc and row.start_utc < k.end_utc for k in mine):
            dropped.append(row)
        else:
            mine.append(row)
    return dropped


def _cancel_overlaps(connection: sa.Connection) -> None:
    now = datetime.now(UTC)
    for row in _overlapping_later(connection):
        connection.execute(
            _appointment.update()
            .where(_appointment.c.id == row.id)
            .values(status="cancelled", cancel_reason=REASON, cancelled_by=ACTOR, cancelled_at=now)
        )
        connection.execute(
            _outbox.update()
            .where(
                _outbox.c.subject == f"appointment:{row.id}", _outbox.c.status.in_(UNSENT)
            )
            .values(status="withdrawn")
        )
        connection.execute(
            _audit.insert().values(
                at=now,
                actor=ACTOR,
                tenant_id=row.tenant_id,
                action="appointment.cancel",
                entity="appointment",
                entity_id=str(row.id),
                before={"status": "booked", "start_utc": row.start_utc.isoformat()},
                after={"status": "cancelled", "reason": REASON},
            )
        )


def upgrade() -> None:
    connection = op.get_bind()
    _cancel_overlaps(connection)
    if connection.dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE appointment ADD CONSTRAINT {CONSTRAINT} "
            "EXCLUDE USING gist (citizen_id WITH =, "
            "tstzrange(start_utc, end_utc, '[)') WITH &&) WHERE (status = 'booked')"
        )
    elif connection.dialect.name == "sqlite":
        for name, (when, overlap) in _SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {when} FOR EACH ROW "
                f"WHEN NEW.status = 'booked' AND {overlap} "
                f"BEGIN SELECT RAISE(ABORT, '{CONSTRAINT}'); END"
            )


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute(f"ALTER TABLE appointment DROP CONSTRAINT {CONSTRAINT}")
    elif connection.dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
