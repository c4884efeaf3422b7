"""The form's priorities, the result page in every case, and old results rendering as stored."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import httpx
from markupsafe import escape
from sqlalchemy import create_engine

from app.models import ContentVersion, ResponseRecord
from quiz import Quiz, content_from_snapshot, snapshot_hash
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
    stages = every_question_at(3) | {"funding": 0, "whole-child": 0}
    plain = client.get(submit_form(client, form_at(quiz, stages))).text
    assert "they are equals, listed in the framework&#39;s order" in plain
    assert "Change your priorities and see the list again" in plain
    # The strip of every condition is in the ranking's order, and says so (not "by stage").
    assert "Every condition in ranked order, with the stage" in plain
    assert plain.index("Equitable Conditions for Learning</h3>") < plain.index(
        "Responsive Funding Systems</h3>"
    )

    location = submit_form(client, form_at(quiz, stages, priority=["responsive-funding-systems"]))
    page = client.get(location).text
    assert "they are equals" not in page.split('<h2 id="what-if-title">')[0].split("</h3>")[0]
    assert page.index("Responsive Funding Systems <span") < page.index(
        "Equitable Conditions for Learning</h3>"
    )
    assert "(one of your priorities)" in page
    api = client.get("/api/v1/responses/" + location.rsplit("/", 1)[1]).json()["result"]
    assert api["priorities"] == ["responsive-funding-systems"]
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
    # Nothing known: one list of every condition to confirm, no "Check first" above it, no tie
    # or ordering sentence.
    assert "<h2>Confirm these first</h2>" in confirm
    assert confirm.count('class="recommendation"') == len(
        quiz.questions and {q.condition for q in quiz.questions}
    )
    assert 'id="check-first-title"' not in confirm and 'class="tie-note' not in confirm
    for text in ("known gaps", "level at the top", "follows the conditions whose next step"):
        assert text not in confirm

    one_gap = every_question_at(3) | {"funding": 0}
    page = client.get(submit_form(client, form_at(quiz, one_gap))).text
    assert page.count('class="recommendation"') == 1
    assert "<h2>Begin here</h2>" in page


def test_contradictions_and_own_early_adopter_are_shown(client: httpx.Client, quiz: Quiz) -> None:
    # A state profile shared with higher education while few districts have one is no
    # contradiction: the two questions measure different things (scoring 3.0).
    stages = every_question_at(2) | {"vision-statewide": 3, "vision-local": 1}
    page = client.get(submit_form(client, form_at(quiz, stages, state="SC"))).text
    assert "point to different stages" not in page
    assert "our reading of the framework&#39;s stage goals" in page
    assert "“Not yet started” is a point of ours" in page
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


def test_a_lean_result_of_scoring_2_0_reads_as_stored_and_prefills_only_unchanged_options(
    client: httpx.Client, quiz: Quiz
) -> None:
    """Quiz 2026-11.2 / scoring 2.0, kept lean with its content version: the page shows its own
    reasons, and `?from=` fills in only the answers whose question and option read the same in
    today's quiz."""

    fixture = json.loads((FIXTURE.parent / "lean-scoring-2.0.json").read_text())
    content_hash = snapshot_hash(fixture["content"])
    url = client.app.state.settings.database_url  # type: ignore[attr-defined]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            ContentVersion.__table__.insert().values(  # type: ignore[attr-defined]
                hash=content_hash,
                quiz_version="2026-11.2",
                content=fixture["content"],
                created_at=datetime.fromisoformat("2026-11-25T10:00:00+00:00"),
            )
        )
        conn.execute(
            ResponseRecord.__table__.insert().values(  # type: ignore[attr-defined]
                id="LeanScoring20Result00a",
                created_at=datetime.fromisoformat("2026-11-25T10:00:00+00:00"),
                quiz_version="2026-11.2",
                scoring_version="2.0",
                state=fixture["state"],
                answers=fixture["answers"],
                result=fixture["computed"],
                content_hash=content_hash,
            )
        )
    engine.dispose()
    api = client.get("/api/v1/responses/LeanScoring20Result00a?top=11").json()
    assert api["result"] == fixture["result"]
    html = client.get("/results/LeanScoring20Result00a").text
    assert "scoring method 2.0" in html
    for reason in fixture["result"]["recommendations"][0]["reasons"]:
        assert str(escape(reason)) in html
    prefilled = client.get("/quiz?from=LeanScoring20Result00a").text
    old_quiz = content_from_snapshot(fixture["content"])[1]
    for answer in fixture["answers"]:
        q_old = next(q for q in old_quiz.questions if q.id == answer["question_id"])
        q_new = next((q for q in quiz.questions if q.id == q_old.id), None)
        old = q_old.option(answer["option_id"])
        new = q_new.option(answer["option_id"]) if q_new else None
        same = (
            new is not None
            and old is not None
            and new.label == old.label
            and q_new.prompt == q_old.prompt
        )  # type: ignore[union-attr]
        checked = f'id="{q_old.id}-{answer["option_id"]}" value="{answer["option_id"]}" checked'
        assert (checked in prefilled) == same, q_old.id


def test_an_unknown_stage_is_listed_to_check_first_not_as_the_place_to_begin(
    client: httpx.Client, quiz: Quiz
) -> None:
    # Not sure whether the state has a profile of a graduate (as MS and IN answered), everything
    # else at its first option: the vision is a fact to confirm above the list, not Begin-here
    # #1, and the conditions that wait on it say "First confirm".
    stages: dict[str, object] = every_question_at(0) | {"vision-statewide": None}
    location = submit_form(client, form_at(quiz, stages))
    page = client.get(location).text
    check = page.split('<h2 id="check-first-title">Check first</h2>')[1].split("<h2>")[0]
    assert "Where your state stands on Vision for Student Success (you were not sure)." in check
    assert "our reading of the framework&#39;s stage goals" in check
    assert page.index("Check first</h2>") < page.index("<h2>Begin here</h2>")
    begin = page.split("<h2>Begin here</h2>")[1].split('<h2 id="what-if-title">')[0]
    assert "Vision for Student Success</h3>" not in begin
    api = client.get("/api/v1/responses/" + location.rsplit("/", 1)[1]).json()["result"]
    assert "vision-for-student-success" not in api["begin_here"]
    assert api["check_first"][0]["slug"] == "vision-for-student-success"
    assert set(api["check_first"][0]["unlocks"]) == {
        "quality-framework-for-student-success",
        "balanced-assessments",
    }


def test_a_stage_read_past_a_not_sure_answer_says_so_beside_it(
    client: httpx.Client, quiz: Quiz
) -> None:
    """Balanced Assessments has two questions; "not sure" on one is set aside and the stage
    comes from the other. The stage map says that, beside the stage, for that condition only."""
    assessments = [q.id for q in quiz.questions if q.condition == "balanced-assessments"]
    assert len(assessments) == 2
    stages = every_question_at(2) | {assessments[0]: None}
    page = client.get(submit_form(client, form_at(quiz, stages))).text
    note = "; from your other answers: you were not sure of one)"
    row = re.search(r"Balanced Assessments</span>.*?</li>", page, re.S)
    assert row is not None and note in row.group(0), row.group(0) if row else page[:500]
    assert page.count(note) == 1
