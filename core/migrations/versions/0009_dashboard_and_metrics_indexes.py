"""indexes for the dashboard's period queries and the oldest due outbox message

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_due', ['status', 'due_at'], unique=False)

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_created', ['created_at'], unique=False)
        batch_op.create_index('ix_appointment_start', ['start_utc'], unique=False)
        batch_op.create_index('ix_appointment_cancelled', ['cancelled_at'], unique=False)

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_created', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_created')

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_cancelled')
        batch_op.drop_index('ix_appointment_start')
        batch_op.drop_index('ix_appointment_created')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_due')
