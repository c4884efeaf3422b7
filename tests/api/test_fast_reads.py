"""Reads that cost little: content serialised once with ETags, immutable results with ETags,
the quiz page rendered once (with a fresh form token each time), HEAD wherever GET works."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.routes.responses import kept_response
from app.web.pages import kept_result_page
from quiz import Quiz


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


def test_answers_served_before_routing_match_the_routes(client: httpx.Client) -> None:
    """app/http/prebuilt.py answers these paths without a query; with one, the routes answer. Both
    must give the same body and headers (the page: all but its fresh form token)."""
    token = re.compile(r'name="form_token" value="[^"]+"')
    for path in ("/api/v1/quiz", "/api/v1/framework", "/quiz"):
        client.get(path)  # the page is built by its first request
        fast, routed = client.get(path), client.get(path + "?state=")
        assert fast.status_code == routed.status_code == 200, path
        assert token.sub("", fast.text) == token.sub("", routed.text), path
        for name in ("content-type", "etag", "cache-control", "content-security-policy"):
            assert fast.headers.get(name) == routed.headers.get(name), (path, name)
    public = client.get("/api/v1/quiz", headers={"Origin": "https://elsewhere.example"})
    assert public.headers["access-control-allow-origin"] == "*"


def test_access_log_names_the_route_for_head_too(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        for path in ("/quiz", "/api/v1/quiz", "/api/v1/conditions/measuring-success"):
            client.head(path)
    lines = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "HEAD /quiz",
        "HEAD /api/v1/quiz",
        "HEAD /api/v1/conditions/{slug}",
    ]


def test_kept_results_are_answered_before_routing_as_the_routes_answer(
    client: TestClient, quiz: Quiz, caplog: pytest.LogCaptureFixture
) -> None:
    created = client.post("/api/v1/responses", json={"quiz_version": quiz.version}).json()
    state = client.app.state  # type: ignore[attr-defined]
    answers = {
        f"/results/{created['id']}": kept_result_page(state),
        f"/api/v1/responses/{created['id']}": kept_response(state),
    }
    for path, kept in answers.items():
        scope = {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
        }
        routed = client.get(path)  # the route builds the answer and keeps it
        built = kept(scope, created["id"])
        assert built is not None and built.body == routed.content, path
        with caplog.at_level(logging.INFO, logger="app.access"):
            again = client.get(path)
            not_modified = client.get(path, headers={"If-None-Match": routed.headers["etag"]})
        assert again.content == routed.content and not_modified.status_code == 304
        for name in ("content-type", "etag", "cache-control", "content-security-policy"):
            assert again.headers.get(name) == routed.headers.get(name), (path, name)
    lines = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert not any(created["id"] in line for line in lines)
    for path in ("/results/{response_id}", "/api/v1/responses/{response_id}"):
        assert [line.rsplit(" ", 1)[0] for line in lines if path in line][-2:] == [
            f"GET {path} 200",
            f"GET {path} 304",
        ]
    # Unknown ids are left to the route (a 404), never answered from what is kept.
    assert kept_response(state)({**scope, "path": "/api/v1/responses/x"}, "x") is None
    assert client.get("/results/" + "A" * 22).status_code == 404
