"""Migrations produce exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.config import Settings, get_settings
from app.db import SchemaNotReady, alembic_config, make_engine, migrate
from app.main import create_app
from scoring import Scorer
from tests.api.test_lean_storage import CURRENT_ID, OLD_ID, _database_at, _whole_rows
from tests.support import app_settings


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


def test_rows_stored_before_attribution_keep_their_partner_and_are_counted(
    database_url: str, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows stored before the rollup (0003) and before attribution (0008), migrated to the
    newest schema: counted by the rollup (0003 counts into its own tables, not the newest
    ones), each row as it was (its partner kept, attribution null: nobody checked the claim),
    read back through the API, and exported under attribution "" (not recorded)."""
    rows = _whole_rows(scorer)
    rows[0]["partner"] = "news"
    _database_at(database_url, "0002", rows)
    engine = make_engine(database_url)
    # To 0003 first, committed, as a deployment of its day did. (In one run from 0002, 0004
    # trips SQLite's deferred foreign keys when 0003 has written rows first: a known gap of
    # 0004's, not of the rows.)
    with engine.begin() as conn:
        config = alembic_config(database_url)
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
    # Batches of one (0009 re-counts in batches of MIN_GROUP_SIZE), so both rows are published.
    monkeypatch.setenv("MIN_GROUP_SIZE", "1")
    get_settings.cache_clear()
    try:
        migrate(engine, database_url)
    finally:
        get_settings.cache_clear()
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT id, partner, attribution FROM responses")).all()
        counted = conn.execute(
            text(
                "SELECT SUM(stage_0 + stage_1 + stage_2 + stage_3 + unknown), COUNT(DISTINCT condition) FROM condition_rollup"
            )
        ).one()
    engine.dispose()
    assert sorted(stored) == sorted([(CURRENT_ID, "news", None), (OLD_ID, None, None)])
    assert counted[0] == 2 * counted[1]  # both responses, once in every condition
    settings = app_settings(database_url, export_token="t", min_group_size=1)
    with TestClient(create_app(settings)) as client:
        served = client.get(f"/api/v1/responses/{CURRENT_ID}").json()
        assert (served["partner"], served["attribution"]) == ("news", None)
        exported = client.get(
            "/api/v1/export/aggregate?group_by=partner,attribution",
            headers={"Authorization": "Bearer t"},
        ).json()
    groups = {(r["partner"], r["attribution"]) for r in exported["rows"]}
    assert groups == {("news", ""), ("", "")}


def test_0009_counts_stored_responses_in_batches_and_downgrade_counts_them_live(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upgrade re-counts the rollups from the stored responses under the batch rule (with
    MIN_GROUP_SIZE from the environment), exactly as the write path kept them; the downgrade
    counts every response again on its own day and drops `pending_rollup`. Stored responses
    are not touched either way."""
    from alembic import command
    from sqlalchemy import text

    from app.config import get_settings
    from app.db import alembic_config
    from quiz import load_content
    from scoring import Scorer
    from tests.api.test_export import FIXTURE, K, responses_counted, snapshot, store

    monkeypatch.setenv("MIN_GROUP_SIZE", str(K))
    get_settings.cache_clear()
    try:
        engine = make_engine(database_url)
        migrate(engine, database_url)
        store(database_url, Scorer(*load_content()), FIXTURE, monkeypatch, release_at=K)
        kept = snapshot(database_url)

        def responses() -> list[tuple[object, ...]]:
            with engine.connect() as conn:
                found = conn.execute(text("SELECT id, created_at, result FROM responses"))
                return sorted(tuple(r) for r in found)

        stored = responses()
        with engine.begin() as conn:
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            command.downgrade(config, "0008")
        with engine.connect() as conn:
            assert "pending_rollup" not in inspect(conn).get_table_names()
        daily, monthly = snapshot_live(database_url)
        assert responses_counted(daily) == responses_counted(monthly) == len(FIXTURE)
        # Live: each response on its own day, e.g. the one of 4 November.
        assert any(dict(r)["day"] == "2026-11-04" for r in daily)
        assert responses() == stored

        migrate(engine, database_url)
        assert snapshot(database_url) == kept
        assert responses() == stored
        engine.dispose()
    finally:
        get_settings.cache_clear()


def snapshot_live(url: str) -> list[list[tuple[object, ...]]]:
    from sqlalchemy import select

    from app.models import ConditionRollup, ConditionRollupMonth

    engine = make_engine(url)
    with engine.connect() as conn:
        tables = [
            # The schema of 0008: no `ref` (0016) yet.
            sorted(tuple(r._mapping.items()) for r in conn.execute(select(*_before_tags(m))))
            for m in (ConditionRollup, ConditionRollupMonth)
        ]
    engine.dispose()
    return tables


def _before_tags(model: Any) -> list[Any]:
    return [c for c in model.__table__.c if c.name != "ref"]


def test_0016_counts_tagged_responses_under_their_tags_and_downgrade_adds_them_up(
    database_url: str, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before 0016 a tagged response was released in its partner's batch, under no tag; the
    upgrade's backfill recounts where tags exist, so the rollups are exactly what the write path
    keeps with tags in the cell (every tag in batches of its own). The downgrade adds the tags'
    rows up and recounts under the old cells. Stored responses are not touched."""
    from tests.api.test_export import responses_counted, snapshot, store
    from tests.api.test_export_ref import FIRST, K

    monkeypatch.setenv("MIN_GROUP_SIZE", str(K))
    get_settings.cache_clear()
    try:
        engine = make_engine(database_url)
        migrate(engine, database_url)
        store(database_url, scorer, FIRST, monkeypatch, release_at=K)
        kept = snapshot(database_url)

        def responses() -> list[tuple[object, ...]]:
            with engine.connect() as conn:
                found = conn.execute(text("SELECT id, ref, result FROM responses"))
                return sorted(tuple(r) for r in found)

        stored = responses()
        with engine.begin() as conn:
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            command.downgrade(config, "0015")
        with engine.connect() as conn:
            for table in ("condition_rollup", "condition_rollup_month", "pending_rollup"):
                assert "ref" not in {c["name"] for c in inspect(conn).get_columns(table)}
            daily = conn.execute(text("SELECT * FROM condition_rollup")).all()
        # The old cells: news's 8 responses in one cell (6 released, 2 waiting), 3 without.
        assert responses_counted([tuple(r._mapping.items()) for r in daily]) == 3 * K
        assert responses() == stored

        migrate(engine, database_url)
        assert snapshot(database_url) == kept  # spring, untagged, no partner; fall waits
        assert responses() == stored
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_a_migrated_database_with_rollups_passes_sqlites_own_check(tmp_path, quiz) -> None:  # type: ignore[no-untyped-def]
    """`PRAGMA quick_check`, which `app.cli backup` runs on its copy, says ok after responses
    are counted into every rollup table. SQLite 3.40 reported "NULL value" in each NOT NULL
    column placed before the key of a WITHOUT ROWID table (the monthly rollup, 0016)."""
    import sqlite3

    from tests.support import migrated

    path = tmp_path / "checked.db"
    with TestClient(create_app(app_settings(migrated(f"sqlite:///{path}")))) as client:
        for _ in range(get_settings().min_group_size + 1):
            body = {"quiz_version": quiz.version, "context": {"state": "OH"}}
            assert client.post("/api/v1/responses", json=body).status_code == 201
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM condition_rollup_month").fetchone()[0] > 0
        assert [row[0] for row in db.execute("PRAGMA quick_check")] == ["ok"]
