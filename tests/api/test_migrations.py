"""Migrations produce exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.config import Settings
from app.db import SchemaNotReady, make_engine, migrate
from app.main import create_app


def test_migrations_match_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, database_url)
        migrate(engine, database_url)  # a second run is a no-op
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == []
        assert {"responses", "content_versions", "idempotency_keys", "alembic_version"} <= tables
    finally:
        engine.dispose()


def test_app_refuses_a_database_that_was_not_migrated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Workers do not migrate; they say what to run instead of failing on the first request."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'new.db'}"))
    with pytest.raises(SchemaNotReady, match=r"python -m app\.cli migrate"):
        with TestClient(app):
            pass
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = make_engine(url)
    migrate(engine, url)
    engine.dispose()
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}


def test_head_revision_read_from_file_names_is_alembics_head() -> None:
    """Start-up reads the head from the file names (no Alembic import); it must agree."""
    from alembic.script import ScriptDirectory

    from app.db import MIGRATIONS_DIR, head_revision

    assert head_revision() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
