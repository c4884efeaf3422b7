"""Rate limits shared by several app processes, and signed webhooks that survive a restart.

The apps here are real uvicorn processes on one database, as in production."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlmodel import Session

from app.main import create_app
from app.models import ResponseRecord, WebhookDelivery
from quiz import Quiz
from tests.api.test_partners import add_partner
from tests.support import AppProcess, app_settings, issued_token, migrated

pytestmark = pytest.mark.live


def body(quiz: Quiz, n: int = 0) -> dict[str, object]:
    options = [q.options[n % len(q.options)].id for q in quiz.questions]
    answers = [
        {"question_id": q.id, "option_id": o} for q, o in zip(quiz.questions, options, strict=True)
    ]
    return {"quiz_version": quiz.version, "answers": answers[: 1 + n % 5]}


def count(url: str, model: type) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(n)


def wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def apps() -> Iterator[Callable[..., AppProcess]]:
    started: list[AppProcess] = []

    def start(url: str, **env: str) -> AppProcess:
        app = AppProcess(url, **env).start()
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


# --- rate limits -------------------------------------------------------------------------------


def test_rate_limit_holds_across_two_processes(database_url: str, apps, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(database_url)
    a, b = apps(url, RATE_LIMIT_PER_MINUTE="3"), apps(url, RATE_LIMIT_PER_MINUTE="3")
    with a.client() as ca, b.client() as cb:
        first = ca.post("/api/v1/responses", json=body(quiz), headers={"Idempotency-Key": "k1"})
        assert first.status_code == 201
        assert ca.post("/api/v1/responses", json=body(quiz, 1)).status_code == 201
        assert cb.post("/api/v1/responses", json=body(quiz, 2)).status_code == 201
        for client in (cb, ca):
            limited = client.post("/api/v1/responses", json=body(quiz, 3))
            assert limited.status_code == 429
            assert limited.json()["error"]["code"] == "too_many_requests"
            assert 1 <= int(limited.headers["retry-after"]) <= 60
        # A retry of a stored submission is still answered, and nothing stored is lost.
        replay = cb.post("/api/v1/responses", json=body(quiz), headers={"Idempotency-Key": "k1"})
        assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]
        assert replay.headers["idempotent-replayed"] == "true"
        for r in (first,):
            assert cb.get(f"/api/v1/responses/{r.json()['id']}").status_code == 200
    assert count(url, ResponseRecord) == 3


def test_tokens_issued_by_one_process_are_good_in_another(
    database_url: str, apps, quiz: Quiz
) -> None:  # type: ignore[no-untyped-def]
    """The signing secret is the database's, not a process's: a form (and a partner's embed
    form) rendered by one app process is stored once, and as the partner's, by another."""
    url = migrated(database_url)
    add_partner(url)
    a, b = apps(url), apps(url)
    form = {"quiz_version": quiz.version, **{q.id: q.options[1].id for q in quiz.questions}}
    embed = "embed=1&partner=news"
    with a.client() as ca, b.client() as cb:
        token = issued_token(ca)
        sent = [cb.post("/quiz", data=form | {"form_token": token}) for _ in range(2)]
        assert [r.status_code for r in sent] == [303, 303]
        assert sent[0].headers["location"] == sent[1].headers["location"]
        fields = {
            "form_token": issued_token(ca, f"/quiz?{embed}"),
            "embed_token": issued_token(ca, f"/quiz?{embed}", "embed_token"),
        }
        widget = cb.post(f"/quiz?{embed}", data=form | fields)
        assert widget.status_code == 303
        response_id = widget.headers["location"].split("/results/")[1].split("?")[0]
        stored = ca.get(f"/api/v1/responses/{response_id}").json()
        assert (stored["partner"], stored["attribution"]) == ("news", "widget")
    assert count(url, ResponseRecord) == 2


