"""the dashboard's period indexes carry the columns its counts read (PostgreSQL)

The national 30-day page groups about 75,000 appointments of the period several ways; with
the columns in the index (INCLUDE) PostgreSQL answers from the index alone (an index-only
scan) instead of fetching every row from the table. SQLite has no INCLUDE: unchanged there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 06:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = (
    (
        "ix_appointment_created",
        "created_at",
        ["tenant_id", "service_id", "start_utc", "rescheduled_from_id"],
    ),
    ("ix_appointment_start", "start_utc", ["tenant_id", "service_id", "status"]),
    ("ix_appointment_cancelled", "cancelled_at", ["tenant_id", "service_id", "status"]),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, column, include in COVERED:
        op.drop_index(name, table_name="appointment")
        op.create_index(name, "appointment", [column], postgresql_include=include)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, column, _ in COVERED:
        op.drop_index(name, table_name="appointment")
        op.create_index(name, "appointment", [column])
