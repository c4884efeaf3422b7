"""Bounded everything (issue 19, finding 6 and build item 5): caches with a size bound and keys
that are known codes, bounded request heads, strict content types, dates within the range an
analyst can mean, no character a database cannot store, and an OpenAPI document that accepts
exactly what the server does."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from app.analytics.aggregates import DATE_PATTERN, EARLIEST, LATEST, BenchmarkCache, parse_day
from app.cache import CachePolicy
from app.http.middleware import MAX_HEAD_BYTES, MAX_HEADERS
from app.main import create_app
from app.web import insights
from quiz import Quiz
from tests.scoring.support import option_for
from tests.support import InProcessServer, LiveServer, app_settings, migrated

TOKEN = "bounds-export-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def submission(quiz: Quiz, **extra: Any) -> dict[str, Any]:
    return {
        "quiz_version": quiz.version,
        "answers": [{"question_id": "funding", "option_id": option_for("funding", 1)}],
        **extra,
    }


@pytest.fixture
def url(tmp_path: Path) -> str:
    return migrated(f"sqlite:///{tmp_path / 'quiz.db'}")


@pytest.fixture
def app_client(url: str) -> Iterator[TestClient]:
    settings = app_settings(url, export_token=TOKEN)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


# --- caches: known keys and a size bound -------------------------------------------------------


def test_benchmarks_take_only_known_states_and_keep_nothing_else(app_client: TestClient) -> None:
    """Every distinct `state` used to be kept for good (30,000 characters accepted): 20,000
    requests grew a worker from 83 to 147 MB."""
    assert app_client.get("/api/v1/benchmarks?state=OH").status_code == 200
    assert app_client.get("/api/v1/benchmarks?state=").status_code == 200  # empty: not given
    for n in range(300):
        r = app_client.get(f"/api/v1/benchmarks?state={'Z' * 10}{n}")
        assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["field"] == "query.state" and detail["code"] == "unknown_state"
    assert app_client.get(f"/api/v1/benchmarks?state={'x' * 10_000}").status_code == 422
    kept = app_client.app.state.benchmarks._kept  # type: ignore[attr-defined]
    assert len(kept) <= 2  # overall and Ohio


def test_every_in_process_cache_has_a_size_bound(app_client: TestClient) -> None:
    cache = BenchmarkCache(policy=CachePolicy("benchmarks", max_items=8, ttl=60.0))
    for n in range(50):
        cache.put(("2026-11.2", f"S{n}", 5), {})
    assert len(cache._kept) == 8
    state = app_client.app.state  # type: ignore[attr-defined]
    created = app_client.post(
        "/api/v1/responses", json={"quiz_version": state.scorer.quiz.version}
    ).json()
    for path in ("/quiz", f"/results/{created['id']}", f"/api/v1/responses/{created['id']}"):
        assert app_client.get(path).status_code == 200
    assert app_client.get("/api/v1/quiz").status_code == 200
    app_client.options(
        "/api/v1/responses",
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
    )
    kept = state.caches.all()  # every cache of the app, in one place (app/cache.py)
    assert set(kept) == {
        "explained results",
        "scorers of content versions",
        "benchmarks",
        "partners' origins",
        "the plain quiz page",
        "result pages",
        "stored responses, serialised",
        "content documents",
    }
    for name, cache in kept.items():
        assert 0 < cache.max_items <= 1024, name
    assert kept["scorers of content versions"].max_items <= 64  # content versions read back


# --- request heads -----------------------------------------------------------------------------


def test_too_many_or_too_large_headers_are_431_in_the_error_shape(app_client: TestClient) -> None:
    many = {f"x-h{n}": "v" for n in range(MAX_HEADERS + 1)}
    r = app_client.get("/api/v1/quiz", headers=many)
    assert r.status_code == 431 and r.json()["error"]["code"] == "headers_too_large"
    page = app_client.get("/quiz", headers=many)
    assert page.status_code == 431 and "<h1>That request was too large</h1>" in page.text
    big = {"x-big": "v" * MAX_HEAD_BYTES}
    assert app_client.get("/api/v1/quiz", headers=big).status_code == 431
    fine = {f"x-h{n}": "v" * 100 for n in range(MAX_HEADERS - 10)}  # about 11 KiB
    assert app_client.get("/api/v1/quiz", headers=fine).status_code == 200


def raw_exchange(server: LiveServer, chunks: Iterator[bytes], pause: float = 0.0) -> bytes:
    """Send `chunks` over one connection (stopping when the server closes it) and read what it
    answers. A server that waits for more gets nothing more: the read times out at 10 s."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered and closed before all was sent: what we want to see
        answer = b""
        try:
            while part := sock.recv(65536):
                answer += part
                if answer.count(b"HTTP/1.1 ") >= 2 or b"connection: close" in answer.lower():
                    if b"\r\n\r\n" in answer:
                        break
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


