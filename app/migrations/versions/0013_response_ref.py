"""a widget's tag on its responses: `responses.ref`

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-02

`ref` is the partner's `data-ref` (a campaign or article tag, at most 40 plain characters) of
the widget a response came from; null for every response stored before, and for responses
that came from anywhere else. A plain nullable column: SQLite and PostgreSQL add it without
rewriting the table.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('responses', sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('ref')
