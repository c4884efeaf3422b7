"""What-if: the API's `compare_to`, the no-JavaScript comparison page, and saving a version
as a new response `based_on` the first. The stored result never changes."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from app.models import ResponseRecord
from quiz import Quiz
from tests.scoring.support import every_question_at, option_for
from tests.support import InProcessServer, LiveServer

BEFORE = every_question_at(1) | {"funding": 0}
AFTER = every_question_at(1) | {"funding": 3}


def answers(stages: dict[str, Any]) -> list[dict[str, str]]:
    return [{"question_id": q, "option_id": option_for(q, s)} for q, s in stages.items()]


def stored(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(ResponseRecord)).scalar_one()
    engine.dispose()
    return int(count)


def test_score_compare_to_adds_changes(server: LiveServer | InProcessServer, quiz: Quiz) -> None:
    url = server.app.state.settings.database_url
    with server.client() as c:
        first = c.post(
            "/api/v1/responses", json={"quiz_version": quiz.version, "answers": answers(BEFORE)}
        ).json()
        stored_before = c.get(f"/api/v1/responses/{first['id']}?top=100").json()
        body = {"quiz_version": quiz.version, "answers": answers(AFTER)}
        plain = c.post("/api/v1/score", json=body).json()
        assert "changes" not in plain
        r = c.post(f"/api/v1/score?compare_to={first['id']}", json=body)
        assert r.status_code == 200, r.text
        compared = r.json()
        assert compared["compared_to"] == first["id"]
        funding = next(x for x in compared["changes"] if x["slug"] == "responsive-funding-systems")
        assert funding["rank_before"] == 1 and funding["moved"] == "down"
        assert funding["stage_before"] == 0 and funding["stage_after"] == 3
        assert "Responsive Funding Systems moved from 1st" in compared["changes_summary"]
        assert c.post("/api/v1/score?compare_to=A" + "a" * 21, json=body).status_code == 404
        # Nothing stored; the first result unchanged.
        assert c.get(f"/api/v1/responses/{first['id']}?top=100").json() == stored_before
    assert stored(url) == 1


def test_what_if_page_without_javascript_and_saving_a_version(
    client: httpx.Client, quiz: Quiz
) -> None:
    form = {"quiz_version": quiz.version} | {q: option_for(q, s) for q, s in BEFORE.items()}
    first = client.post("/quiz", data=form).headers["location"]
    first_id = first.rsplit("/", 1)[1]
    result_page = client.get(first).text
    assert f'href="/results/{first_id}/what-if"' in result_page

    prefilled = client.get(f"/results/{first_id}/what-if").text
    assert (
        f'id="funding-{option_for("funding", 0)}" value="{option_for("funding", 0)}" checked'
        in prefilled
    )
    assert re.search(r'id="save-version" class="no-print" hidden', prefilled)

    changed = {q: option_for(q, s) for q, s in AFTER.items()}
    page = client.get(f"/results/{first_id}/what-if", params=changed)
    assert page.status_code == 200
    summary = re.search(r'id="whatif-summary"[^>]*>([^<]+)<', page.text)
    assert summary and "Responsive Funding Systems moved from 1st to" in summary.group(1)
    row = re.search(
        r'<tr class="moved-down"><th scope="row">Responsive Funding Systems</th>(.*?)</tr>',
        page.text,
    )
    assert row and "Not yet started" in row.group(1) and "Statewide Transformation" in row.group(1)
    assert "down" in row.group(1)  # the move in words, not only an arrow or a colour

    # Save this version: the hidden fields carry the changed answers and the link back.
    save = re.search(
        r'<form method="post" action="/quiz" id="save-version".*?</form>', page.text, re.S
    )
    assert save is not None
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', save.group(0)))
    assert fields["based_on"] == first_id and fields["funding"] == option_for("funding", 3)
    saved = client.post("/quiz", data=fields)
    assert saved.status_code == 303
    saved_id = saved.headers["location"].rsplit("/", 1)[1]
    assert saved_id != first_id
    api = client.get(f"/api/v1/responses/{saved_id}").json()
    assert api["based_on"] == first_id
    assert "A changed version of" in client.get(saved.headers["location"]).text
    assert client.get(f"/api/v1/responses/{first_id}").json()["based_on"] is None


def test_what_if_of_an_unknown_result_is_a_friendly_404(client: httpx.Client) -> None:
    r = client.get("/results/" + "B" * 22 + "/what-if")
    assert r.status_code == 404 and "<html" in r.text


def test_based_on_must_name_a_stored_response(client: httpx.Client, quiz: Quiz) -> None:
    body = {"quiz_version": quiz.version, "answers": answers(BEFORE), "based_on": "C" * 22}
    r = client.post("/api/v1/responses", json=body)
    assert r.status_code == 404
    assert r.json()["error"]["details"][0]["field"] == "based_on"