@pytest.mark.live
def test_a_real_server_refuses_endless_heads_before_reading_them(live: LiveServer) -> None:
    """uvicorn took an 8 MB header and 100,000 headers; now the answer is a 431 once the head
    passes the limit, before the rest is even sent."""
    head = b"GET /api/v1/quiz HTTP/1.1\r\nHost: 127.0.0.1\r\n"

    def huge_field() -> Iterator[bytes]:
        yield head + b"X-Big: "
        for _ in range(8 * 16):  # 8 MB, 64 KiB at a time
            yield b"v" * 65536

    def many_fields() -> Iterator[bytes]:
        yield head
        for n in range(0, 100_000, 1000):
            yield b"".join(b"X-H%d: v\r\n" % i for i in range(n, n + 1000))

    for chunks in (huge_field(), many_fields()):
        began = time.monotonic()
        answer = raw_exchange(live, chunks)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:300]
        assert b'"code": "headers_too_large"' in answer
        assert time.monotonic() - began < 5
    page = raw_exchange(live, iter([b"GET /quiz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 70000]))
    assert page.startswith(b"HTTP/1.1 431 ") and b"text/html" in page


@pytest.mark.live
def test_a_real_server_still_takes_every_ordinary_request(live: LiveServer, quiz: Quiz) -> None:
    """No false 431: a head just under the limit sent a few bytes at a time, and a request with
    a large body followed by another on the same connection (the body is not head)."""
    fields = b"".join(b"X-H%d: %s\r\n" % (n, b"v" * 140) for n in range(MAX_HEADERS - 2))
    assert MAX_HEAD_BYTES - 2048 < len(fields) < MAX_HEAD_BYTES - 200
    request = b"GET /api/v1/quiz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + b"\r\n"
    pieces = (request[i : i + 300] for i in range(0, len(request), 300))
    answer = raw_exchange(live, pieces, pause=0.002)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    body = httpx.Request("POST", "/", json=submission(quiz, priorities=[])).content
    padded = body[:-1] + b', "partner": "x' + b"y" * 60 + b'"}'  # still a valid submission
    post = (
        b"POST /api/v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(padded), padded)
    )
    big_body = post.replace(b"\r\n\r\n", b"\r\nX-Pad: " + b"p" * 8000 + b"\r\n\r\n", 1)
    two = big_body + b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(live, iter([two]))
    assert answer.count(b"HTTP/1.1 200 ") == 2, answer[:500]


# --- content types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        "application/vnd.api+json",
        "application/merge-patch+json",
        "application/json; charset=latin-1",
        "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16",
        "application/jsonx",
        None,
    ],
)
def test_bodies_not_sent_as_application_json_are_415(
    app_client: TestClient, quiz: Quiz, kind: str | None
) -> None:
    headers = {} if kind is None else {"content-type": kind}
    body = httpx.Request("POST", "/", json=submission(quiz)).content
    for path, content in (
        ("/api/v1/responses", body),
        ("/api/v1/score", body),
        ("/api/v1/teams", b'{"name": "Leads"}'),
    ):
        r = app_client.post(path, content=content, headers=headers)
        assert r.status_code == 415, (path, kind, r.text)
        assert r.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "kind",
    ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"],
)
def test_application_json_in_utf_8_is_taken(app_client: TestClient, quiz: Quiz, kind: str) -> None:
    body = httpx.Request("POST", "/", json=submission(quiz)).content
    r = app_client.post("/api/v1/responses", content=body, headers={"content-type": kind})
    assert r.status_code == 201, r.text


# --- dates -------------------------------------------------------------------------------------


def test_one_date_range_for_the_export_the_cli_and_insights() -> None:
    """DATE_PATTERN (in the OpenAPI document) takes exactly the calendar days EARLIEST..LATEST
    written as YYYY-MM-DD, and `parse_day` (the server's check) agrees with it everywhere."""
    assert (
        (EARLIEST, LATEST)
        == (insights.EARLIEST, insights.LATEST)
        == (date(2020, 1, 1), date(2100, 12, 31))
    )
    validator = jsonschema_rs.validator_for({"type": "string", "pattern": DATE_PATTERN})
    day = EARLIEST - timedelta(days=400)
    while day <= LATEST + timedelta(days=400):
        text = day.isoformat()
        inside = EARLIEST <= day <= LATEST
        assert validator.is_valid(text) is inside, text
        assert (parse_day(text) == day) is inside, text
        day += timedelta(days=1)
    for text in ("2021-02-29", "2100-02-29", "2024-04-31", "2024-13-01", "2024-00-10", "0",
                 "", "20240101", "2024-1-5", "2024-01-05T00:00", " 2024-01-05", "2024-W01-1",
                 "٢٠٢٤-٠١-٠٥", "9999-12-31", "0001-01-01"):  # fmt: skip
        assert not validator.is_valid(text) and parse_day(text) is None, text
    assert validator.is_valid("2024-02-29") and parse_day("2024-02-29") == date(2024, 2, 29)


