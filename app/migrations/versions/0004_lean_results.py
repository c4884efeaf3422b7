"""lean results: content versions kept once, responses keep what scoring decided

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Responses stored before this keep their whole result unless it can be rebuilt exactly: a row
is rewritten only when explaining its recomputed decisions with today's content gives back,
field for field, the result it stores (app/responses/results.py, `compact_stored`). The others (older
quiz or scoring versions, or content that changed since) stay whole and are served as stored.
`response_stages` goes: aggregates read the rollups (0003), nothing reads it any more.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

from app.db import sqlite_foreign_keys


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _results():  # the content and scorer the app would start with
    from app.config import get_settings
    from app.responses.results import Results
    from quiz import load_content
    from scoring import Scorer

    return Results(Scorer(*load_content(get_settings().quiz_data_dir)))


def upgrade() -> None:
    sqlite_foreign_keys(op, on=False)
    op.create_table('content_versions',
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('quiz_version', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hash')
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_foreign_key('fk_responses_content_hash', 'content_versions', ['content_hash'], ['hash'])
    with op.batch_alter_table('response_stages', schema=None) as batch_op:
        batch_op.drop_index('ix_response_stages_created_condition')
        batch_op.drop_index('ix_response_stages_condition_stage')
    op.drop_table('response_stages')

    from app.responses.results import compact_stored

    compact_stored(op.get_bind(), _results())
    sqlite_foreign_keys(op, on=True)


def downgrade() -> None:
    from app.responses.results import expand_stored

    sqlite_foreign_keys(op, on=False)
    expand_stored(op.get_bind(), _results())
    op.create_table('response_stages',
    sa.Column('response_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('condition', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('stage', sa.SmallInteger(), nullable=True),
    sa.Column('confidence', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('partner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], ),
    sa.PrimaryKeyConstraint('response_id', 'condition')
    )
    with op.batch_alter_table('response_stages', schema=None) as batch_op:
        batch_op.create_index('ix_response_stages_condition_stage', ['condition', 'stage'], unique=False)
        batch_op.create_index('ix_response_stages_created_condition', ['created_at', 'condition'], unique=False)
    op.execute(
        "INSERT INTO response_stages (response_id, condition, stage, confidence, created_at, state, partner) "
        "SELECT r.id, c.slug, c.stage, c.confidence, r.created_at, r.state, r.partner FROM responses r, "
        "json_to_recordset(r.result::json -> 'conditions') AS c(slug text, stage smallint, confidence text)"
        if op.get_bind().dialect.name == "postgresql" else
        "INSERT INTO response_stages (response_id, condition, stage, confidence, created_at, state, partner) "
        "SELECT r.id, json_extract(c.value, '$.slug'), json_extract(c.value, '$.stage'), "
        "json_extract(c.value, '$.confidence'), r.created_at, r.state, r.partner "
        "FROM responses r, json_each(r.result, '$.conditions') c"
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint('fk_responses_content_hash', type_='foreignkey')
        batch_op.drop_column('content_hash')
    op.drop_table('content_versions')
    sqlite_foreign_keys(op, on=True)
