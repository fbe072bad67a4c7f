"""change rows record how far write-back got

Revision ID: 0002
Revises: 0001

`changes.owner_written_at`: when write-back found the owner at the target while the note was
still missing (such a row is never cancelled or superseded; it waits for its note).

`changes.claims`: how often a worker claimed the row, apart from `attempts`, which now counts
only failures of the row's own record. Before, `attempts` counted claims: existing rows start
with `claims = attempts`, open rows and rows that never failed with no attempts, and a row whose
owner was written (`written_owners`) while it waited for its note gets `owner_written_at`.
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
    # `attempts` counted claims; now it counts failures of the row's own record, which the old
    # rows cannot tell apart: an open row starts afresh (an outage it met spends nothing), and
    # a row that never failed had none.
    op.execute(
        "UPDATE changes SET attempts = 0 "
        "WHERE state IN ('planned', 'approved', 'due', 'applying') "
        # A JSON column keeps Python's None as JSON null, not SQL NULL.
        "OR error IS NULL OR CAST(error AS TEXT) = 'null'"
    )
    # A row whose owner write-back wrote while its note was still missing waits only for its
    # note (or, failed, is rolled back like an applied one): `written_owners` keeps which
    # change wrote each account's owner, and when. One found at its target without a write
    # left no trace in 0001 and cannot be told apart.
    op.execute(
        "UPDATE changes SET owner_written_at = ("
        "SELECT w.written_at FROM written_owners w WHERE w.change_id = changes.change_id) "
        "WHERE state IN ('due', 'applying', 'failed') AND EXISTS ("
        "SELECT 1 FROM written_owners w WHERE w.change_id = changes.change_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_column("claims")
        batch_op.drop_column("owner_written_at")