@pytest.mark.parametrize(
    "query",
    [
        "since=9999-12-31",
        "until=0001-01-01",
        "until=0",
        "since=0",
        "since=2019-12-31",
        "until=2101-01-01",
        "since=20261101",
        "since=",
    ],
)
def test_export_dates_outside_the_range_are_422_on_both_databases(
    server: InProcessServer | LiveServer, query: str
) -> None:
    """9999-12-31 and 0001-01-01 were 500s on both databases; `until=0` was 1970-01-01."""
    with server.client() as c:
        r = c.get(f"/api/v1/export/aggregate?{query}", headers=AUTH)
        assert r.status_code == 422, (query, r.text)
        field = query.split("=")[0]
        assert f"query.{field}" in [d["field"] for d in r.json()["error"]["details"]]
        ok = c.get("/api/v1/export/aggregate?since=2020-01-01&until=2100-12-31", headers=AUTH)
        assert ok.status_code == 200, ok.text


@pytest.fixture
def server(database_url: str) -> Iterator[InProcessServer | LiveServer]:
    """The app with an export token, on each kind of database (uvicorn for PostgreSQL)."""
    settings = app_settings(migrated(database_url), export_token=TOKEN)
    if database_url.startswith("sqlite"):
        yield InProcessServer(settings)
        return
    live = LiveServer(settings).start()
    try:
        yield live
    finally:
        live.stop()


# --- characters the database cannot store ------------------------------------------------------

NUL = "\x00"
SESSION = "insights_session"


def test_nul_is_422_on_every_field_and_parameter(
    server: InProcessServer | LiveServer, quiz: Quiz
) -> None:
    """A NUL byte was a 500 on PostgreSQL, which cannot store it in text: benchmarks, team
    names, export and insights filters. SQLite stored it."""
    with server.client() as c:
        cookie = {"cookie": f"{SESSION}={_signed_in(c)}"}
    gets = [
        ("/api/v1/benchmarks?state=%00", {}),
        ("/api/v1/benchmarks?%00=1", {}),
        ("/api/v1/export/aggregate?state=%00", AUTH),
        ("/api/v1/export/aggregate?partner=a%00", AUTH),
        ("/api/v1/export/aggregate?quiz_version=%00", AUTH),
        ("/api/v1/export/aggregate?group_by=state%00", AUTH),
        ("/insights?state=%00", cookie),
        ("/insights?partner=%00", cookie),
        ("/insights/export.csv?role=%00", cookie),
        ("/quiz?team=%00", {}),
    ]
    with server.client() as c:
        for target, headers in gets:
            r = c.get(target, headers=headers)
            assert r.status_code == 422, (target, r.status_code, r.text[:300])
            if target.startswith("/api"):
                assert r.json()["error"]["details"][0]["code"] == "invalid_character"
            else:
                assert "<html" in r.text and "cannot be stored" in r.text, target
        for target, data in (
            ("/teams/new", {"name": f"Leads{NUL}", "closes_in_days": "30"}),
            ("/quiz", {"quiz_version": quiz.version, "team": NUL, "funding": "x"}),
        ):
            r = c.post(target, data=data)
            assert r.status_code == 422, (target, r.status_code, r.text[:300])
            assert "<html" in r.text and "cannot be stored" in r.text, target
        _json_posts(c, quiz, NUL)
        assert c.get("/healthz").status_code == 200  # and the database is fine


