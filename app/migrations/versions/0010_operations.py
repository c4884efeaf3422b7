"""operations: rate-limit buckets stored as keyed hashes and swept by age; a row for /healthz

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Rows written before held client addresses as they were (`ip:127.0.0.1`); they are limiter
state for the last minute only, so they are deleted rather than rewritten (a limit restarts
from zero once, at the upgrade). The index on `at` serves the sweep of aged-out rows that
every count now makes. `health_checks` holds the one row /healthz writes to find out whether
the database takes a write.
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM rate_limit_hits")
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_hits_at', ['at'], unique=False)
    op.create_table('health_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('health_checks')
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_limit_hits_at')
    # Hashed buckets mean nothing to the old code: start its window afresh.
    op.execute("DELETE FROM rate_limit_hits")
