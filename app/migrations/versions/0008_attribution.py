"""attribution a partner can trust, and the server's own signing secret

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

`responses.attribution` says how a response's partner was established ("api_key" or
"widget"); rows stored before are left NULL: their partner was a claim nobody checked, and
stored results are never rewritten. The rollups get the same dimension (so the export can group
by it) with "" for every row they already hold, which is exactly what those responses are:
not attributed. Their primary keys grow by the column, so SQLite rebuilds both tables (batch
mode) and PostgreSQL replaces the key in place; no count changes.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ROLLUPS = {
    'condition_rollup': ['day', 'state', 'role', 'partner', 'quiz_version', 'condition'],
    'condition_rollup_month': ['month', 'state', 'role', 'partner', 'quiz_version', 'condition'],
}


def upgrade() -> None:
    op.create_table('server_secrets',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    # Nullable, no default: adding it rewrites no row (SQLite and PostgreSQL both add such a
    # column in place, without the batch copy).
    op.add_column('responses', sa.Column('attribution', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
    for table, key in ROLLUPS.items():
        _rekey(table, [*key, 'attribution'], add=True)


def downgrade() -> None:
    for table, key in ROLLUPS.items():
        # Rows that differ only by attribution would clash under the old key: add them up first.
        counts = COUNTS
        others = key + (['month'] if table == 'condition_rollup' else [])
        sums = ', '.join(f'SUM({c}) AS {c}' for c in counts)
        columns = ', '.join(others)
        op.execute(f"CREATE TEMPORARY TABLE folded AS SELECT {columns}, {sums} FROM {table} GROUP BY {columns}")
        op.execute(f"DELETE FROM {table}")
        op.execute(f"INSERT INTO {table} ({columns}, {', '.join(counts)}, attribution) SELECT {columns}, {', '.join(counts)}, '' FROM folded")
        op.execute("DROP TABLE folded")
        _rekey(table, key, add=False)
    op.drop_column('responses', 'attribution')
    op.drop_table('server_secrets')


def _rekey(table: str, key: list[str], *, add: bool) -> None:
    """Give `table` the primary key `key`, adding (or dropping) the attribution column."""
    if op.get_bind().dialect.name == 'postgresql':
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f'{table}_pkey', type_='primary')
            if add:
                batch_op.add_column(_attribution())
            else:
                batch_op.drop_column('attribution')
            batch_op.create_primary_key(f'{table}_pkey', key)
        return
    # SQLite cannot change a primary key in place: a new table, the rows copied, then renamed.
    # (Alembic's batch mode would do the same, but warns when the key's columns change.)
    columns = [
        *(sa.Column(c, sa.Integer(), nullable=False) for c in COUNTS),
        *(sa.Column(c, sqlmodel.sql.sqltypes.AutoString(length=LENGTHS[c]), nullable=False) for c in key if c != 'attribution'),
        *([_attribution()] if add else []),
    ]
    if table == 'condition_rollup':
        columns.append(sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False))
    kept = ', '.join(c.name for c in columns if c.name != 'attribution')
    op.create_table(f'{table}_new', *columns, sa.PrimaryKeyConstraint(*key, name=f'{table}_pkey'))
    op.execute(f'INSERT INTO {table}_new ({kept}) SELECT {kept} FROM {table}')
    if table == 'condition_rollup':
        op.drop_index('ix_condition_rollup_month', table_name=table)
    op.drop_table(table)
    op.rename_table(f'{table}_new', table)
    if table == 'condition_rollup':
        op.create_index('ix_condition_rollup_month', table, ['month'], unique=False)


COUNTS = ('stage_0', 'stage_1', 'stage_2', 'stage_3', 'unknown', 'ranked_first', 'top_three')
LENGTHS = {'day': 10, 'month': 7, 'state': 8, 'role': 40, 'partner': 64, 'quiz_version': 100, 'condition': 80}


def _attribution() -> sa.Column:
    # Every row the rollups hold already counts responses with no attribution recorded: "".
    return sa.Column('attribution', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default='')