def test_api_key_has_its_own_limit(tmp_path, apps, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    key, _ = add_partner(url, rate_limit=2)
    app = apps(url, RATE_LIMIT_PER_MINUTE="1")
    with app.client() as c:
        headers = {"X-API-Key": key}
        assert [
            c.post("/api/v1/responses", json=body(quiz, i), headers=headers).status_code
            for i in range(3)
        ] == [201, 201, 429]
        # the address's own limit is separate from the key's
        assert c.post("/api/v1/responses", json=body(quiz)).status_code == 201
        assert c.post("/api/v1/responses", json=body(quiz, 1)).status_code == 429


def test_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path, apps, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    behind = apps(url, RATE_LIMIT_PER_MINUTE="1", TRUSTED_PROXIES="127.0.0.1")
    direct = apps(url, RATE_LIMIT_PER_MINUTE="1")

    def post(app: AppProcess, client_ip: str, n: int) -> int:
        with app.client() as c:
            r = c.post(
                "/api/v1/responses", json=body(quiz, n), headers={"X-Forwarded-For": client_ip}
            )
            return r.status_code

    assert post(behind, "203.0.113.1", 0) == 201
    assert post(behind, "203.0.113.2", 1) == 201  # another client behind the proxy
    assert post(behind, "203.0.113.1", 2) == 429
    # Without TRUSTED_PROXIES the header is ignored: both requests come from 127.0.0.1.
    assert post(direct, "198.51.100.1", 3) == 201
    assert post(direct, "198.51.100.2", 4) == 429


def test_the_form_gets_a_friendly_429(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    form = {"quiz_version": quiz.version, **{q.id: q.options[0].id for q in quiz.questions}}
    with TestClient(
        create_app(app_settings(url, rate_limit_per_minute=1)), follow_redirects=False
    ) as c:
        assert c.post("/quiz", data=form).status_code == 303
        limited = c.post("/quiz", data={**form, "form_token": "another"})
        assert limited.status_code == 429 and "Too many requests" in limited.text
        assert limited.headers["retry-after"]


# --- webhooks ----------------------------------------------------------------------------------


class Receiver:
    """A partner's endpoint on this machine: answers with `statuses` in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.received: list[tuple[dict[str, str], str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers["Content-Length"])
                receiver.received.append(
                    (
                        {k.lower(): v for k, v in self.headers.items()},
                        self.rfile.read(length).decode(),
                    )
                )
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(secret: str, headers: dict[str, str], body: str, tolerance: int = 300) -> bool:
    """What a receiver does (the README's example): Standard Webhooks verification."""
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    return any(
        hmac.compare_digest(sig.split(",", 1)[1], expected)
        for sig in headers["webhook-signature"].split()
        if sig.startswith("v1,")
    )


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(statuses: list[int] | None = None) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def partner_with_webhook(url: str, hook: str) -> tuple[str, str]:
    key, partner = add_partner(url, webhook_url=hook, allow_private=True)
    assert partner.webhook_secret is not None
    return key, partner.webhook_secret


def deliveries(url: str) -> list[WebhookDelivery]:
    engine = create_engine(url)
    with Session(engine) as session:
        rows = list(session.exec(select(WebhookDelivery)).scalars())  # type: ignore[call-overload]
        session.expunge_all()
    engine.dispose()
    return rows


def test_webhook_is_signed_retried_and_delivered_once(tmp_path, apps, receiver, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    hook = receiver([500, 503])
    key, secret = partner_with_webhook(url, hook.url)
    app = apps(url, WEBHOOK_ALLOW_PRIVATE="true", WEBHOOK_RETRY_SECONDS="0.2")
    with app.client() as c:
        created = c.post("/api/v1/responses", json=body(quiz, 2), headers={"X-API-Key": key}).json()
    wait_for(lambda: len(hook.received) == 3)
    time.sleep(1.5)  # no fourth try after the success
    assert len(hook.received) == 3
    ids = {headers["webhook-id"] for headers, _ in hook.received}
    assert len(ids) == 1
    for headers, raw in hook.received:
        assert verify(secret, headers, raw)
        assert not verify(secret, headers, raw.replace("response", "Response"))
    event = json.loads(hook.received[-1][1])
    assert event["event"] == "response.completed" and event["id"] == created["id"]
    assert event["result_url"] == created["result_url"]
    assert event["top"] == created["result"]["begin_here"]
    assert event["stages"] == {c["slug"]: c["stage"] for c in created["result"]["conditions"]}
    assert event["attribution"] == "api_key"  # the key said whose it is (a widget: "widget")
    assert set(event) == {
        "event",
        "id",
        "created_at",
        "quiz_version",
        "result_url",
        "stages",
        "top",
        "attribution",
    }
    [delivery] = deliveries(url)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, None)


def test_a_restart_resumes_a_pending_delivery(tmp_path, apps, receiver, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    hook = receiver([500])
    key, secret = partner_with_webhook(url, hook.url)
    first = apps(url, WEBHOOK_ALLOW_PRIVATE="true", WEBHOOK_RETRY_SECONDS="4")
    with first.client() as c:
        assert (
            c.post("/api/v1/responses", json=body(quiz), headers={"X-API-Key": key}).status_code
            == 201
        )
    wait_for(lambda: len(hook.received) == 1)
    first.stop()
    [pending] = deliveries(url)
    assert (pending.status, pending.attempts) == ("pending", 1)
    assert pending.last_error and "500" in pending.last_error
    apps(url, WEBHOOK_ALLOW_PRIVATE="true", WEBHOOK_RETRY_SECONDS="4")
    wait_for(lambda: len(hook.received) == 2)
    assert hook.received[0][0]["webhook-id"] == hook.received[1][0]["webhook-id"]
    assert verify(secret, *hook.received[1])
    wait_for(lambda: deliveries(url)[0].status == "delivered")


def test_a_delivery_that_keeps_failing_stops_and_is_listed(
    tmp_path, apps, receiver, quiz: Quiz
) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    hook = receiver([500, 500, 500, 500])
    key, _ = partner_with_webhook(url, hook.url)
    app = apps(url, WEBHOOK_ALLOW_PRIVATE="true", WEBHOOK_RETRY_SECONDS="0.1")
    with app.client() as c:
        c.post("/api/v1/responses", json=body(quiz), headers={"X-API-Key": key})
    wait_for(lambda: deliveries(url)[0].status == "failed")
    assert deliveries(url)[0].attempts == 3 and len(hook.received) == 3


def test_webhooks_to_private_addresses_are_refused_at_send_time(
    tmp_path, apps, receiver, quiz: Quiz
) -> None:  # type: ignore[no-untyped-def]
    """A partner added while private addresses were allowed gets nothing once they are not."""
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    hook = receiver()
    key, _ = partner_with_webhook(url, hook.url)
    app = apps(url, WEBHOOK_RETRY_SECONDS="0.1")
    with app.client() as c:
        c.post("/api/v1/responses", json=body(quiz), headers={"X-API-Key": key})
    wait_for(lambda: deliveries(url)[0].status == "failed")
    assert hook.received == []
    assert "private or loopback" in (deliveries(url)[0].last_error or "")


def test_only_submissions_that_would_be_stored_count(tmp_path, quiz: Quiz) -> None:  # type: ignore[no-untyped-def]
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    invalid = {**body(quiz), "answers": [{"question_id": "funding", "option_id": "no-such"}]}
    with TestClient(create_app(app_settings(url, rate_limit_per_minute=1))) as c:
        assert c.post("/api/v1/responses", json=invalid).status_code == 422
        assert c.post("/api/v1/responses", json=body(quiz)).status_code == 201
        assert c.post("/api/v1/responses", json=body(quiz, 1)).status_code == 429
    assert count(url, ResponseRecord) == 1
