"""Hardened edges: links never from a forged Host, 503 when the database is gone, long form
values named, a resent form stored once, API docs off by default, an access log without
addresses or result ids."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from starlette.requests import Request

from app.cache import Caches
from app.db import make_engine
from app.http.middleware import relative_location
from app.main import create_app
from app.models import ResponseRecord
from app.responses.results import Results
from app.responses.submissions import public_base
from app.responses.writer import GroupCommitWriter
from quiz import Quiz
from tests.scoring.support import every_question_at, option_for
from tests.support import app_settings, issued_token, migrated


def submission(quiz: Quiz) -> dict[str, object]:
    return {
        "quiz_version": quiz.version,
        "answers": [{"question_id": "funding", "option_id": option_for("funding", 1)}],
    }


def form(quiz: Quiz, stage: int, token: str = "tok-aaaaaaaaaaaaaaaaaaaa") -> dict[str, str]:
    answers = {q: option_for(q, stage) for q in every_question_at(stage)}
    return {"quiz_version": quiz.version, "form_token": token, **answers}


def stored(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(ResponseRecord)).scalar_one()
    engine.dispose()
    return int(count)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return migrated(f"sqlite:///{tmp_path / 'quiz.db'}")


def test_links_never_come_from_a_forged_host(url: str, quiz: Quiz) -> None:
    with TestClient(create_app(app_settings(url)), follow_redirects=False) as client:
        created = client.post(
            "/api/v1/responses", json=submission(quiz), headers={"Host": "evil.example"}
        ).json()
        assert created["result_url"] == f"/results/{created['id']}"
        page = client.get(f"/results/{created['id']}", headers={"Host": "evil.example"}).text
        assert "evil.example" not in page
        known = client.post("/api/v1/responses", json=submission(quiz)).json()
        assert known["result_url"].startswith("http://testserver/results/")
    settings = app_settings(url, public_base_url="https://quiz.example.org")
    with TestClient(create_app(settings)) as client:
        created = client.post(
            "/api/v1/responses", json=submission(quiz), headers={"Host": "evil.example"}
        ).json()
        assert created["result_url"] == f"https://quiz.example.org/results/{created['id']}"


def test_a_trailing_slash_redirect_never_names_a_forged_host(url: str, quiz: Quiz) -> None:
    """FastAPI's redirect from `/drafts/<token>/` to `/drafts/<token>` was built from the Host
    header: a forged Host sent the token to another site. It is relative now, for any Host."""
    with TestClient(create_app(app_settings(url)), follow_redirects=False) as client:
        token = client.post("/api/v1/drafts", json=submission(quiz)).json()["token"]
        for path, to in (
            (f"/drafts/{token}/", f"/drafts/{token}"),
            ("/quiz/", "/quiz"),
            ("/api/v1/quiz/?x=1", "/api/v1/quiz?x=1"),
        ):
            for host in ("evil.example", "testserver"):
                r = client.get(path, headers={"Host": host})
                assert (r.status_code, r.headers["location"]) == (307, to), (path, host)
    assert relative_location(b"http://h.example//evil.example", b"h.example") == b"/evil.example"
    assert relative_location(b"https://h.example", b"h.example") == b"/"
    assert (
        relative_location(b"https://h.example.evil/x", b"h.example") == b"https://h.example.evil/x"
    )
    assert relative_location(b"/already", b"h.example") == b"/already"


@pytest.mark.parametrize(
    "host",
    [
        "localhost:8000",
        "LOCALHOST",
        "127.0.0.1:8000",
        "quiz.example.org",
        "Quiz.Example.Org:443",
        "evil.example",
        "localhost.evil.example",
        "localhost:99999",
        "[::1]:8000",
        "user@localhost",
        "",
    ],
)
def test_links_are_what_starlette_reads_of_the_host(host: str) -> None:
    """`public_base` reads a plain Host header itself (no URL built and parsed on every
    submission): it must say what Starlette's `request.url` and `base_url` would, for every
    scheme and root path, and the rest it leaves to them."""
    settings = SimpleNamespace(
        public_base_url="", hosts={"localhost", "127.0.0.1", "quiz.example.org", "::1"}
    )
    for scheme, root in itertools.product(("http", "https"), ("", "/quiz", "/quiz/")):
        scope = {
            "type": "http",
            "scheme": scheme,
            "method": "POST",
            "path": "/api/v1/responses",
            "root_path": root,
            "query_string": b"",
            "headers": [(b"host", host.encode())] if host else [],
            "server": ("127.0.0.1", 8000),
        }
        request = Request(scope)
        known = (request.url.hostname or "").lower() in settings.hosts
        expected = str(request.base_url).rstrip("/") if known else ""
        assert public_base(Request(scope), settings) == expected, (scheme, root)  # type: ignore[arg-type]


def test_database_gone_is_503_with_retry_after(url: str, quiz: Quiz, tmp_path: Path) -> None:
    app = create_app(app_settings(url))
    with TestClient(app, follow_redirects=False) as client:
        kept = client.post("/api/v1/responses", json=submission(quiz)).json()["id"]
        # The database cannot be opened any more (a volume gone, a server down): the app's
        # engine and writer now point at a path that is a directory.
        working = app.state.engine, app.state.writer
        gone = tmp_path / "gone.db"
        gone.mkdir()
        app.state.engine = make_engine(f"sqlite:///{gone}")
        app.state.writer = GroupCommitWriter(f"sqlite:///{gone}")
        app.state.writer.start()
        app.state.caches = Caches()  # nothing cached
        app.state.results = Results(app.state.scorer, app.state.caches)
        for method, path, kwargs in (
            ("POST", "/api/v1/responses", {"json": submission(quiz)}),
            ("GET", f"/api/v1/responses/{kept}", {}),
            ("GET", "/healthz", {}),
        ):
            r = client.request(method, path, **kwargs)  # type: ignore[arg-type]
            assert r.status_code == 503, (path, r.text)
            if path != "/healthz":
                assert r.headers["retry-after"] == "5"
                assert r.json()["error"]["code"] == "unavailable"
        for method, path, kwargs in (
            ("GET", f"/results/{kept}", {}),
            ("POST", "/quiz", {"data": form(quiz, 1)}),
        ):
            r = client.request(method, path, **kwargs)  # type: ignore[arg-type]
            assert r.status_code == 503, (path, r.text[:500])
            assert r.headers["retry-after"] == "5"
            assert "not reachable right now" in r.text and "<html" in r.text
        app.state.writer.stop()
        app.state.engine, app.state.writer = working
        # Back again: nothing that was stored is lost.
        assert client.get(f"/api/v1/responses/{kept}").status_code == 200
    assert stored(url) == 1


def test_too_long_form_values_are_named_next_to_the_field(client: TestClient, quiz: Quiz) -> None:
    data = form(quiz, 1) | {"funding": "x" * 101, "state": "y" * 500}
    r = client.post("/quiz", data=data)
    assert r.status_code == 422
    assert r.text.count("This value is too long") >= 2
    assert 'id="funding-error"' in r.text


def test_a_resent_form_with_changed_answers_keeps_the_edit(url: str, quiz: Quiz) -> None:
    """Back, an answer changed, sent again: a new response linked to the first, which stays
    as it was; the same form sent again, as first or as edited, stores nothing more."""
    with TestClient(create_app(app_settings(url)), follow_redirects=False) as client:
        token = issued_token(client)  # as the browser sends back what the page gave it
        first = client.post("/quiz", data=form(quiz, 1, token))
        assert first.status_code == 303
        edited = client.post("/quiz", data=form(quiz, 2, token))
        assert edited.status_code == 303
        assert edited.headers["location"] != first.headers["location"]
        first_id = first.headers["location"].rsplit("/", 1)[1]
        stored_edit = client.get(
            "/api/v1" + edited.headers["location"].replace("results", "responses")
        )
        assert stored_edit.json()["based_on"] == first_id
        page = client.get(edited.headers["location"]).text
        assert f'A changed version of <a href="/results/{first_id}">an earlier result</a>' in page
        # A double click on either version is that version.
        for data, sent in ((form(quiz, 1, token), first), (form(quiz, 2, token), edited)):
            again = client.post("/quiz", data=data)
            assert again.headers["location"] == sent.headers["location"]
    assert stored(url) == 2


def test_a_form_cannot_borrow_an_api_clients_idempotency_key(url: str, quiz: Quiz) -> None:
    """The form's token is a key of its own kind: a form posted with a key an API client chose
    stores its own response and never links to, or replays, the client's."""
    with TestClient(create_app(app_settings(url)), follow_redirects=False) as client:
        body = {
            "quiz_version": quiz.version,
            "answers": [
                {"question_id": q.id, "option_id": q.options[1].id} for q in quiz.questions
            ],
            "context": {"state": "OH", "role": "state-agency"},
        }
        api = client.post("/api/v1/responses", json=body, headers={"Idempotency-Key": "order-1001"})
        assert api.status_code == 201
        for answers in (2, 1):  # other answers, then the client's very answers
            sent = client.post("/quiz", data=form(quiz, answers) | {"form_token": "order-1001"})
            assert sent.status_code == 303
            location = sent.headers["location"]
            assert api.json()["id"] not in location
            page = client.get(location).text
            assert api.json()["id"] not in page and "For Ohio" not in page
    assert stored(url) == 3


