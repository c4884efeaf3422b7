"""The HTML pages over HTTP: status codes, headers, form handling, escaping."""

from __future__ import annotations

import re

import httpx
from markupsafe import escape

from quiz import Quiz


def full_form(quiz: Quiz, **extra: str) -> dict[str, str]:
    data = {q.id: q.options[1].id for q in quiz.questions}
    return {"quiz_version": quiz.version, **data, **extra}


def test_landing_page(client: httpx.Client, quiz: Quiz) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for text in (
        "Building Capacity",
        "Ensuring Quality",
        "Twelve policy conditions",
        "Our names for the first two stages",
        "shows them as equals",
        "our reading of the framework's stage goals",
        "Exploration",
        "Replication",
        "Statewide Transformation",
        'href="/quiz"',
        "eleven",
    ):
        assert text in r.text
    assert f"{quiz.estimated_minutes}-minute" in r.text
    assert "several answers may need a colleague or a quick look-up" in r.text
    # The footer names the edition once, without brackets inside brackets.
    assert "</a>, KnowledgeWorks, second edition (about 2019)." in r.text


def test_quiz_form_groups_questions_by_strategy(client: httpx.Client, quiz: Quiz) -> None:
    html = client.get("/quiz").text
    # one fieldset per question, plus the priorities
    assert html.count("<fieldset") == len(quiz.questions) + 1
    assert html.count("<legend>") == len(quiz.questions) + 1
    assert html.count("(our grouping)") == 4
    assert str(escape(quiz.personalized_learning)) in html
    assert f"{len(quiz.questions)} questions, about {quiz.estimated_minutes} minutes" in html
    assert "Several answers may need a colleague or a quick look-up." in html
    assert 'method="post" action="/quiz"' in html
    positions = [
        html.index(name)
        for name in (
            "Building Capacity",
            "Empowering Student Learning",
            "Cultivating System Change",
            "Ensuring Quality",
        )
    ]
    assert positions == sorted(positions)
    for q in quiz.questions:
        for o in q.options:
            assert f'name="{q.id}" id="{q.id}-{o.id}" value="{o.id}"' in html
    assert 'name="state"' in html and 'name="role"' in html and 'value="PR"' in html


def test_form_post_redirects_to_result(client: httpx.Client, quiz: Quiz) -> None:
    r = client.post("/quiz", data=full_form(quiz, state="NM", role="legislator"))
    assert r.status_code == 303
    location = r.headers["location"]
    assert re.fullmatch(r"/results/[A-Za-z0-9_-]{22}", location)
    page = client.get(location)
    assert page.status_code == 200
    assert "New Mexico" in page.text and "Begin here" in page.text
    api = client.get("/api/v1/responses/" + location.rsplit("/", 1)[1]).json()
    assert api["context"] == {"state": "NM", "role": "legislator"}
    top = api["result"]["recommendations"][0]
    assert top["name"] in page.text and str(escape(top["next_stage"]["goal"])) in page.text


def test_incomplete_form_keeps_answers_and_names_problems(client: httpx.Client, quiz: Quiz) -> None:
    data = full_form(quiz, state="OH")
    del data["funding"], data["assessment"]
    r = client.post("/quiz", data=data)
    assert r.status_code == 422
    html = r.text
    assert "Please check 2 answers" in html
    assert html.count('class="error-message"') == 2
    assert 'id="funding-error"' in html and 'id="assessment-error"' in html
    assert 'id="vision-statewide-adopted" value="adopted" checked' in html
    assert '<option value="OH" selected>' in html


def test_stale_quiz_version_and_bad_values(client: httpx.Client, quiz: Quiz) -> None:
    r = client.post("/quiz", data=full_form(quiz, quiz_version="old"))
    assert r.status_code == 422 and "The quiz changed while you were answering" in r.text
    r = client.post("/quiz", data=full_form(quiz, funding="made-up", state="ZZ"))
    assert r.status_code == 422
    assert 'id="funding-error"' in r.text and 'id="ctx-state-error"' in r.text


def test_user_input_is_escaped(client: httpx.Client, quiz: Quiz) -> None:
    r = client.get("/<script>alert(1)</script>")
    assert r.status_code == 404
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    r = client.post("/quiz", data=full_form(quiz, funding='"><script>alert(1)</script>'))
    assert r.status_code == 422 and "<script>alert(1)" not in r.text


def test_friendly_404_pages(client: httpx.Client) -> None:
    for path in ("/results/unknown-id", "/results/" + "A" * 22, "/no-such-page"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        assert "Page not found" in r.text and 'href="/quiz"' in r.text


def test_security_headers_on_pages(client: httpx.Client) -> None:
    for path in ("/", "/quiz", "/no-such-page"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"]
    assert "<script>" not in client.get("/quiz").text.replace(
        "<script src=", ""
    )  # no inline scripts


def test_embed_layout_has_no_site_chrome(client: httpx.Client, quiz: Quiz) -> None:
    html = client.get("/quiz?embed=1").text
    assert 'class="embed"' in html and '<header class="site">' not in html
    assert 'action="/quiz?embed=1"' in html
    r = client.post("/quiz?embed=1", data=full_form(quiz))
    assert r.status_code == 303 and r.headers["location"].endswith("?embed=1")


def test_resent_form_stores_one_response(client: httpx.Client, quiz: Quiz) -> None:
    html = client.get("/quiz").text
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    data = full_form(quiz, form_token=token)
    first = client.post("/quiz", data=data)
    again = client.post("/quiz", data=data)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    # Sent again with other answers (back button): the edit is a new result linked to the first.
    changed = client.post("/quiz", data={**data, "funding": "formula"})
    assert changed.status_code == 303
    assert changed.headers["location"] != first.headers["location"]
    assert f'href="{first.headers["location"]}"' in client.get(changed.headers["location"]).text
    assert token != re.search(r'name="form_token" value="([^"]+)"', client.get("/quiz").text).group(
        1
    )  # type: ignore[union-attr]
