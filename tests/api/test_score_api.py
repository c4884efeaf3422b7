"""POST /api/v1/score: valid and invalid submissions."""

from __future__ import annotations

import httpx
import pytest

from quiz import Quiz


def test_score_valid_submission(client: httpx.Client, quiz: Quiz) -> None:
    body = {
        "quiz_version": quiz.version,
        "answers": [
            {"question_id": "vision-statewide", "option_id": "promoted"},
            {"question_id": "vision-local", "option_id": "few"},
            {"question_id": "assessment", "option_id": "not-started"},
        ],
        "context": {"state": "KY", "role": "state-agency"},
    }
    r = client.post("/api/v1/score", json=body)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["quiz_version"] == quiz.version
    assert len(result["conditions"]) == 11 and len(result["recommendations"]) == 3
    # The vision's next stage builds on Collaborative Leadership, whose stage is unknown: it is
    # a fact to confirm ("Check first", above the list), not the place to begin (scoring 3.0).
    # The ready Balanced Assessments comes first, then the vision, which says "first confirm".
    top, vision = result["recommendations"][:2]
    assert top["slug"] == "balanced-assessments" and top["current_stage"] == 0
    assert top["next_stage"]["level"] == 1 and top["next_stage"]["name"] == "Exploration"
    assert (
        top["next_stage"]["goal"]
        and top["next_stage"]["actions"]
        and top["next_stage"]["strategic_question"]
    )
    assert vision["slug"] == "vision-for-student-success" and vision["order_basis"] == "dependency"
    assert vision["tied_with"] == ["collaborative-leadership"]
    assert any(
        r.startswith("First confirm where your state stands on Collaborative Leadership")
        for r in vision["reasons"]
    )
    assert result["begin_here"] == ["balanced-assessments", "vision-for-student-success"]
    check = result["check_first"]
    assert check[0]["slug"] == "collaborative-leadership" and check[0]["unlocks"] == [
        "vision-for-student-success"
    ]
    assert "our reading" in check[0]["message"]
    assert {c["slug"] for c in check} == {
        c["slug"] for c in result["conditions"] if c["stage"] is None
    }
    assert {c["slug"]: c["stage"] for c in result["conditions"]}["vision-for-student-success"] == 1


@pytest.mark.parametrize(("top", "expected"), [(1, 1), (5, 5), (11, 11), (50, 11)])
def test_top_parameter(client: httpx.Client, quiz: Quiz, top: int, expected: int) -> None:
    r = client.post(f"/api/v1/score?top={top}", json={"quiz_version": quiz.version, "answers": []})
    assert r.status_code == 200 and len(r.json()["recommendations"]) == expected


def test_empty_answers_are_valid(client: httpx.Client, quiz: Quiz) -> None:
    r = client.post("/api/v1/score", json={"quiz_version": quiz.version})
    assert r.status_code == 200
    assert all(c["confidence"] == "unanswered" for c in r.json()["conditions"])


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "quiz_version", "missing"),
        ({"quiz_version": "1999.1"}, "quiz_version", "quiz_version_mismatch"),
        (
            {"answers": [{"question_id": "x", "option_id": "y"}]},
            "answers.0.question_id",
            "unknown_question",
        ),
        (
            {"answers": [{"question_id": "funding", "option_id": "y"}]},
            "answers.0.option_id",
            "unknown_option",
        ),
        (
            {"answers": [{"question_id": "funding", "option_id": "barriers-named"}] * 2},
            "answers.1.question_id",
            "duplicate_answer",
        ),
        ({"context": {"state": "QQ"}}, "context.state", "unknown_state"),
        ({"context": {"role": "king"}}, "context.role", "unknown_role"),
        ({"favourite_colour": "blue"}, "favourite_colour", "extra_forbidden"),
        (
            {"answers": [{"question_id": "funding", "option_id": "barriers-named", "x": 1}]},
            "answers.0.x",
            "extra_forbidden",
        ),
        ({"context": {"email": "a@b.c"}}, "context.email", "extra_forbidden"),
        ({"answers": "all of them"}, "answers", "list_type"),
        ({"partner": "bad partner!"}, "partner", "string_pattern_mismatch"),
        ({"priorities": ["no-such-condition"]}, "priorities.0", "unknown_condition"),
        ({"priorities": "measuring-success"}, "priorities", "list_type"),
    ],
)
def test_invalid_submissions(
    client: httpx.Client, quiz: Quiz, body: dict, field: str, code: str
) -> None:  # type: ignore[type-arg]
    payload = (
        {"quiz_version": quiz.version, **body}
        if "quiz_version" not in body and body != {}
        else body
    )
    r = client.post("/api/v1/score", json=payload)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["message"]
    assert (field, code) in [(d["field"], d["code"]) for d in error["details"]]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
)
def test_garbage_bodies_are_422_not_500(
    client: httpx.Client, content: bytes, content_type: str
) -> None:
    r = client.post("/api/v1/score", content=content, headers={"content-type": content_type})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"


def test_body_over_64_kib_is_413(client: httpx.Client, quiz: Quiz) -> None:
    big = {"quiz_version": quiz.version, "answers": [], "pad": "x" * (65 * 1024)}
    r = client.post("/api/v1/score", json=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(80):
            yield b" " * 1024  # no Content-Length: the limit is enforced while streaming

    r = client.post("/api/v1/score", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_other_content_types_are_415(client: httpx.Client) -> None:
    for path in ("/api/v1/score", "/api/v1/responses"):
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            r = client.post(path, content=b"quiz_version=1", headers={"content-type": kind})
            assert r.status_code == 415, (path, kind)
            assert r.json()["error"]["code"] == "unsupported_media_type"


def test_malformed_json_names_the_body(client: httpx.Client) -> None:
    r = client.post(
        "/api/v1/score", content=b'{"quiz_version": ', headers={"content-type": "application/json"}
    )
    [detail] = r.json()["error"]["details"]
    assert detail["field"] == "body" and detail["code"] == "json_invalid"
    assert "not valid JSON" in detail["message"]


def test_empty_state_and_role_mean_not_given(client: httpx.Client, quiz: Quiz) -> None:
    body = {"quiz_version": quiz.version, "context": {"state": "", "role": ""}}
    created = client.post("/api/v1/responses", json=body)
    assert created.status_code == 201, created.text
    stored = client.get(f"/api/v1/responses/{created.json()['id']}").json()
    assert stored["context"] == {"state": None, "role": None}
    # RFC 3339 with an offset, on SQLite too
    assert stored["created_at"].endswith(("Z", "+00:00"))
