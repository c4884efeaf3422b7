"""what-if versions: a response may be based on another

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

from app.db import sqlite_foreign_keys


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite_foreign_keys(op, on=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('based_on', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_foreign_key('fk_responses_based_on', 'responses', ['based_on'], ['id'])
    sqlite_foreign_keys(op, on=True)


def downgrade() -> None:
    sqlite_foreign_keys(op, on=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint('fk_responses_based_on', type_='foreignkey')
        batch_op.drop_column('based_on')
    sqlite_foreign_keys(op, on=True)
