"""plans: a plan made from a result or a team's picture, kept at a private link, and its check-ins

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

A plan's token is stored only as its sha256 (`token_hash`), as teams' tokens are. A check-in is
a response like any other (its `based_on` points at the response before it); `plan_check_ins`
says which plan it belongs to.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plans',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('response_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('time_frame', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_response_id'), ['response_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plans_team_id'), ['team_id'], unique=False)
    op.create_table('plan_check_ins',
    sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('response_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], ),
    sa.PrimaryKeyConstraint('plan_id', 'response_id')
    )


def downgrade() -> None:
    op.drop_table('plan_check_ins')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_team_id'))
        batch_op.drop_index(batch_op.f('ix_plans_response_id'))
    op.drop_table('plans')
