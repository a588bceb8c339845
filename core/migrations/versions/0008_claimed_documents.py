"""a document claimed from another chat is kept apart, unverified

A chat address is bound to at most one citizen record (`channel_identity` was already
unique per channel and address). When someone types, from their own chat, a document
whose record is bound to another chat, that document is no longer merged into the owner's
record: the writer's own record keeps it in `claimed_document_type` and
`claimed_document_number` (unverified), and the owner's row is untouched
(core/identity.py). The unique (document_type, document_number) of a record's own
document stays as it was. Plain column additions: no table is rebuilt on SQLite.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'claimed_document_type',
                sa.Enum('dni', 'ce', 'ruc', 'passport', name='documenttype', native_enum=False, length=20),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column('claimed_document_number', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.drop_column('claimed_document_number')
        batch_op.drop_column('claimed_document_type')
