"""Plans (issue 22, parts 4-6) without a browser: the API (POST/GET/PUT /api/v1/plans), the
token kept only as a hash, milestones from our ladder, the plan form without JavaScript, the
documents read back, and check-ins linked to the plan and to the response before."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from typing import Any

import docx
import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from app.models import Plan, PlanCheckIn, ResponseRecord
from quiz import Quiz
from scoring import SCORING_VERSION
from tests.scoring.support import QUESTIONS, every_question_at, option_for
from tests.support import InProcessServer, LiveServer

STAGES = every_question_at(1) | {"funding": 0}


def _answers(stages: dict[str, Any]) -> list[dict[str, str]]:
    return [{"question_id": q, "option_id": option_for(q, s)} for q, s in stages.items()]


def _response(
    client: TestClient, quiz: Quiz, stages: dict[str, Any] = STAGES, **extra: Any
) -> dict[str, Any]:
    body = {"quiz_version": quiz.version, "answers": _answers(stages), **extra}
    r = client.post("/api/v1/responses", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _rows(client: TestClient, model: Any) -> list[Any]:
    engine = create_engine(client.app.state.settings.database_url)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = list(conn.execute(select(model)).all())
    engine.dispose()
    return rows


def test_a_plan_defaults_to_begin_here_and_next_stages(client: TestClient, quiz: Quiz) -> None:
    made = _response(client, quiz)
    r = client.post("/api/v1/plans", json={"response_id": made["id"]})
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 192 random bits
    assert created["plan_url"].endswith(f"/plans/{token}")
    plan = created["plan"]
    begin = made["result"]["begin_here"]
    assert [c["condition"] for c in plan["conditions"]] == begin[:3]
    funding = next(c for c in plan["conditions"] if c["condition"] == "responsive-funding-systems")
    assert funding["current_stage"] == 0 and funding["target_stage"] == 1
    assert funding["stage"]["goal"] and funding["stage"]["actions"]
    assert funding["stage"]["stakeholders"] and funding["stage"]["stakeholders_provenance"] in (
        "source",
        "derived",
    )
    # Milestones: the rungs of the condition's questions above the answer given, up to stage 1.
    labels = {m["id"]: m for m in funding["milestones"]}
    for question in (QUESTIONS["funding"],):
        expected = {f"{question.id}:{o.id}" for o in question.options if o.stage == 1}
        assert expected <= set(labels)
    assert all(m["stage"] == 1 and not m["done"] for m in funding["milestones"])
    assert plan["progress"] == {
        "done": 0,
        "total": sum(len(c["milestones"]) for c in plan["conditions"]),
    }
    assert [h["response_id"] for h in plan["history"]] == [made["id"]]
    # The token is stored only as its sha256.
    (row,) = _rows(client, Plan)
    stored = row._mapping
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(dict(stored))
    assert client.get(f"/api/v1/plans/{token}").json() == plan


def test_put_checks_milestones_and_changes_targets(client: TestClient, quiz: Quiz) -> None:
    made = _response(client, quiz)
    token = client.post(
        "/api/v1/plans",
        json={
            "response_id": made["id"],
            "time_frame": "6-months",
            "conditions": [{"condition": "responsive-funding-systems"}],
        },
    ).json()["token"]
    plan = client.get(f"/api/v1/plans/{token}").json()
    first = plan["conditions"][0]["milestones"][0]
    body = {
        "time_frame": "24-months",
        "conditions": [
            {
                "condition": "responsive-funding-systems",
                "target_stage": 1,
                "milestones": [
                    {
                        "id": first["id"],
                        "done": True,
                        "owner": "  Budget office <b>  ",
                        "due": "2027-06-30",
                    }
                ],
            }
        ],
    }
    r = client.put(f"/api/v1/plans/{token}", json=body)
    assert r.status_code == 200, r.text
    changed = r.json()
    milestone = changed["conditions"][0]["milestones"][0]
    assert milestone == first | {"done": True, "owner": "Budget office <b>", "due": "2027-06-30"}
    assert changed["progress"]["done"] == 1 and changed["time_frame"] == "24-months"
    # A higher target brings the next rungs; the checked one keeps its state.
    body["conditions"][0]["target_stage"] = 2  # type: ignore[index]
    body["conditions"][0]["milestones"] = []  # type: ignore[index]
    raised = client.put(f"/api/v1/plans/{token}", json=body).json()["conditions"][0]
    assert raised["target_stage"] == 2
    assert {m["stage"] for m in raised["milestones"]} == {1, 2}
    kept = next(m for m in raised["milestones"] if m["id"] == first["id"])
    assert kept["done"] and kept["owner"] == "Budget office <b>"


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"condition": "no-such-condition"}, "conditions.0.condition", "unknown_condition"),
        ({"milestones": [{"id": "x", "owner": "a" * 61}]}, "conditions.0.milestones.0.owner", None),
        ({"milestones": [{"id": "x", "due": "1999-12-31"}]}, "conditions.0.milestones.0.due", None),
        (
            {"milestones": [{"id": "x", "owner": "two\nlines"}]},
            "conditions.0.milestones.0.owner",
            None,
        ),
    ],
)
def test_bad_changes_are_named_in_the_error_shape(
    client: TestClient, quiz: Quiz, change: dict[str, Any], field: str, code: str | None
) -> None:
    made = _response(client, quiz)
    token = client.post("/api/v1/plans", json={"response_id": made["id"]}).json()["token"]
    condition = {"condition": "responsive-funding-systems", "target_stage": 1} | change
    r = client.put(
        f"/api/v1/plans/{token}", json={"time_frame": "3-months", "conditions": [condition]}
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert {"code", "message", "details"} <= set(error)
    assert any(
        d["field"] == field and (code is None or d["code"] == code) for d in error["details"]
    ), error


def test_an_unknown_milestone_is_not_found(client: TestClient, quiz: Quiz) -> None:
    made = _response(client, quiz)
    token = client.post("/api/v1/plans", json={"response_id": made["id"]}).json()["token"]
    condition = {
        "condition": "responsive-funding-systems",
        "milestones": [{"id": "funding:nope", "done": True}],
    }
    r = client.put(
        f"/api/v1/plans/{token}", json={"time_frame": "3-months", "conditions": [condition]}
    )
    assert r.status_code == 404
    assert r.json()["error"]["details"][0] == {
        "field": "conditions.0.milestones.0.id",
        "code": "unknown_milestone",
        "message": "no such milestone in the plan",
    }


def test_creation_errors(client: TestClient, quiz: Quiz) -> None:
    made = _response(client, quiz, every_question_at(2))
    missing = client.post("/api/v1/plans", json={"response_id": "A" * 22})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    four = [{"condition": c} for c in made["result"]["begin_here"] + ["balanced-assessments"] * 3][
        :4
    ]
    assert (
        client.post(
            "/api/v1/plans", json={"response_id": made["id"], "conditions": four}
        ).status_code
        == 422
    )
    # A target the state has reached already: kept, with no milestones left.
    reached = client.post(
        "/api/v1/plans",
        json={
            "response_id": made["id"],
            "conditions": [{"condition": "responsive-funding-systems", "target_stage": 1}],
        },
    )
    assert reached.status_code == 201
    assert reached.json()["plan"]["conditions"][0]["milestones"] == []
    twice = [{"condition": "measuring-success"}, {"condition": "measuring-success"}]
    duplicate = client.post("/api/v1/plans", json={"response_id": made["id"], "conditions": twice})
    assert duplicate.status_code == 422
    assert duplicate.json()["error"]["details"][0]["code"] == "duplicate_condition"
    assert client.get("/api/v1/plans/" + "x" * 32).status_code == 404
    assert client.get("/api/v1/plans/short").status_code in (404, 422)
    assert (
        client.post(
            "/api/v1/plans", content=b"{}", headers={"content-type": "text/plain"}
        ).status_code
        == 415
    )


def test_plan_pages_without_javascript(client: TestClient, quiz: Quiz) -> None:
    """Make a plan from the result page's form, check a milestone with an owner and a date,
    a wrong date named next to its field, the documents read back, and a check-in."""
    made = _response(client, quiz, STAGES | {"leadership": 1}, context={"state": "OH"})
    result_page = client.get(f"/results/{made['id']}")
    assert f'href="/results/{made["id"]}/plan"' in result_page.text
    form = client.get(f"/results/{made['id']}/plan")
    assert form.status_code == 200
    for slug in made["result"]["begin_here"][:3]:
        assert re.search(rf'value="{slug}" id="pick-{slug}" checked', form.text)
    too_many = client.post(
        f"/results/{made['id']}/plan",
        data={
            "condition": [
                "responsive-funding-systems",
                "collaborative-leadership",
                "measuring-success",
                "culture-of-innovation",
            ]
        },
    )
    assert too_many.status_code == 422 and "at most 3" in too_many.text
    r = client.post(
        f"/results/{made['id']}/plan",
        data={
            "condition": ["responsive-funding-systems", "collaborative-leadership"],
            "target-collaborative-leadership": "3",
            "time_frame": "6-months",
        },
    )
    assert r.status_code == 303
    location = r.headers["location"]
    token = re.fullmatch(r"/plans/([A-Za-z0-9_-]{32})\?made=1", location).group(1)  # type: ignore[union-attr]
    page = client.get(location)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "private, no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Anyone with this link can see and change this plan" in page.text
    assert "Your plan for Ohio" in page.text
    plan = client.get(f"/api/v1/plans/{token}").json()
    leadership = next(c for c in plan["conditions"] if c["condition"] == "collaborative-leadership")
    assert leadership["target_stage"] == 3
    # Above "backed" (stage 1) on the ladder: the further step within stage 1, then 2 and 3.
    assert [m["id"] for m in leadership["milestones"]] == [
        "leadership:convened",
        "leadership:named-body",
        "leadership:district-capacity",
        "leadership:accountable",
    ]
    milestone = leadership["milestones"][0]["id"]
    bad = client.post(
        f"/plans/{token}",
        data={"time_frame": "6-months", f"done-{milestone}": "1", f"due-{milestone}": "31/12/2027"},
    )
    assert bad.status_code == 422
    assert f'id="due-{milestone}-error"' in bad.text
    good = client.post(
        f"/plans/{token}",
        data={
            "time_frame": "12-months",
            f"done-{milestone}": "1",
            f"owner-{milestone}": "<script>Chief of staff</script>",
            f"due-{milestone}": "2027-12-31",
        },
    )
    assert good.status_code == 303 and good.headers["location"] == f"/plans/{token}?saved=1"
    saved = client.get(good.headers["location"]).text
    assert "&lt;script&gt;Chief of staff&lt;/script&gt;" in saved and "<script>Chief" not in saved
    assert "1 of " in saved
    assert client.get(f"/api/v1/plans/{token}").json()["progress"]["done"] == 1

    memo = client.get(f"/plans/{token}/memo.docx")
    assert memo.status_code == 200 and memo.headers["content-type"].startswith(
        "application/vnd.openxml"
    )
    paragraphs = [p.text for p in docx.Document(io.BytesIO(memo.content)).paragraphs]
    text = "\n".join(paragraphs)
    assert "A plan for Ohio" in paragraphs[0]
    assert f"quiz version {quiz.version}" in text and f"scoring method {SCORING_VERSION}" in text
    assert "Collaborative Leadership: toward Statewide Transformation" in text
    assert "Sources" in paragraphs

    pdf = client.get(f"/plans/{token}/brief.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    assert 1 <= len(reader.pages) <= 2  # a board brief: two pages at most
    pdf_text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert "A plan for Ohio" in pdf_text and f"quiz version {quiz.version}" in pdf_text
    assert "Collaborative Leadership" in pdf_text and "Sources" in pdf_text

    # Check in again: the quiz from the latest answers, stored as a new response based on the
    # one before and tied to the plan, which then shows what changed.
    check_in = client.get(f"/quiz?from={made['id']}&plan={token}")
    assert check_in.status_code == 200 and 'name="plan"' in check_in.text
    assert f'name="based_on" value="{made["id"]}"' in check_in.text
    data = {"quiz_version": quiz.version, "plan": token, "based_on": made["id"], "state": "OH"}
    data |= {q: option_for(q, s) for q, s in (STAGES | {"leadership": 2, "funding": 1}).items()}
    sent = client.post("/quiz", data=data)
    assert sent.status_code == 303 and sent.headers["location"] == f"/plans/{token}#history"
    after = client.get(f"/api/v1/plans/{token}").json()
    assert len(after["history"]) == 2 and after["latest_response_id"] != made["id"]
    assert after["history"][1]["stages"]["collaborative-leadership"] == 2
    newest = client.get(f"/api/v1/responses/{after['latest_response_id']}").json()
    assert newest["based_on"] == made["id"]
    page = client.get(f"/plans/{token}").text
    assert "What changed since last time" in page
    assert "its stage from Exploration to Replication" in page
    assert page.count('role="img"') == 2 and "Stage at each check-in" in page
    assert len(_rows(client, PlanCheckIn)) >= 1
    assert client.get(f"/quiz?from={made['id']}&plan=" + "y" * 32).status_code == 404
    # A plan field gone wrong in a sent form: the response is stored, and shown as a result.
    stray = client.post("/quiz", data=data | {"plan": "y" * 32})
    assert stray.status_code == 303 and stray.headers["location"].startswith("/results/")
    # From the result page: a check-in linked to the result it started from, without a plan.
    assert (
        f'href="/quiz?from={made["id"]}&amp;check_in=1"'
        in client.get(f"/results/{made['id']}").text
    )
    again = client.get(f"/quiz?from={made['id']}&check_in=1").text
    assert f'name="based_on" value="{made["id"]}"' in again and 'name="plan"' not in again
    assert client.get("/plans/" + "y" * 32).status_code == 404


def test_evidence_kept_with_answers_is_shown_escaped(client: TestClient, quiz: Quiz) -> None:
    """Evidence stored in an answer (issue 22, part 2) is shown next to its condition, escaped,
    its link rel="noopener nofollow"; a link that is not http(s) is not made a link."""
    made = _response(client, quiz)
    engine = create_engine(client.app.state.settings.database_url)  # type: ignore[attr-defined]
    with engine.begin() as conn:
        answers = conn.execute(
            select(ResponseRecord.answers).where(ResponseRecord.id == made["id"])
        ).scalar_one()
        for a in answers:
            if a["question_id"] == "funding":
                a["evidence"] = {"note": "<b>HB 12</b> failed", "link": "https://example.org/hb12"}
            if a["question_id"] == "funding-flexibility":
                a["evidence"] = {"link": "javascript:alert(1)"}
        conn.execute(
            ResponseRecord.__table__.update()
            .where(ResponseRecord.__table__.c.id == made["id"])
            .values(answers=answers)
        )  # type: ignore[attr-defined]
    engine.dispose()
    token = client.post(
        "/api/v1/plans",
        json={
            "response_id": made["id"],
            "conditions": [{"condition": "responsive-funding-systems"}],
        },
    ).json()["token"]
    page = client.get(f"/plans/{token}").text
    assert "&lt;b&gt;HB 12&lt;/b&gt; failed" in page
    assert '<a href="https://example.org/hb12" rel="noopener nofollow">' in page
    assert "javascript:" not in page


def test_without_weasyprint_the_pdf_link_says_so_and_the_rest_works(
    client: TestClient, quiz: Quiz, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server without Pango cannot import WeasyPrint (OSError; here the import is made to
    fail as it does): the PDF link is a friendly page, the memo and the plan still work."""
    made = _response(client, quiz)
    token = client.post("/api/v1/plans", json={"response_id": made["id"]}).json()["token"]
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    r = client.get(f"/plans/{token}/brief.pdf")
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert "PDF briefs need WeasyPrint" in r.text and "Word memo" in r.text
    assert client.get(f"/plans/{token}/memo.docx").status_code == 200
    assert client.get(f"/plans/{token}").status_code == 200


