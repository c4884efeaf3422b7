"""Lean stored results (migration 0004): rows keep decisions, pages and the API read as before."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from app.db import alembic_config, make_engine, migrate
from quiz import content_from_snapshot
from scoring import Answer, Computed, Scorer, Submission
from tests.scoring.support import every_question_at, option_for
from tests.support import InProcessServer, app_settings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "response-quiz-2026-11.1.json"
RESPONSES = sa.table(
    "responses",
    *(
        sa.column(name)
        for name in ("id", "created_at", "quiz_version", "scoring_version", "state", "role")
    ),
    sa.column("partner"),
    sa.column("answers", sa.JSON),
    sa.column("result", sa.JSON),
)
CURRENT_ID = "Lean-before-0004-aaaaa"
OLD_ID = "Old-quiz-2026-11-1-aaa"


def _whole_rows(scorer: Scorer) -> list[dict[str, Any]]:
    """Two rows as the app stored them before lean storage: the whole result in `result`."""
    stages = every_question_at(1) | {"funding": 0, "assessment": None}
    answers = [{"question_id": q, "option_id": option_for(q, s)} for q, s in stages.items()]
    submission = Submission.model_validate(
        {
            "quiz_version": scorer.quiz.version,
            "answers": answers,
            "context": {"state": "SC", "role": "state-board"},
            "priorities": ["balanced-assessments"],
        }
    )
    result = scorer.score(submission, top=100).model_dump(mode="json")
    old = json.loads(FIXTURE.read_text())
    when = datetime(2026, 11, 20, 12, tzinfo=UTC)
    return [
        {
            "id": CURRENT_ID,
            "created_at": when,
            "quiz_version": scorer.quiz.version,
            "scoring_version": result["scoring_version"],
            "state": "SC",
            "role": "state-board",
            "partner": None,
            "answers": answers,
            "result": result,
        },
        {
            "id": OLD_ID,
            "created_at": when,
            "quiz_version": old["result"]["quiz_version"],
            "scoring_version": old["result"]["scoring_version"],
            "state": None,
            "role": None,
            "partner": None,
            "answers": old["answers"],
            "result": old["result"],
        },
    ]


def _database_at(url: str, revision: str, rows: list[dict[str, Any]]) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.execute(sa.insert(RESPONSES), rows)
        # Rows that point at a response: rebuilding the table must not trip over them.
        conn.execute(
            sa.text(
                "INSERT INTO idempotency_keys (key_hash, request_hash, response_id, created_at) "
                "VALUES ('k', 'r', :id, :at)"
            ),
            {"id": CURRENT_ID, "at": rows[0]["created_at"]},
        )
    engine.dispose()


def _stored(url: str, content_hash: bool = True) -> dict[str, tuple[Any, Any]]:
    """Each row's result and content hash (None for a schema before 0004, which has none)."""
    column = "content_hash" if content_hash else "NULL"
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.text(f"SELECT id, result, {column} FROM responses")).all()
    engine.dispose()
    return {
        rid: (json.loads(result) if isinstance(result, str) else result, hash_)
        for rid, result, hash_ in found
    }


def _read(url: str, response_id: str) -> tuple[str, dict[str, Any]]:
    server = InProcessServer(app_settings(url))
    with server.client() as client:
        page = client.get(f"/results/{response_id}")
        api = client.get(f"/api/v1/responses/{response_id}?top=100")
    assert page.status_code == 200 and api.status_code == 200
    return page.text, api.json()


def test_migration_makes_rows_lean_and_pages_read_byte_for_byte_as_before(
    database_url: str, scorer: Scorer, tmp_path: Path
) -> None:
    rows = _whole_rows(scorer)
    # The reference: the same rows in a database migrated past 0004 first, so they stay whole
    # and are served exactly as stored, which is what the app did before lean storage.
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    engine = make_engine(reference)
    migrate(engine, reference)
    with engine.begin() as conn:
        conn.execute(sa.insert(RESPONSES), rows)
    engine.dispose()

    _database_at(database_url, "0003", rows)
    migrate(make_engine(database_url), database_url)

    stored = _stored(database_url)
    lean, content_hash = stored[CURRENT_ID]
    assert content_hash is not None
    assert len(json.dumps(lean, separators=(",", ":"))) < 1600
    assert "recommendations" not in lean
    # A result of an older quiz cannot be rebuilt from today's content: it stays whole.
    assert stored[OLD_ID] == (rows[1]["result"], None)

    for response_id in (CURRENT_ID, OLD_ID):
        page, api = _read(database_url, response_id)
        before_page, before_api = _read(reference, response_id)
        assert page == before_page
        assert api == before_api
    assert api["result"] == rows[1]["result"]


def test_downgrade_gives_every_row_its_whole_result_back(database_url: str, scorer: Scorer) -> None:
    rows = _whole_rows(scorer)
    _database_at(database_url, "0003", rows)
    engine = make_engine(database_url)
    migrate(engine, database_url)
    with engine.begin() as conn:
        config = alembic_config(database_url)
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
        stages = conn.execute(
            sa.text("SELECT count(*) FROM response_stages WHERE response_id = :id"),
            {"id": CURRENT_ID},
        ).scalar_one()
    engine.dispose()
    assert stages == 11
    restored = {
        rid: result for rid, (result, _) in _stored(database_url, content_hash=False).items()
    }
    assert restored[CURRENT_ID] == rows[0]["result"]
    assert restored[OLD_ID] == rows[1]["result"]


def test_a_lean_result_of_scoring_2_0_reads_as_it_did_when_stored() -> None:
    """The wording of reasons lives in the scoring code: changing it, or which reasons appear,
    must come with a new SCORING_VERSION (and the old explanation kept), or results already
    stored would start to read differently. This fixture fails the suite first."""
    fixture = json.loads((FIXTURE.parent / "lean-scoring-2.0.json").read_text())
    scorer = Scorer(*content_from_snapshot(fixture["content"]))
    explained = scorer.explain(
        Computed.model_validate(fixture["computed"]),
        [Answer.model_validate(a) for a in fixture["answers"]],
        fixture["state"],
    )
    assert explained.model_dump(mode="json") == fixture["result"]
