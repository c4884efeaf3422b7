"""Team pages without a browser: the create form and its errors, joining through the link,
the threshold, closing, and a closed team's link."""

from __future__ import annotations

import re

import httpx

from quiz import Quiz
from tests.scoring.support import every_question_at, option_for


def create(client: httpx.Client) -> dict[str, str]:
    r = client.post(
        "/teams/new", data={"name": "Ohio <team>", "state": "OH", "closes_in_days": "30"}
    )
    assert r.status_code == 201
    assert "Ohio &lt;team&gt;" in r.text  # what a user typed is escaped
    return {
        key: re.search(rf'id="{key}-url" type="text" readonly value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
        for key in ("join", "team", "lead")
    }


def answer(client: httpx.Client, quiz: Quiz, token: str, funding: int) -> None:
    stages = every_question_at(1) | {"funding": funding}
    data = {
        "quiz_version": quiz.version,
        "team": token,
        **{q: option_for(q, s) for q, s in stages.items()},
    }
    assert client.post("/quiz", data=data).status_code == 303


def test_create_form_errors_are_named(client: httpx.Client) -> None:
    r = client.post("/teams/new", data={"name": "", "state": "ZZ", "closes_in_days": "999"})
    assert r.status_code == 422
    for field in ("team-name", "team-state", "team-days"):
        assert f'id="{field}-error"' in r.text


def test_join_threshold_disagreement_and_close(client: httpx.Client, quiz: Quiz) -> None:
    links = create(client)
    token = links["join"].split("team=")[1]
    team_path = links["team"].removeprefix("http://testserver")
    lead_path = links["lead"].removeprefix("http://testserver")
    quiz_page = client.get(f"/quiz?team={token}").text
    assert f'name="team" value="{token}"' in quiz_page and "member of the team" in quiz_page

    answer(client, quiz, token, 1)
    answer(client, quiz, token, 1)
    before = client.get(team_path).text
    assert "Nothing about the members is shown until at least 3" in before
    assert "so far" not in before and "Talk about these first" not in before
    assert "so far 2 have answered" in client.get(lead_path).text

    answer(client, quiz, token, 3)
    page = client.get(team_path).text
    assert "3 members have answered" in page
    assert "Talk about these first" in page
    assert "Close the team now" not in page  # only with the lead link
    assert "lead link is not this team" not in page
    wrong = client.get(f"{team_path}?lead=not-the-lead-token").text
    assert "lead link is not this team" in wrong and "Close the team now" not in wrong
    lead_page = client.get(lead_path).text
    lead_token = re.search(r'name="lead" value="([^"]+)"', lead_page).group(1)  # type: ignore[union-attr]
    closed = client.post(f"{team_path}/close", data={"lead": lead_token})
    assert closed.status_code == 303
    assert "This team is closed" in client.get(team_path).text
    late = client.get(f"/quiz?team={token}")
    assert late.status_code == 409 and "is closed" in late.text and "<html" in late.text
    # A person's page: a title that says what happened, not the API's field-by-field details.
    assert "That is not possible any more" in late.text and "Something went wrong" not in late.text
    assert "the team is closed" not in late.text
    assert client.post(f"{team_path}/close", data={"lead": "wrong"}).status_code == 401


def test_pages_with_a_token_are_never_cached(client: httpx.Client, quiz: Quiz) -> None:
    """The page that shows a new team's links once, the quiz opened from a join link and the
    lead's view carry a secret: no cache keeps them, no referrer names them. The plain quiz
    page may be kept."""
    made = client.post("/teams/new", data={"name": "Ohio", "state": "", "closes_in_days": "30"})
    token = re.search(r"team=([A-Za-z0-9_-]+)", made.text).group(1)  # type: ignore[union-attr]
    lead = re.search(r"lead=([A-Za-z0-9_-]+)", made.text).group(1)  # type: ignore[union-attr]
    team_id = re.search(r"/teams/([A-Za-z0-9_-]+)\?lead=", made.text).group(1)  # type: ignore[union-attr]
    for page in (
        made,
        client.get(f"/quiz?team={token}"),
        client.get(f"/teams/{team_id}?lead={lead}"),
    ):
        assert page.status_code in (200, 201), page.url
        assert page.headers["cache-control"] == "private, no-store", page.url
        assert page.headers["referrer-policy"] == "no-referrer", page.url
    answers = [{"question_id": "funding", "option_id": option_for("funding", 1)}]
    created = client.post(
        "/api/v1/responses", json={"quiz_version": quiz.version, "answers": answers}
    ).json()
    prefilled = client.get(f"/quiz?from={created['id']}")  # someone's answers filled in
    assert prefilled.headers["cache-control"] == "private, no-store"
    assert "no-store" not in client.get("/quiz").headers.get("cache-control", "")
