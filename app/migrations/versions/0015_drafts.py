"""drafts: quizzes in progress kept at a private link (issue 22, part 1)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

A draft's token is stored only as its sha256 (`token_hash`). Drafts are deleted
DRAFT_RETENTION_DAYS after their last save (`updated_at`, indexed for that sweep).
Evidence on answers needs no column: it is kept in the `answers` JSON of a response.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('drafts',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('response_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index('ix_drafts_updated_at', ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index('ix_drafts_updated_at')
    op.drop_table('drafts')
