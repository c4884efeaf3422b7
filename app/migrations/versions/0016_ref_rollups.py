"""a partner's tag in the rollups: `ref` as an export filter and group (issue 23)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

The tag (`responses.ref`, 0013) becomes part of a cell, so responses are released in batches
of one quiz version, state, role, partner, attribution *and tag* (app/analytics/aggregates.py,
docs/privacy.md): a tag's figures are whole batches of that tag, and a partner's figure minus
a tag's is whole batches too. The three rollup tables get `ref` ("" for none) in their
primary keys; SQLite rebuilds them (a new table, the rows copied), PostgreSQL replaces the key
in place.

While the keys change anyway, the two published tables get the order exports read them in:
(month or day, state, quiz version, condition, then role, partner, attribution, tag), and on
SQLite the monthly one becomes a WITHOUT ROWID table, stored in that order. An export by state
and month, the widest, is then read in key order and grouped as it goes, with no sort of the
whole table (bench/export.py: 0.39x a bare scan before, see docs/performance.md). The daily
table keeps its rowid: stored by key, it made every released batch's write slower. On
PostgreSQL the order is only the key's.

The backfill: the rows the tables already hold were released in cells without a tag, so where
any stored response has a tag they are recounted from the stored responses (`rebuild`, in
creation order under the batch rule with MIN_GROUP_SIZE from the environment, as 0009 did):
tagged responses then count under their tag, in batches of their own. Without any tagged
response the rows are exact as they are, under ref "", and nothing is recounted. The downgrade
adds rows that differ only by tag up, drops the column and, where there were tags, recounts
again under the old cells. Stored responses are not changed either way.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# Each table's primary key before this migration, and after it. A pending cell's rows are read
# by the key's first columns (the cell), so there `ref` comes before `condition`.
KEYS = {
    'condition_rollup': ['day', 'state', 'role', 'partner', 'quiz_version', 'condition', 'attribution'],
    'condition_rollup_month': ['month', 'state', 'role', 'partner', 'quiz_version', 'condition', 'attribution'],
    'pending_rollup': ['quiz_version', 'state', 'role', 'partner', 'attribution', 'condition'],
}
NEW_KEYS = {
    'condition_rollup': ['day', 'state', 'quiz_version', 'condition', 'role', 'partner', 'attribution', 'ref'],
    'condition_rollup_month': ['month', 'state', 'quiz_version', 'condition', 'role', 'partner', 'attribution', 'ref'],
    'pending_rollup': ['quiz_version', 'state', 'role', 'partner', 'attribution', 'ref', 'condition'],
}
# Stored in key order on SQLite: the table whole-month exports scan.
WITHOUT_ROWID = {'condition_rollup_month'}
COUNTS = ('stage_0', 'stage_1', 'stage_2', 'stage_3', 'unknown', 'ranked_first', 'top_three')
LENGTHS = {'day': 10, 'month': 7, 'state': 8, 'role': 40, 'partner': 64, 'quiz_version': 100, 'condition': 80, 'attribution': 10}


def upgrade() -> None:
    for table, key in NEW_KEYS.items():
        _rekey(table, key, add=True)
    if _any_tagged():
        _recount()


def downgrade() -> None:
    tagged = _any_tagged()
    for table, key in KEYS.items():
        # Rows that differ only by tag would clash under the old key: add them up first.
        others = key + (['month'] if table == 'condition_rollup' else [])
        columns = ', '.join(others)
        sums = ', '.join(f'SUM({c}) AS {c}' for c in COUNTS)
        op.execute(f"CREATE TEMPORARY TABLE folded AS SELECT {columns}, {sums} FROM {table} GROUP BY {columns}")
        op.execute(f"DELETE FROM {table}")
        op.execute(f"INSERT INTO {table} ({columns}, {', '.join(COUNTS)}, ref) SELECT {columns}, {', '.join(COUNTS)}, '' FROM folded")
        op.execute("DROP TABLE folded")
        _rekey(table, key, add=False)
    if tagged:
        _recount()  # the tags' pending responses, added up, may fill a cell: released again


def _any_tagged() -> bool:
    found = op.get_bind().execute(sa.text("SELECT 1 FROM responses WHERE ref IS NOT NULL LIMIT 1"))
    return found.first() is not None


def _recount() -> None:
    from app.analytics.aggregates import rebuild
    from app.config import get_settings

    rebuild(op.get_bind(), release_at=get_settings().min_group_size)


def _ref() -> sa.Column:
    # Every row the tables already hold counts responses under no tag: "".
    return sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False, server_default='')


def _rekey(table: str, key: list[str], *, add: bool) -> None:
    """Give `table` the primary key `key`, adding (or dropping) the ref column; on SQLite,
    going up, a published table is stored WITHOUT ROWID (in the key's order)."""
    if op.get_bind().dialect.name == 'postgresql':
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f'{table}_pkey', type_='primary')
            if add:
                batch_op.add_column(_ref())
            else:
                batch_op.drop_column('ref')
            batch_op.create_primary_key(f'{table}_pkey', key)
        return
    # SQLite cannot change a primary key in place: a new table, the rows copied, then renamed
    # (as 0008 did for attribution).
    counts = [sa.Column(c, sa.Integer(), nullable=False) for c in COUNTS]
    keys = [
        *(
            sa.Column(c, sqlmodel.sql.sqltypes.AutoString(length=LENGTHS[c]), nullable=False, **({'server_default': ''} if c == 'attribution' else {}))
            for c in key
            if c != 'ref'
        ),
        *([_ref()] if add else []),
    ]
    clustered = {'sqlite_with_rowid': False} if add and table in WITHOUT_ROWID else {}
    # A WITHOUT ROWID table has its key columns first: SQLite 3.40's integrity and quick
    # checks (what `app.cli backup` runs on its copy) report "NULL value" in every NOT NULL
    # column that comes before the primary key's columns of such a table, with no NULL there.
    columns = [*keys, *counts] if clustered else [*counts, *keys]
    if table == 'condition_rollup':
        columns.append(sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False))
    kept = ', '.join(c.name for c in columns if c.name != 'ref')
    op.create_table(f'{table}_new', *columns, sa.PrimaryKeyConstraint(*key, name=f'{table}_pkey'), **clustered)
    op.execute(f'INSERT INTO {table}_new ({kept}) SELECT {kept} FROM {table}')
    if table == 'condition_rollup':
        op.drop_index('ix_condition_rollup_month', table_name=table)
    op.drop_table(table)
    op.rename_table(f'{table}_new', table)
    if table == 'condition_rollup':
        op.create_index('ix_condition_rollup_month', table, ['month'], unique=False)
