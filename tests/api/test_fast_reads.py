"""Reads that cost little: content serialised once with ETags, immutable results with ETags,
the quiz page rendered once (with a fresh form token each time), HEAD wherever GET works."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from quiz import Quiz
from tests.support import app_settings, migrated


def test_content_has_etags_and_304(client: httpx.Client, quiz: Quiz) -> None:
    for path in ("/api/v1/quiz", "/api/v1/framework", "/api/v1/conditions/measuring-success"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["cache-control"] == "public, max-age=300"
        etag = first.headers["etag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get("/api/v1/quiz").json()["version"] == quiz.version


def test_stored_results_are_cacheable_privately(client: httpx.Client, quiz: Quiz) -> None:
    created = client.post("/api/v1/responses", json={"quiz_version": quiz.version}).json()
    path = f"/api/v1/responses/{created['id']}"
    first = client.get(path)
    assert first.headers["cache-control"] == "private, max-age=86400"
    assert first.headers["etag"] == f'"{created["id"]}.3"'
    assert client.get(path, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert client.get(path + "?top=5").headers["etag"] != first.headers["etag"]


def test_quiz_page_is_rendered_once_but_tokens_are_fresh(client: httpx.Client) -> None:
    pages = [client.get("/quiz").text for _ in range(3)]
    tokens = {re.search(r'name="form_token" value="([^"]+)"', p).group(1) for p in pages}  # type: ignore[union-attr]
    # Each one signed by the server (app/tokens.py): 22 characters of randomness, 22 of HMAC.
    assert len(tokens) == 3 and all(len(t) == 45 and t[22] == "." for t in tokens)
    assert "form-token-slot" not in pages[0]
    strip = [re.sub(r'name="form_token" value="[^"]+"', "", p) for p in pages]
    assert strip[0] == strip[1] == strip[2]


def test_head_works_wherever_get_does(client: httpx.Client, quiz: Quiz) -> None:
    for path in ("/", "/quiz", "/api/v1/quiz", "/healthz", "/embed.js", "/static/style.css"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
    assert client.head("/no-such-page").status_code == 404


def test_early_413_has_security_headers_and_a_page_for_forms(client: httpx.Client) -> None:
    big = "x" * (70 * 1024)
    api = client.post("/api/v1/score", content=big, headers={"content-type": "application/json"})
    assert api.status_code == 413 and api.json()["error"]["code"] == "payload_too_large"
    form = client.post("/quiz", data={"funding": big})
    assert form.status_code == 413 and form.headers["content-type"].startswith("text/html")
    assert "That was too much to send" in form.text
    for r in (api, form):
        assert "frame-ancestors" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"


def test_html_405_carries_allow(client: httpx.Client) -> None:
    r = client.delete("/quiz")
    assert r.status_code == 405 and "GET" in r.headers["allow"]
    assert r.headers["content-type"].startswith("text/html")


KEPT_PATHS = (
    "/quiz",
    "/results/{id}",
    "/api/v1/responses/{id}",
    "/api/v1/quiz",
    "/api/v1/framework",
)


@pytest.mark.parametrize("before_routing", [True, False], ids=["layer", "no-layer"])
def test_kept_answers_match_the_answers_built(
    tmp_path: Path, quiz: Quiz, before_routing: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The plain quiz page, a stored response, its result page and the quiz and framework JSON
    are kept once built (each by its own route, app/http/kept.py); the kept answer, from the
    layer before routing or (with it off) from the route, is the built one, byte for byte and
    header for header (the page: all but its fresh form token), and a query string is no way
    around it but another answer (`?state=` is the form with nothing preselected)."""
    token = re.compile(r'name="form_token" value="[^"]+"')
    settings = app_settings(migrated(f"sqlite:///{tmp_path / 'q.db'}"))
    settings.answer_kept_before_routing = before_routing
    with TestClient(create_app(settings)) as c, caplog.at_level(logging.INFO, "app.access"):
        created = c.post("/api/v1/responses", json={"quiz_version": quiz.version}).json()
        for path in (p.format(id=created["id"]) for p in KEPT_PATHS):
            built, kept = c.get(path), c.get(path)
            assert built.status_code == kept.status_code == 200, path
            assert token.sub("", built.text) == token.sub("", kept.text), path
            # Gzipped, a page with another token may be a byte longer or shorter.
            same = lambda r: {k: v for k, v in r.headers.items() if k != "content-length"}  # noqa: E731
            assert same(built) == same(kept) == same(c.head(path)), path
            etag = kept.headers.get("etag")
            if etag:  # a kept answer's 304 is the route's
                again = c.get(path, headers={"If-None-Match": etag})
                assert again.status_code == 304 and again.headers["etag"] == etag, path
        routed = c.get("/quiz?state=")
        assert token.sub("", routed.text) == token.sub("", c.get("/quiz").text)
    said = {r.getMessage().rsplit(" ", 1)[1] for r in caplog.records if r.name == "app.access"}
    assert ("served=kept" in said) is before_routing and "served=route" in said
    assert ("served=cache" in said) is not before_routing


