"""what-if versions: a response may be based on another

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _foreign_keys(on: bool) -> None:
    """As in 0004: SQLite rebuilds `responses`; rows pointing at it must not trip the rebuild."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
        if not on:
            op.execute("PRAGMA defer_foreign_keys = ON")


def upgrade() -> None:
    _foreign_keys(on=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('based_on', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_foreign_key('fk_responses_based_on', 'responses', ['based_on'], ['id'])
    _foreign_keys(on=True)


def downgrade() -> None:
    _foreign_keys(on=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint('fk_responses_based_on', type_='foreignkey')
        batch_op.drop_column('based_on')
    _foreign_keys(on=True)
