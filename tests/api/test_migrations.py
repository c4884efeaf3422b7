"""Migrations produce exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.db import make_engine, migrate


def test_migrations_match_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, database_url)
        migrate(engine, database_url)  # a second run is a no-op
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == []
        assert {"responses", "response_stages", "idempotency_keys", "alembic_version"} <= tables
    finally:
        engine.dispose()
