"""analyst secrets: revocable insights sessions, throttled export-token failures

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analyst_sessions',
    sa.Column('id_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id_hash')
    )
    op.create_table('token_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('token_failures', schema=None) as batch_op:
        batch_op.create_index('ix_token_failures_bucket_at', ['bucket', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('token_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_token_failures_bucket_at')
    op.drop_table('token_failures')
    op.drop_table('analyst_sessions')
