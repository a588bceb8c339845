"""the inbox's claim on PostgreSQL runs in a function with index-only planner settings

The claim (oldest queued message of a person with no earlier queued message) was planned
from statistics. Statistics taken while the queue was empty made PostgreSQL read every
queued row, check each person, and sort, for every claim: in bench_webhooks the claim grew
to 1.9 s behind 6,500 queued messages and the turns stopped (0-2 turns/s). The function runs
the same statement with sequential scans, bitmap scans and sorts off (SET clauses of the
function, so they hold for the claim only, not for the turn in the same transaction): it
must walk `ix_inbound_queued` in id order and stop at the first message it may run.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 03:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIM_FUNCTION = """
CREATE OR REPLACE FUNCTION psv_claim_inbound() RETURNS TABLE (id integer, payload json)
LANGUAGE sql VOLATILE
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
AS $$
SELECT m.id, m.payload FROM inbound_message AS m
WHERE m.status = 'queued' AND NOT EXISTS (
    SELECT 1 FROM inbound_message AS e
    WHERE e.status = 'queued' AND e.channel = m.channel AND e.user_ref = m.user_ref
      AND e.id < m.id OFFSET 0)
ORDER BY m.id LIMIT 1 FOR UPDATE OF m SKIP LOCKED
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CLAIM_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS psv_claim_inbound()")
