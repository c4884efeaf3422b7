"""The form's priorities, the result page in every case, and old results rendering as stored."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import httpx
from markupsafe import escape
from sqlalchemy import create_engine

from app.models import ResponseRecord
from quiz import Quiz
from tests.scoring.support import every_question_at, option_for

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "response-quiz-2026-11.1.json"


def form_at(quiz: Quiz, stages: dict[str, object], **extra: object) -> dict[str, object]:
    answers = {q: option_for(q, r) for q, r in stages.items()}  # type: ignore[arg-type]
    return {"quiz_version": quiz.version, **answers, **extra}


def submit_form(client: httpx.Client, data: dict[str, object]) -> str:
    r = client.post("/quiz", data=data)  # type: ignore[arg-type]
    assert r.status_code == 303, r.text[:2000]
    return str(r.headers["location"])


def test_priorities_by_form_reorder_the_list(client: httpx.Client, quiz: Quiz) -> None:
    stages = every_question_at(2) | {"funding": 0, "assessment": 0, "assessment-literacy": 0}
    plain = client.get(submit_form(client, form_at(quiz, stages))).text
    assert "nothing in them decides which comes first" in plain
    assert "Choose your priorities and see the list again" in plain
    assert plain.index("Responsive Funding Systems</h3>") < plain.index("Balanced Assessments</h3>")

    location = submit_form(client, form_at(quiz, stages, priority=["balanced-assessments"]))
    page = client.get(location).text
    assert "nothing in them decides" not in page
    assert page.index("Balanced Assessments <span") < page.index("Responsive Funding Systems</h3>")
    assert "(one of your priorities)" in page
    api = client.get("/api/v1/responses/" + location.rsplit("/", 1)[1]).json()["result"]
    assert api["priorities"] == ["balanced-assessments"]
    assert api["recommendations"][0]["order_basis"] == "priority"


def test_too_many_priorities_is_a_friendly_error(client: httpx.Client, quiz: Quiz) -> None:
    chosen = [
        "measuring-success",
        "balanced-assessments",
        "culture-of-innovation",
        "collaborative-leadership",
    ]
    r = client.post("/quiz", data=form_at(quiz, every_question_at(1), priority=chosen))  # type: ignore[arg-type]
    assert r.status_code == 422
    assert 'id="priorities-error"' in r.text and "Choose at most 3 conditions" in r.text
    for slug in chosen:
        assert f'id="priority-{slug}" value="{slug}" checked' in r.text
    r = client.post("/quiz", data=form_at(quiz, every_question_at(1), priority=["<b>nope</b>"]))  # type: ignore[arg-type]
    assert r.status_code == 422 and "Choose only from the listed conditions" in r.text
    assert "<b>nope</b>" not in r.text


def test_prefilled_form_from_an_earlier_result(client: httpx.Client, quiz: Quiz) -> None:
    stages = every_question_at(1)
    location = submit_form(
        client, form_at(quiz, stages, state="KY", priority=["measuring-success"])
    )
    response_id = location.rsplit("/", 1)[1]
    html = client.get(f"/quiz?from={response_id}").text
    assert "Your earlier answers are filled in" in html
    for question_id, rung in stages.items():
        option = option_for(question_id, rung)
        assert f'id="{question_id}-{option}" value="{option}" checked' in html
    assert 'id="priority-measuring-success" value="measuring-success" checked' in html
    assert '<option value="KY" selected>' in html
    assert client.get("/quiz?from=" + "A" * 22).status_code == 404


def test_edge_cases_read_right(client: httpx.Client, quiz: Quiz) -> None:
    finished = client.get(submit_form(client, form_at(quiz, every_question_at(3)))).text
    assert "<h2>Keep it going</h2>" in finished and "<h2>Begin here</h2>" not in finished
    assert "Strategic question to keep asking." in finished

    unsure = {q.id: q.options[-1].id for q in quiz.questions}
    confirm = client.get(submit_form(client, {"quiz_version": quiz.version, **unsure})).text
    assert "<h2>First, confirm where your state stands</h2>" in confirm
    assert "known gaps" not in confirm

    one_gap = every_question_at(3) | {"funding": 0}
    page = client.get(submit_form(client, form_at(quiz, one_gap))).text
    assert page.count('class="recommendation"') == 1
    assert "<h2>Begin here</h2>" in page


def test_contradictions_and_own_early_adopter_are_shown(client: httpx.Client, quiz: Quiz) -> None:
    stages = every_question_at(2) | {"vision-statewide": 3, "vision-local": 1}
    page = client.get(submit_form(client, form_at(quiz, stages, state="SC"))).text
    assert "Your answers about Vision for Student Success point to different stages" in page
    assert "Check with a colleague which is right." in page
    assert "Your state is the framework's early-adopter example for this condition." in page
    assert "South Carolina, 2013." not in page  # not offered to itself as a model to copy
    assert "our reading: the framework does not link commitments" in page


def test_a_result_stored_under_quiz_2026_11_1_renders_exactly_as_stored(
    client: httpx.Client, quiz: Quiz
) -> None:
    stored = json.loads(FIXTURE.read_text())
    assert stored["quiz_version"] == "2026-11.1" != quiz.version
    url = client.app.state.settings.database_url  # type: ignore[attr-defined]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            ResponseRecord.__table__.insert().values(  # type: ignore[attr-defined]
                **{
                    **stored,
                    "created_at": datetime.fromisoformat(stored["created_at"]),
                }
            )
        )
    engine.dispose()
    api = client.get(f"/api/v1/responses/{stored['id']}?top=11").json()
    assert api["quiz_version"] == "2026-11.1"
    assert api["result"] == stored["result"]
    page = client.get(f"/results/{stored['id']}")
    assert page.status_code == 200
    html = page.text
    assert "quiz version 2026-11.1, scoring method 1.0" in html
    first = stored["result"]["recommendations"][0]
    assert f'<span class="rank">1.</span> {escape(first["name"])}' in html
    for reason in first["reasons"]:
        assert str(escape(reason)) in html
    assert "For South Carolina" in html
    prefilled = client.get(f"/quiz?from={stored['id']}").text
    assert "The quiz has changed since then" in prefilled
    assert re.search(r'id="vision-statewide-[a-z-]+" value="[a-z-]+" checked', prefilled) is None