def _signed_in(c: httpx.Client | TestClient) -> str:
    """An analyst's session, signed in through the form (sessions are kept by the server). Its
    cookies are Secure and these clients speak plain HTTP, so they are carried by hand."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/insights").text)
    assert csrf is not None
    signed_in = c.post(
        "/insights/login",
        data={"token": TOKEN, "csrf": csrf.group(1)},
        headers={"cookie": f"insights_csrf={csrf.group(1)}"},
        follow_redirects=False,
    )
    session = re.search(rf"{SESSION}=([^;]+)", signed_in.headers.get("set-cookie", ""))
    assert signed_in.status_code == 303 and session is not None, signed_in.text[:300]
    return session.group(1)


def test_a_lone_surrogate_is_422_on_both_databases(
    server: InProcessServer | LiveServer, quiz: Quiz
) -> None:
    """JSON can escape half of a UTF-16 pair ("\\ud800"), which no database can encode as
    UTF-8 (a 500 on SQLite too). Queries, paths and forms are decoded with replacement, so
    only JSON bodies carry one."""
    with server.client() as c:
        _json_posts(c, quiz, "\ud800")


def _json_posts(c: httpx.Client | TestClient, quiz: Quiz, bad: str) -> None:
    for target, value in (
        ("/api/v1/teams", {"name": f"Leads{bad}"}),
        ("/api/v1/teams", {"name": "Leads", "state": bad}),
        ("/api/v1/responses", submission(quiz, team=f"t{bad}")),
        ("/api/v1/responses", submission(quiz, context={"role": bad})),
        ("/api/v1/score", submission(quiz, priorities=[bad])),
    ):
        # As escapes (ensure_ascii): the text itself need not be encodable.
        body = json.dumps(value).encode()
        r = c.post(target, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, (target, r.status_code, r.text[:300])
        details = r.json()["error"]["details"]
        assert any(d["code"] == "invalid_character" for d in details), details


# --- the OpenAPI document accepts what the server does -----------------------------------------


def _parameter(doc: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    for parameter in doc["paths"][path]["get"]["parameters"]:
        if parameter["name"] == name:
            return dict(parameter["schema"])
    raise KeyError(name)


def test_the_schema_and_the_server_agree_on_every_edge(app_client: TestClient, quiz: Quiz) -> None:
    """schemathesis found the document and the server disagreeing on `group_by` and on a team
    name of "\\n"; each value here is accepted by both or refused by both."""
    doc = app_client.get("/openapi.json").json()
    cases: list[tuple[dict[str, Any], str, Any, Any]] = []
    team = doc["components"]["schemas"]["TeamCreate"]["properties"]["name"]
    for name in ("\n", " ", "\u3000", "\x1c", "\x85", "a", " a ", "x" * 120, " " + "x" * 120,
                 "x" * 121, "", f"a{NUL}", "é"):  # fmt: skip
        cases.append(
            (team, name, lambda v: app_client.post("/api/v1/teams", json={"name": v}), 201)
        )
    export = "/api/v1/export/aggregate"
    params = {
        "group_by": ("state", "state,role", "month,partner,role,state", "", "state,state",
                     " state", "state,", ",state", "colour", "State", f"state{NUL}"),
        "since": ("2020-01-01", "2100-12-31", "2024-02-29", "2021-02-29", "2019-12-31", "0", "",
                  "20260101", "9999-12-31"),
        # Well-formed slugs of no partner ("news") are the one 422 the schema cannot state:
        # tests/api/test_export_files.py has them.
        "partner": ("", "a b", "News", "-news", f"a{NUL}b"),
    }  # fmt: skip
    for name, values in params.items():
        schema = _parameter(doc, export, name)
        for value in values:
            send = lambda v, n=name: app_client.get(export, params={n: v}, headers=AUTH)  # noqa: E731
            cases.append((schema, value, send, 200))
    state = _parameter(doc, "/api/v1/benchmarks", "state")
    for value in ("OH", "", "ZZ", "oh", f"OH{NUL}"):
        cases.append(
            (state, value, lambda v: app_client.get("/api/v1/benchmarks", params={"state": v}), 200)
        )
    disagreements = []
    for schema, value, send, accepted in cases:
        valid = jsonschema_rs.validator_for(schema).is_valid(value)
        status = send(value).status_code
        if valid != (status == accepted):
            disagreements.append((value, "schema accepts" if valid else "schema refuses", status))
    # A tag needs its partner too (a rule across parameters, in words in the document): sent
    # alone, a tag of the form is refused for that (`needs_partner`), any other for its form.
    ref = _parameter(doc, export, "ref")
    for value in ("spring-2027", "article.4211", "A", "x" * 40, "", "x" * 41, "-a", ".a",
                  "a b", "a;b", "é", f"a{NUL}"):  # fmt: skip
        valid = jsonschema_rs.validator_for(ref).is_valid(value)
        r = app_client.get(export, params={"ref": value}, headers=AUTH)
        code = r.json()["error"]["details"][0]["code"] if r.status_code == 422 else None
        # (A NUL is refused before any parameter is read: `invalid_character`.)
        if valid != (code == "needs_partner") or code is None:
            disagreements.append((value, "schema accepts" if valid else "schema refuses", code))
    assert not disagreements
