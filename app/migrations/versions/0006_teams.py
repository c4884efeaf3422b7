"""teams: leadership teams answering together

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

from app.db import sqlite_foreign_keys


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('teams',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('join_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('lead_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('join_token_hash')
    )
    sqlite_foreign_keys(op, on=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_responses_team_id'), ['team_id'], unique=False)
        batch_op.create_foreign_key('fk_responses_team_id', 'teams', ['team_id'], ['id'])
    sqlite_foreign_keys(op, on=True)


def downgrade() -> None:
    sqlite_foreign_keys(op, on=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint('fk_responses_team_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_responses_team_id'))
        batch_op.drop_column('team_id')
    sqlite_foreign_keys(op, on=True)
    op.drop_table('teams')
