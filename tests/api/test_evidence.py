"""Evidence on answers (a note and a link): kept with the response, in its API answer and on its
pages, escaped, with links that pass no ranking or opener; never in aggregates, exports,
webhooks or peer figures, and never a change to the result."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import MetaData, create_engine, select
from sqlmodel import Session
from sqlmodel import select as select_models

from app.models import ResponseRecord, WebhookDelivery
from quiz import Quiz
from tests.api.test_partners import add_partner
from tests.scoring.support import every_question_at, option_for
from tests.support import InProcessServer, app_settings, migrated

NOTE = "SECRET-NOTE <b>bold</b> & 'quoted'"
LINK = 'https://example.org/minutes?id=7&x="y"'


def body(quiz: Quiz, evidence: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    answers: list[dict[str, Any]] = [
        {"question_id": q.id, "option_id": q.options[1].id} for q in quiz.questions
    ]
    if evidence:
        answers[0]["evidence"] = evidence
    return {"quiz_version": quiz.version, "answers": answers, "context": {"state": "OH"}, **extra}


def test_evidence_is_stored_served_and_changes_nothing_in_the_result(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with InProcessServer(app_settings(url)).client() as c:
        plain = c.post("/api/v1/responses", json=body(quiz)).json()
        with_note = c.post(
            "/api/v1/responses", json=body(quiz, {"note": NOTE, "link": LINK})
        ).json()
        assert with_note["result"] == plain["result"]
        read = c.get(f"/api/v1/responses/{with_note['id']}").json()
        assert read["evidence"] == [
            {"question_id": quiz.questions[0].id, "note": NOTE, "link": LINK}
        ]
        assert read["result"] == c.get(f"/api/v1/responses/{plain['id']}").json()["result"]
        # A response without evidence reads exactly as before evidence existed: no new key.
        assert "evidence" not in c.get(f"/api/v1/responses/{plain['id']}").json()
        # An empty note and link are not evidence.
        empty = c.post("/api/v1/responses", json=body(quiz, {"note": "", "link": None})).json()
        assert "evidence" not in c.get(f"/api/v1/responses/{empty['id']}").json()

        page = c.get(f"/results/{with_note['id']}").text
    assert "SECRET-NOTE &lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39;" in page
    assert "<b>bold</b>" not in page
    links = re.findall(r'<a class="evidence-link" href="([^"]*)" rel="([^"]*)"', page)
    assert links == [("https://example.org/minutes?id=7&amp;x=&#34;y&#34;", "noopener nofollow")]
    assert page.count("The answers given") == 1
    engine = create_engine(url)
    with Session(engine) as session:
        stored = session.get(ResponseRecord, plain["id"])
        assert stored is not None and all(
            set(a) == {"question_id", "option_id"} for a in stored.answers
        )
    engine.dispose()


def test_links_must_be_http_or_https(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with InProcessServer(app_settings(url)).client() as c:
        for link in (
            "javascript:alert(1)",
            "data:text/html,<script>",
            "//example.org/x",
            "https:/example.org",
            "https://exa mple.org",
            "HTTPS://example.org\n",
        ):
            r = c.post("/api/v1/responses", json=body(quiz, {"link": link}))
            assert r.status_code == 422, link
            assert r.json()["error"]["details"][0]["field"] == "answers.0.evidence.link"
        for link in ("http://example.org", "https://example.org:8443/a/b?c=d#e"):
            assert c.post("/api/v1/responses", json=body(quiz, {"link": link})).status_code == 201


def test_evidence_never_reaches_aggregates_exports_webhooks_or_peers(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    key, _ = add_partner(url, webhook_url="http://127.0.0.1:9/hook", allow_private=True)
    token = "analyst-secret-token"
    settings = app_settings(url, export_token=token, min_group_size=1, webhook_allow_private=True)
    auth = {"Authorization": f"Bearer {token}"}
    with InProcessServer(settings).client() as c:
        for _ in range(3):
            r = c.post(
                "/api/v1/responses",
                json=body(quiz, {"note": NOTE, "link": LINK}),
                headers={"X-API-Key": key},
            )
            assert r.status_code == 201
        bodies = [
            c.get("/api/v1/export/aggregate", headers=auth).text,
            c.get("/api/v1/export/aggregate?format=csv&group_by=state", headers=auth).text,
            c.get("/api/v1/benchmarks?state=OH").text,
        ]
        assert '"responses":3' in bodies[2].replace(" ", "")  # the figures are there
        from tests.web.test_insights import login

        login(c, token)  # type: ignore[arg-type]
        bodies.append(c.get("/insights/export.csv").text)
        bodies.append(c.get("/insights").text)
        result_page = c.get(f"/results/{r.json()['id']}").text
    for text in bodies:
        assert "SECRET-NOTE" not in text and "example.org/minutes" not in text
    assert "Of 3 responses from all respondents" in result_page  # peers, without the note
    engine = create_engine(url)
    with Session(engine) as session:
        payloads = [d.payload for d in session.exec(select_models(WebhookDelivery)).all()]
    assert len(payloads) == 3 and all(
        "SECRET-NOTE" not in p and "minutes" not in p for p in payloads
    )
    # Nowhere in the database but the responses' own answers.
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "responses":
                continue
            rows = conn.execute(select(table)).all()
            assert "SECRET-NOTE" not in repr(rows), table.name
    engine.dispose()


def test_team_views_show_notes_never_who(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with InProcessServer(app_settings(url)).client() as c:
        team = c.post("/api/v1/teams", json={"name": "Ohio"}).json()
        notes = {1: "Z: <i>budget</i> line 4", 3: "A: formula study 2025"}
        for funding in (1, 1, 3):
            stages = every_question_at(1) | {"funding": funding}
            answers: list[dict[str, Any]] = [
                {"question_id": q, "option_id": option_for(q, s)} for q, s in stages.items()
            ]
            funding_answer = next(a for a in answers if a["question_id"] == "funding")
            if funding in notes:
                funding_answer["evidence"] = {"note": notes[funding]}
                notes.pop(funding)
            body = {"quiz_version": quiz.version, "team": team["join_token"], "answers": answers}
            assert c.post("/api/v1/responses", json=body).status_code == 201
        view = c.get(f"/api/v1/teams/{team['id']}").json()
        page = c.get(f"/teams/{team['id']}").text
    [item] = view["agenda"]
    assert item["slug"] == "responsive-funding-systems" and item["spread"] == 1.33
    # Sorted, not in the order members joined: nothing ties a note to a member.
    assert [n["note"] for n in item["notes"]] == [
        "A: formula study 2025",
        "Z: <i>budget</i> line 4",
    ]
    assert "Z: &lt;i&gt;budget&lt;/i&gt; line 4" in page and "<i>budget</i>" not in page


def test_the_form_takes_evidence_checks_it_and_fills_it_in_again(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with InProcessServer(app_settings(url)).client() as c:
        page = c.get("/quiz").text
        token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        q0 = quiz.questions[0]
        fields = {"quiz_version": quiz.version, "form_token": token}
        fields |= {q.id: q.options[1].id for q in quiz.questions}
        fields[f"note-{q0.id}"] = "x" * 501
        fields[f"link-{q0.id}"] = "ftp://example.org"
        refused = c.post("/quiz", data=fields, follow_redirects=False)
        assert refused.status_code == 422
        assert "Keep the note to 500 characters or fewer." in refused.text
        assert f'id="{q0.id}-{q0.options[1].id}" value="{q0.options[1].id}" checked' in refused.text
        fields[f"note-{q0.id}"] = "Statute 12 & board vote"
        refused = c.post("/quiz", data=fields, follow_redirects=False)
        assert refused.status_code == 422 and "starting with http:// or https://" in refused.text
        fields[f"link-{q0.id}"] = "https://example.org/statute"
        sent = c.post("/quiz", data=fields, follow_redirects=False)
        assert sent.status_code == 303
        response_id = sent.headers["location"].removeprefix("/results/")
        again = c.get(f"/quiz?from={response_id}").text
    assert ">Statute 12 &amp; board vote</textarea>" in again
    assert 'value="https://example.org/statute"' in again
