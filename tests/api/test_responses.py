"""Stored responses on SQLite and PostgreSQL, through a real uvicorn server."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, func, select, text

from app.cache import Caches
from app.models import IdempotencyRecord, ResponseRecord
from app.responses.results import Results
from quiz import Quiz
from tests.support import InProcessServer, LiveServer


def body(quiz: Quiz, **extra) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return {
        "quiz_version": quiz.version,
        "answers": [
            {"question_id": "vision-statewide", "option_id": "adopted"},
            {"question_id": "funding", "option_id": "not-sure"},
            {"question_id": "measurement", "option_id": "profile-aligned"},
        ],
        "context": {"state": "OH", "role": "state-board"},
        **extra,
    }


def count(url: str, model) -> int:  # type: ignore[no-untyped-def]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(model)).scalar_one()
    finally:
        engine.dispose()


def test_store_and_read_back(server: LiveServer | InProcessServer, quiz: Quiz) -> None:
    with server.client() as c:
        r = c.post("/api/v1/responses", json=body(quiz))
        assert r.status_code == 201, r.text
        created = r.json()
        assert len(created["id"]) == 22
        assert created["result_url"] == f"{server.base_url}/results/{created['id']}"
        assert (
            created["result"]["recommendations"][0]["slug"] == "collaborative-leadership"
            or created["result"]["recommendations"][0]["current_stage"] is not None
        )
        got = c.get(f"/api/v1/responses/{created['id']}")
        assert got.status_code == 200
        stored = got.json()
        assert stored["id"] == created["id"]
        assert stored["quiz_version"] == quiz.version
        assert stored["context"] == {"state": "OH", "role": "state-board"}
        assert stored["result"] == created["result"]
        assert stored["created_at"]
        assert (
            len(
                c.get(f"/api/v1/responses/{created['id']}?top=11").json()["result"][
                    "recommendations"
                ]
            )
            == 11
        )
    url = server.app.state.settings.database_url
    engine = create_engine(url)
    with engine.connect() as conn:
        partner, lean, raw = conn.execute(
            select(
                ResponseRecord.partner,
                ResponseRecord.result,
                func.length(sa.cast(ResponseRecord.result, sa.Text)),
            ).where(ResponseRecord.id == created["id"])
        ).one()
    engine.dispose()
    # The row keeps the decisions, not the sentences: well under 2 KB of JSON.
    assert raw < 1600, raw
    assert "reasons" not in json.dumps(lean)
    stages = {c["slug"]: (c["stage"], c.get("confidence", "answered")) for c in lean["conditions"]}
    assert len(stages) == 11
    assert stages["vision-for-student-success"] == (1, "answered")
    assert stages["responsive-funding-systems"] == (None, "unsure")
    assert stages["measuring-success"] == (3, "answered")
    assert stages["balanced-assessments"] == (None, "unanswered")
    assert partner is None  # a partner is named only with its key (tests/api/test_partners.py)


def test_the_answer_is_the_whole_result_cut_to_top(
    server: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    """A submission words only the recommendations it answers with (`top`); reading it back
    explains the whole result from its row, and the answer is exactly its first `top`."""
    with server.client() as c:
        for top in (1, 3, 11, 100):
            created = c.post(
                f"/api/v1/responses?top={top}", json=body(quiz, priorities=["measuring-success"])
            )
            assert created.status_code == 201, created.text
            answered = created.json()["result"]
            whole = c.get(f"/api/v1/responses/{created.json()['id']}?top=100").json()["result"]
            assert len(whole["recommendations"]) == 11
            assert answered == {**whole, "recommendations": whole["recommendations"][:top]}


@pytest.mark.parametrize("bad_id", ["nope", "A" * 22, "../../etc/passwd", "x" * 300, "%00"])
def test_unknown_or_malformed_ids_are_404(
    server: LiveServer | InProcessServer, bad_id: str
) -> None:
    with server.client() as c:
        r = c.get(f"/api/v1/responses/{bad_id}")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_stored_result_is_served_as_stored(
    server: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    """Later changes to scoring must not rewrite a stored result, so reads never re-score the
    answers: they explain the stored decisions. Edit the stored decisions and a fresh process
    (nothing cached) must serve the edit. (The scoring version stays: it picks the wording.)"""
    with server.client() as c:
        created = c.post("/api/v1/responses", json=body(quiz)).json()
        engine = create_engine(server.app.state.settings.database_url)
        with engine.begin() as conn:
            record = conn.execute(
                select(ResponseRecord.result).where(ResponseRecord.id == created["id"])
            ).scalar_one()
            first, second = sorted(record["conditions"], key=lambda c: c["rank"])[:2]
            first["rank"], second["rank"] = 2, 1
            conn.execute(
                ResponseRecord.__table__.update()
                .where(ResponseRecord.id == created["id"])
                .values(result=record)
            )
        engine.dispose()
        # A new process: nothing kept.
        server.app.state.caches = Caches()
        server.app.state.results = Results(server.app.state.scorer, server.app.state.caches)
        served = c.get(f"/api/v1/responses/{created['id']}?top=11").json()["result"]
        assert served["scoring_version"] == record["scoring_version"]
        assert served["recommendations"][0]["slug"] == second["slug"]


def test_idempotent_retry_returns_first_answer(
    server: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    url = server.app.state.settings.database_url
    with server.client() as c:
        first = c.post("/api/v1/responses", json=body(quiz), headers={"Idempotency-Key": "retry-1"})
        again = c.post("/api/v1/responses", json=body(quiz), headers={"Idempotency-Key": "retry-1"})
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert again.headers.get("idempotent-replayed") == "true"
        assert count(url, ResponseRecord) == 1
        fresh = c.post("/api/v1/responses", json=body(quiz), headers={"Idempotency-Key": "retry-2"})
        assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
        assert count(url, ResponseRecord) == 2
        assert count(url, IdempotencyRecord) == 2


def test_an_anonymous_key_replays_only_its_own_body(
    server: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    """The issue's attack on the API: a client without an API key sending another client's
    Idempotency-Key with its own body got a 409 saying the key was taken (and the form, a link
    to the other's result). Without an API key a key is scoped by the body it came with: the
    same key and body replay (a retry), another body is simply another key."""
    url = server.app.state.settings.database_url
    with server.client() as c:
        key = {"Idempotency-Key": "order-1001"}
        theirs = c.post("/api/v1/responses", json=body(quiz), headers=key)
        assert theirs.status_code == 201
        mine = c.post("/api/v1/responses", json=body(quiz, context={"state": "TX"}), headers=key)
        assert mine.status_code == 201, mine.text
        assert mine.json()["id"] != theirs.json()["id"]
        assert "idempotent-replayed" not in mine.headers
        assert theirs.json()["id"] not in mine.text
        for sent, first in ((body(quiz, context={"state": "TX"}), mine), (body(quiz), theirs)):
            retry = c.post("/api/v1/responses", json=sent, headers=key)
            assert retry.json()["id"] == first.json()["id"]
            assert retry.headers["idempotent-replayed"] == "true"
    assert count(url, ResponseRecord) == 2
    assert count(url, IdempotencyRecord) == 2


def test_invalid_submission_stores_nothing(
    server: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    url = server.app.state.settings.database_url
    with server.client() as c:
        ok = c.post("/api/v1/responses", json=body(quiz))
        assert ok.status_code == 201
        for bad in (
            {"quiz_version": "old"},
            {
                "quiz_version": quiz.version,
                "answers": [{"question_id": "funding", "option_id": "??"}],
            },
            {"quiz_version": quiz.version, "name": "Jane Doe"},
        ):
            r = c.post("/api/v1/responses", json=bad)
            assert r.status_code == 422
        r = c.post("/api/v1/responses", json={**body(quiz), "pad": "x" * 70_000})
        assert r.status_code == 413
        r = c.post("/api/v1/responses", json=body(quiz), headers={"Idempotency-Key": "k" * 300})
        assert r.status_code == 422
        # what was stored before is still there
        assert c.get(f"/api/v1/responses/{ok.json()['id']}").status_code == 200
    assert count(url, ResponseRecord) == 1


def test_200_concurrent_submissions(live: LiveServer, quiz: Quiz) -> None:
    url = live.app.state.settings.database_url
    states = ["OH", "KY", "CA", "NY", None]

    def submit(i: int) -> tuple[int, str]:
        with httpx.Client(base_url=live.base_url, timeout=60) as c:
            payload = body(quiz, context={"state": states[i % 5]})
            r = c.post("/api/v1/responses", json=payload)
            return r.status_code, r.json().get("id", r.text)

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(submit, range(200)))
    assert [status for status, _ in results] == [201] * 200, [r for r in results if r[0] != 201][:3]
    ids = {rid for _, rid in results}
    assert len(ids) == 200
    assert count(url, ResponseRecord) == 200
    with httpx.Client(base_url=live.base_url, timeout=60) as c:
        for rid in ids:
            assert c.get(f"/api/v1/responses/{rid}").status_code == 200


def test_concurrent_retries_with_one_key_store_one_row(live: LiveServer, quiz: Quiz) -> None:
    url = live.app.state.settings.database_url
    barrier = threading.Barrier(20)

    def submit(_: int) -> tuple[int, str]:
        with httpx.Client(base_url=live.base_url, timeout=60) as c:
            barrier.wait()
            r = c.post(
                "/api/v1/responses", json=body(quiz), headers={"Idempotency-Key": "same-key"}
            )
            return r.status_code, r.json().get("id", r.text)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(20)))
    assert [status for status, _ in results] == [201] * 20, results
    assert len({rid for _, rid in results}) == 1
    assert count(url, ResponseRecord) == 1
    assert count(url, IdempotencyRecord) == 1


def test_sqlite_uses_wal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 5000
    engine.dispose()