def test_a_form_token_another_form_chose_reveals_nothing(url: str, quiz: Quiz) -> None:
    """The issue's attack on the form: a client posts the form with a token it chose
    (`form_token=order-1001`); another posting the same token with other answers was taken for
    "an edit" of the first, on a page linking to the first's result. A token the server did not
    issue is no token: each is stored on its own, linked to nothing; nor does the API reach the
    form's response by naming the form's key."""
    with TestClient(create_app(app_settings(url)), follow_redirects=False) as client:
        victim = client.post("/quiz", data=form(quiz, 1, "order-1001") | {"state": "OH"})
        assert victim.status_code == 303
        victim_id = victim.headers["location"].rsplit("/", 1)[1]
        for answers in (2, 1):  # other answers, then the victim's very answers
            sent = client.post("/quiz", data=form(quiz, answers, "order-1001"))
            assert sent.status_code == 303
            location = sent.headers["location"]
            assert victim_id not in location
            page = client.get(location).text
            assert victim_id not in page and "For Ohio" not in page
            stored_as = client.get("/api/v1" + location.replace("results", "responses")).json()
            assert stored_as["based_on"] is None
        answers = form(quiz, 1)
        body = {
            "quiz_version": quiz.version,
            "answers": [
                {"question_id": q.id, "option_id": answers[q.id]}
                for q in quiz.questions
                if q.id in answers
            ],
            "context": {"state": "OH"},
        }
        api = client.post(
            "/api/v1/responses", json=body, headers={"Idempotency-Key": "form:order-1001"}
        )
        assert api.status_code == 201 and api.json()["id"] != victim_id
    assert stored(url) == 4