def test_the_app_starts_without_importing_weasyprint() -> None:
    """`make run` needs no Pango: the app imports WeasyPrint only when a PDF is asked for."""
    code = "import sys, app.main; sys.exit('weasyprint' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_a_plan_and_its_check_in_on_each_database(
    server: LiveServer | InProcessServer, quiz: Quiz
) -> None:
    """The whole round on SQLite and PostgreSQL: made, a milestone checked, a check-in through
    the form, the history and the link rows as stored."""
    with server.client() as c:
        made = _response(c, quiz)  # type: ignore[arg-type]
        created = c.post("/api/v1/plans", json={"response_id": made["id"]}).json()
        token, plan = created["token"], created["plan"]
        condition = plan["conditions"][0]
        milestone = condition["milestones"][0]["id"]
        body = {
            "time_frame": "3-months",
            "conditions": [
                {"condition": c_["condition"], "target_stage": c_["target_stage"]}
                for c_ in plan["conditions"]
            ],
        }
        body["conditions"][0]["milestones"] = [{"id": milestone, "done": True}]  # type: ignore[index]
        assert c.put(f"/api/v1/plans/{token}", json=body).json()["progress"]["done"] == 1
        data = {"quiz_version": quiz.version, "plan": token, "based_on": made["id"]}
        data |= {q: option_for(q, s) for q, s in (STAGES | {"funding": 2}).items()}
        sent = c.post("/quiz", data=data)
        assert sent.status_code == 303 and sent.headers["location"] == f"/plans/{token}#history"
        again = c.post(
            "/quiz", data=data
        )  # sent twice (no form token): stored again, linked once each
        assert again.status_code == 303
        after = c.get(f"/api/v1/plans/{token}").json()
    assert [h["stages"]["responsive-funding-systems"] for h in after["history"]] == [0, 2, 2]
    assert after["progress"]["done"] == 1
    url = server.app.state.settings.database_url
    engine = create_engine(url)
    with engine.connect() as conn:
        links = conn.execute(select(PlanCheckIn.response_id)).scalars().all()
        based = (
            conn.execute(
                select(ResponseRecord.based_on).where(ResponseRecord.id.in_(links))  # type: ignore[attr-defined]
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert len(links) == 2 and based == [made["id"], made["id"]]


def test_a_teams_plan_from_its_picture(client: TestClient, quiz: Quiz) -> None:
    """Once the team page shows the team, its picture can become the team's plan: the team's
    stages, its own "Begin here", milestones above the team's stage; before that, 409."""
    team = client.post("/api/v1/teams", json={"name": "Plan team", "state": "OH"}).json()
    early = client.post(f"/api/v1/teams/{team['id']}/plans", json={})
    assert early.status_code == 409 and early.json()["error"]["code"] == "team_not_shown"
    threshold = client.app.state.settings.team_min_members  # type: ignore[attr-defined]
    for funding in [0, 1, 1, 2, 0][: max(threshold, 3)]:
        _response(client, quiz, STAGES | {"funding": funding}, team=team["join_token"])
    view = client.get(f"/api/v1/teams/{team['id']}").json()
    r = client.post(f"/api/v1/teams/{team['id']}/plans", json={"time_frame": "6-months"})
    assert r.status_code == 201, r.text
    plan = r.json()["plan"]
    assert plan["team_id"] == team["id"] and plan["response_id"] is None and plan["history"] == []
    begin = [x["slug"] for x in view["recommendations"][:3]]
    assert [c["condition"] for c in plan["conditions"]] == begin
    stages = {c["slug"]: c["team_stage"] for c in view["conditions"]}
    for c in plan["conditions"]:
        assert c["current_stage"] == stages[c["condition"]]
        assert all(m["stage"] > (c["current_stage"] or 0) for m in c["milestones"])
    token = r.json()["token"]
    page = client.get(f"/plans/{token}")
    assert page.status_code == 200 and "The plan of the team" in page.text
    assert "Check in again" not in page.text
    assert client.get(f"/plans/{token}/memo.docx").status_code == 200
    # The form on the team page's link.
    assert f'href="/teams/{team["id"]}/plan"' in client.get(f"/teams/{team['id']}").text
    form = client.get(f"/teams/{team['id']}/plan")
    assert form.status_code == 200 and "now (the team's stage)" in form.text
    made = client.post(
        f"/teams/{team['id']}/plan", data={"condition": begin[:1], "time_frame": "3-months"}
    )
    assert made.status_code == 303 and made.headers["location"].startswith("/plans/")
    assert client.post("/api/v1/teams/" + "z" * 22 + "/plans", json={}).status_code == 404


def test_the_brief_and_the_memo_call_only_the_frameworks_parts_its_own(
    client: TestClient, quiz: Quiz
) -> None:
    """Funding's stage 2 takes its goal from the framework but its actions and strategic
    question are ours (`derived_fields`): the documents a leader hands on say so part by part,
    never "the framework's" for what we wrote."""
    made = _response(client, quiz)
    token = client.post(
        "/api/v1/plans",
        json={
            "response_id": made["id"],
            "conditions": [{"condition": "responsive-funding-systems", "target_stage": 2}],
        },
    ).json()["token"]
    ours, theirs = "(ours, in the framework's pattern)", "(the framework's, in our words)"
    memo = client.get(f"/plans/{token}/memo.docx")
    paragraphs = [p.text for p in docx.Document(io.BytesIO(memo.content)).paragraphs]
    assert any(p.startswith(f"Goal {theirs}") for p in paragraphs), paragraphs
    assert f"Supporting actions {ours}" in paragraphs
    assert any(p.startswith(f"Strategic question {ours}") for p in paragraphs)
    assert not any(p.startswith(f"Supporting actions {theirs}") for p in paragraphs)
    pdf = client.get(f"/plans/{token}/brief.pdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert f"Goal {theirs}" in text and f"Supporting actions {ours}" in text, text[:2000]
    assert f"Strategic question {ours}" in text
    assert f"Supporting actions {theirs}" not in text


def test_the_new_plan_form_offers_only_stages_above_where_the_state_is(
    client: TestClient, quiz: Quiz
) -> None:
    """A goal is a stage to reach: the one the state is at is not offered (the last one is,
    to sustain); at stage 0 every stage is."""
    made = _response(client, quiz)
    page = client.get(f"/results/{made['id']}/plan").text

    def offered(slug: str) -> list[str]:
        select = re.search(rf'<select name="target-{slug}".*?</select>', page, re.S)
        assert select is not None, slug
        return re.findall(r'<option value="(\d)"', select.group(0))

    assert offered("collaborative-leadership") == ["2", "3"]  # at stage 1
    assert offered("responsive-funding-systems") == ["1", "2", "3"]  # at stage 0
