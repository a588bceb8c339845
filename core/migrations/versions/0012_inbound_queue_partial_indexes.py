"""the inbox's queue indexes hold only queued messages (partial indexes)

The inbox claims the oldest queued message of a person with no earlier queued message.
Its indexes held every message ever received, so the claim walked past every message
already done: with 6,000 done rows the claim took 4 ms of PostgreSQL's CPU, in the bench's
drain 11.6 ms, and it grows with the table for good. Indexes on the queued rows alone
(`WHERE status = 'queued'`, PostgreSQL and SQLite) stay as small as the queue; the claim
and /metrics name the status as a literal so that both databases can use them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    op.drop_index("ix_inbound_queue", table_name="inbound_message")
    op.drop_index("ix_inbound_user", table_name="inbound_message")
    op.create_index(
        "ix_inbound_queued",
        "inbound_message",
        ["id"],
        postgresql_where=QUEUED,
        sqlite_where=QUEUED,
    )
    op.create_index(
        "ix_inbound_queued_person",
        "inbound_message",
        ["channel", "user_ref", "id"],
        postgresql_where=QUEUED,
        sqlite_where=QUEUED,
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_queued_person", table_name="inbound_message")
    op.drop_index("ix_inbound_queued", table_name="inbound_message")
    op.create_index("ix_inbound_user", "inbound_message", ["channel", "user_ref", "status"])
    op.create_index("ix_inbound_queue", "inbound_message", ["status", "id"])
