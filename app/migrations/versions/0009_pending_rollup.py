"""pending rollup: aggregates publish responses in released batches

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

A response is counted in the published rollups only as part of a batch: MIN_GROUP_SIZE
responses with the same quiz version, state, role, partner and attribution, released on the day the batch
completed (app/analytics/aggregates.py, docs/privacy.md). Until then its counts wait in `pending_rollup`.
The upgrade re-counts the rollups from the stored responses, replayed in creation order under
that rule, with MIN_GROUP_SIZE from the environment (or its default); the downgrade counts every
response again at once, on its own day, and drops the table. Stored responses are not changed.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pending_rollup',
    sa.Column('stage_0', sa.Integer(), nullable=False),
    sa.Column('stage_1', sa.Integer(), nullable=False),
    sa.Column('stage_2', sa.Integer(), nullable=False),
    sa.Column('stage_3', sa.Integer(), nullable=False),
    sa.Column('unknown', sa.Integer(), nullable=False),
    sa.Column('ranked_first', sa.Integer(), nullable=False),
    sa.Column('top_three', sa.Integer(), nullable=False),
    sa.Column('quiz_version', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('partner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('attribution', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default=''),
    sa.Column('condition', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.PrimaryKeyConstraint('quiz_version', 'state', 'role', 'partner', 'attribution', 'condition')
    )
    from app.analytics.aggregates import rebuild
    from app.config import get_settings

    rebuild(op.get_bind(), release_at=get_settings().min_group_size)


def downgrade() -> None:
    from app.analytics.aggregates import rebuild

    rebuild(op.get_bind(), release_at=None)
    op.drop_table('pending_rollup')