def test_form_tokens_are_issued_signed_and_unguessable(url: str, quiz: Quiz) -> None:
    """Every /quiz page (the prebuilt one too) carries a fresh token the server signed; a token
    changed by one character is not the server's, so it does not replay anything."""
    with TestClient(create_app(app_settings(url)), follow_redirects=False) as client:
        tokens = [issued_token(client, path) for path in ("/quiz", "/quiz", "/quiz?state=OH")]
        assert len(set(tokens)) == 3
        random_part, _, signature = tokens[0].partition(".")
        assert len(random_part) >= 22 and len(signature) >= 22  # 128 bits each at least
        first = client.post("/quiz", data=form(quiz, 1, tokens[0]))
        again = client.post("/quiz", data=form(quiz, 1, tokens[0]))
        assert first.headers["location"] == again.headers["location"]
        forged = tokens[1][:-1] + ("A" if tokens[1][-1] != "A" else "B")
        one = client.post("/quiz", data=form(quiz, 1, forged))
        two = client.post("/quiz", data=form(quiz, 1, forged))
        assert one.headers["location"] != two.headers["location"]
    assert stored(url) == 3


def test_api_docs_are_off_unless_turned_on(url: str) -> None:
    with TestClient(create_app(app_settings(url))) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 200
    with TestClient(create_app(app_settings(url, api_docs=True))) as client:
        assert client.get("/docs").status_code == 200


@pytest.mark.parametrize("detail", [False, True])
def test_access_log_names_no_address_or_result_id_unless_asked(
    url: str, quiz: Quiz, caplog: pytest.LogCaptureFixture, detail: bool
) -> None:
    with TestClient(create_app(app_settings(url, access_log_detail=detail))) as client:
        created = client.post("/api/v1/responses", json=submission(quiz)).json()
        with caplog.at_level(logging.INFO, logger="app.access"):
            client.get(f"/results/{created['id']}")
        assert logging.getLogger("uvicorn.access").disabled
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "app.access" and "GET /results" in r.getMessage()
    ]
    assert len(lines) == 1
    if detail:
        assert created["id"] in lines[0] and "testclient" in lines[0]
    else:
        assert lines[0].startswith("GET /results/{response_id} 200 ")
        assert created["id"] not in lines[0] and "testclient" not in lines[0]


def test_a_body_that_is_not_utf8_is_a_400_that_says_so(client: TestClient) -> None:
    """Bytes FastAPI cannot decode at all: a 400 in the error shape that names the body and
    what to send, not FastAPI's "There was an error parsing the body"; nothing stored."""
    r = client.post(
        "/api/v1/responses",
        content=b'{"quiz_version": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    deep = b'{"quiz_version": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    nested = client.post(
        "/api/v1/responses", content=deep, headers={"Content-Type": "application/json"}
    )
    for answer in (r, nested):
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["message"] == (
            "The body could not be read: send JSON as UTF-8 text, nested no more than a few "
            "hundred levels deep."
        )
        assert error["details"] == [
            {
                "field": "body",
                "code": "unreadable_body",
                "message": "not UTF-8 JSON, or nested too deep",
            }
        ]