def test_the_layer_before_routing_answers_only_what_a_route_kept(tmp_path: Path) -> None:
    """Nothing is answered before routing that its route has not built first: an unknown id is
    the route's 404 every time, a stored response not yet read is read by its route, and a
    kept path with a query or another method goes to the route."""
    with TestClient(create_app(app_settings(migrated(f"sqlite:///{tmp_path / 'q.db'}")))) as c:
        missing = "/api/v1/responses/AAAAAAAAAAAAAAAAAAAAAA"
        for _ in range(2):
            r = c.get(missing)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
            assert c.get("/results/AAAAAAAAAAAAAAAAAAAAAA").status_code == 404
        assert c.get("/quiz/", follow_redirects=False).status_code == 307  # not the kept page
        assert c.get("/api/v1/quiz?top=").status_code == 200  # any query: the route
        assert c.post("/api/v1/quiz").status_code == 405


def test_access_log_names_the_route_for_head_too(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        for path in ("/quiz", "/api/v1/quiz", "/api/v1/conditions/measuring-success"):
            client.head(path)
    lines = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert [line.rsplit(" ", 3)[0] for line in lines] == [
        "HEAD /quiz",
        "HEAD /api/v1/quiz",
        "HEAD /api/v1/conditions/{slug}",
    ]


def test_the_access_log_says_how_each_request_was_answered(
    tmp_path: Path, quiz: Quiz, caplog: pytest.LogCaptureFixture
) -> None:
    """`served=route` when the route built the answer, `served=kept` when the layer before
    routing answered from what the route kept, `served=cache` when the route answered from it
    (a query string), `served=layer` when a middleware answered before routing; never an id."""
    with TestClient(create_app(app_settings(migrated(f"sqlite:///{tmp_path / 'q.db'}")))) as c:
        created = c.post("/api/v1/responses", json={"quiz_version": quiz.version}).json()
        stored = f"/api/v1/responses/{created['id']}"
        with caplog.at_level(logging.INFO, logger="app.access"):
            c.get("/quiz")
            c.get("/quiz")
            c.head("/quiz")
            etag = c.get(stored).headers["etag"]
            c.get(stored)
            c.get(stored, headers={"If-None-Match": etag})
            c.get(f"/results/{created['id']}")
            c.get(f"/results/{created['id']}")
            c.get(f"/results/{created['id']}?completed=1")
            c.get(f"/results/{created['id']}?completed=1")
            c.get("/api/v1/quiz")
            c.get("/api/v1/quiz")
            c.post("/api/v1/score", content="x" * (70 * 1024), headers=JSON_TYPE)
            c.options(
                "/api/v1/responses",
                headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
            )
            c.get("/no-such-page")
    lines = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert not any(created["id"] in line for line in lines)
    shape = re.compile(r"^[A-Z]+ (.+) (\d{3}) [\d.]+ms (served=\w+)$")
    said = [shape.match(line).groups() for line in lines]  # type: ignore[union-attr]
    assert said == [
        ("/quiz", "200", "served=route"),
        ("/quiz", "200", "served=kept"),
        ("/quiz", "200", "served=kept"),
        ("/api/v1/responses/{response_id}", "200", "served=route"),
        ("/api/v1/responses/{response_id}", "200", "served=kept"),
        ("/api/v1/responses/{response_id}", "304", "served=kept"),
        ("/results/{response_id}", "200", "served=route"),
        ("/results/{response_id}", "200", "served=kept"),
        ("/results/{response_id}", "200", "served=route"),
        ("/results/{response_id}", "200", "served=cache"),
        ("/api/v1/quiz", "200", "served=route"),
        ("/api/v1/quiz", "200", "served=kept"),
        ("(no route)", "413", "served=layer"),  # before routing: no route named
        ("(no route)", "403", "served=layer"),
        ("(no route)", "404", "served=none"),
    ]


JSON_TYPE = {"content-type": "application/json"}
