"""hashed rate limits: buckets stored as keyed hashes, swept by age

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Rows written before held client addresses as they were (`ip:127.0.0.1`); they are limiter
state for the last minute only, so they are deleted rather than rewritten (a limit restarts
from zero once, at the upgrade). The index on `at` serves the sweep of aged-out rows that
every count now makes.
"""

from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM rate_limit_hits")
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_hits_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_limit_hits_at')
    # Hashed buckets mean nothing to the old code: start its window afresh.
    op.execute("DELETE FROM rate_limit_hits")
