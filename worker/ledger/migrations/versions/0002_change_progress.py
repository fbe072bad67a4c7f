"""change rows record how far write-back got

Revision ID: 0002
Revises: 0001

`changes.owner_written_at`: when write-back found the owner at the target while the note was
still missing (such a row is never cancelled or superseded; it waits for its note).

`changes.claims`: how often a worker claimed the row, apart from `attempts`, which now counts
only failures of the row's own record. Before, `attempts` counted claims: existing rows start
with `claims = attempts`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worker.ledger.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owner_written_at", worker.ledger.tables.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("claims", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE changes SET claims = attempts")


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_column("claims")
        batch_op.drop_column("owner_written_at")
