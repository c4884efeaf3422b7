"""The read-only API over a real HTTP server."""

from __future__ import annotations

import httpx


def test_healthz(client: httpx.Client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_framework_endpoint(client: httpx.Client) -> None:
    body = client.get("/api/v1/framework").json()
    assert {
        "edition",
        "source_url",
        "stages",
        "strategies",
        "conditions",
        "commitments",
        "notes",
    } <= body.keys()
    assert [s["level"] for s in body["stages"]] == [0, 1, 2, 3]
    assert len(body["strategies"]) == 4 and len(body["commitments"]) == 4
    assert len(body["conditions"]) == 11
    strategies = {s["slug"] for s in body["strategies"]}
    for condition in body["conditions"]:
        assert condition["source_url"].startswith("https://")
        assert condition["strategy"] in strategies
        assert [s["level"] for s in condition["stages"]] == [1, 2, 3]
        for stage in condition["stages"]:
            assert (
                stage["name"] and stage["goal"] and stage["actions"] and stage["strategic_question"]
            )
            assert stage["provenance"] in ("source", "derived")
        assert "early_adopter" in condition
    assert any("twelfth" in n for n in body["notes"])


def test_condition_endpoint_and_404(client: httpx.Client) -> None:
    r = client.get("/api/v1/conditions/collaborative-leadership")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "Collaborative Leadership"
    assert body["early_adopter"]["state"] == "ND" and body["early_adopter"]["year"] == 2017
    missing = client.get("/api/v1/conditions/teleportation")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")
    error = missing.json()["error"]
    assert (
        error["code"] == "not_found"
        and "teleportation" in error["message"]
        and error["details"] == []
    )


def test_quiz_endpoint(client: httpx.Client) -> None:
    body = client.get("/api/v1/quiz").json()
    assert {
        "version",
        "title",
        "estimated_minutes",
        "questions",
        "context_questions",
    } <= body.keys()
    conditions = {c["slug"] for c in client.get("/api/v1/framework").json()["conditions"]}
    assert {q["condition"] for q in body["questions"]} == conditions
    for q in body["questions"]:
        assert {"id", "condition", "prompt", "help", "options"} <= q.keys()
        assert any(o["stage"] is None for o in q["options"])
    assert [c["id"] for c in body["context_questions"]] == ["state", "role"]
    assert all(c["required"] is False for c in body["context_questions"])


def test_unknown_api_path_and_method_use_the_error_shape(client: httpx.Client) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.delete("/api/v1/quiz")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_openapi_and_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/score" in spec["paths"] and "/api/v1/responses/{response_id}" in spec["paths"]
    # The interactive docs load third-party scripts: off unless API_DOCS=true (test_hardening).
    assert client.get("/docs").status_code == 404


def test_security_headers_on_api(client: httpx.Client) -> None:
    r = client.get("/api/v1/quiz")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in r.headers["content-security-policy"]
