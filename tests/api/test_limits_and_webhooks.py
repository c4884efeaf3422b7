"""Rate limits shared by several app processes, and signed webhooks that survive a restart.

The apps here are real uvicorn processes on one database, as in production."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select
from sqlmodel import Session

from app.main import create_app
from app.models import Partner, RateLimitHit, ResponseRecord, WebhookDelivery
from app.partners.ratelimit import RateLimiter, bucket_key
from app.partners.webhooks import WebhookSender
from quiz import Quiz, load_content
from tests.api.test_partners import add_partner
from tests.support import AppProcess, app_settings, issued_token, migrated, missing

pytestmark = pytest.mark.live

EXPORT_TOKEN = "analyst-secret-token"


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


def test_token_throttle_holds_across_two_processes(database_url: str, apps) -> None:  # type: ignore[no-untyped-def]
    """Finding 8, as an attacker with several app processes behind one address would try it:
    24 wrong export tokens at once, half to each process. Exactly ten are checked (401), the
    rest are 429; sign-in shares the count (one secret, one budget); another address is not
    affected."""
    url = migrated(database_url)
    env = {"EXPORT_TOKEN": EXPORT_TOKEN, "TRUSTED_PROXIES": "127.0.0.1"}
    a, b = apps(url, **env), apps(url, **env)
    wrong = {"Authorization": "Bearer wrong", "X-Forwarded-For": "198.51.100.7"}
    with a.client() as ca, b.client() as cb:

        def attempt(n: int) -> int:
            client = (ca, cb)[n % 2]
            return client.get("/api/v1/export/aggregate", headers=wrong).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(attempt, range(24)))
        assert statuses == [401] * 10 + [429] * 14
        right = {"Authorization": f"Bearer {EXPORT_TOKEN}", "X-Forwarded-For": "198.51.100.7"}
        for client in (ca, cb):
            assert client.get("/api/v1/export/aggregate", headers=right).status_code == 429
        page = cb.get("/insights", headers={"X-Forwarded-For": "198.51.100.7"})
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        signed_in = cb.post(
            "/insights/login",
            data={"token": EXPORT_TOKEN, "csrf": csrf},
            headers={"X-Forwarded-For": "198.51.100.7", "Cookie": f"insights_csrf={csrf}"},
        )
        assert signed_in.status_code == 429 and signed_in.headers["retry-after"]
        other = {**right, "X-Forwarded-For": "198.51.100.8"}
        assert ca.get("/api/v1/export/aggregate", headers=other).status_code == 200


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

    def __init__(self, statuses: list[int] | None = None, tls: ssl.SSLContext | None = None):
        self.statuses = list(statuses or [])
        self.server_names: list[str | None] = []  # TLS SNI, per handshake
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

        class Server(ThreadingHTTPServer):
            def verify_request(self, request: object, client_address: object) -> bool:
                receiver.connections += 1  # any connection at all, even one that sends no request
                return True

        self.connections = 0
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http{'s' if tls else ''}://127.0.0.1:{self.port}/hook"
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
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

    def make(statuses: list[int] | None = None, tls: ssl.SSLContext | None = None) -> Receiver:
        made.append(Receiver(statuses, tls))
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


# --- webhooks go where the check looked ----------------------------------------------------------

# A public address (example.com's) that the rebinding name first answers with. Nothing connects
# to it: `no_way_out` refuses every connection that does not stay on this machine.
PUBLIC = "93.184.215.14"


class RebindingDns:
    """An attacker's DNS with a zero TTL: `name` is `PUBLIC` the first time it is looked up and
    127.0.0.1 every time after; every other name resolves as usual."""

    def __init__(self, name: str):
        self.name = name
        self.lookups = 0
        self._getaddrinfo = socket.getaddrinfo

    def answer(self) -> str:
        self.lookups += 1
        return PUBLIC if self.lookups == 1 else "127.0.0.1"

    def resolve(self, host: str, port: int) -> list[str]:
        """The sender's resolver seam."""
        assert host == self.name
        return [self.answer()]

    def getaddrinfo(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != self.name:
            return self._getaddrinfo(host, port, *args, **kwargs)
        address = self.answer()
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 443)))]


@pytest.fixture
def no_way_out(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Connections to anything but this machine are refused (and listed) instead of made."""
    refused: list[tuple[str, int]] = []
    create_connection = socket.create_connection

    def connect(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        host, port = address[0], address[1]
        try:
            leaves = not ipaddress.ip_address(host).is_loopback
        except ValueError:  # a name: resolved (by whatever getaddrinfo is) and connected to
            leaves = False
        if leaves:
            refused.append((host, port))
            raise ConnectionRefusedError(f"the test refuses connections to {host}")
        return create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    return refused


def test_a_rebinding_name_cannot_turn_a_delivery_to_loopback(
    tmp_path, receiver, monkeypatch, no_way_out, quiz: Quiz
) -> None:  # type: ignore[no-untyped-def]
    """Finding 9: the address was checked with one lookup and the connection made with another,
    so a name answering public-then-loopback had the webhook POSTed to 127.0.0.1. Now the one
    lookup's addresses are checked and connected to; the local server sees no connection."""
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    hook = receiver()
    # The name the partner gave, its DNS now run by an attacker.
    partner = partner_at(url, f"https://rebind.attacker.test:{hook.port}/hook")
    store_with_webhook(url, quiz, partner)
    engine = create_engine(url)
    dns = RebindingDns("rebind.attacker.test")
    # Both seams: the sender's resolver, and the system's, which a second lookup would use.
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    sender = WebhookSender(engine, app_settings(url, webhook_attempts=1), resolver=dns.resolve)
    sender.start()
    try:
        wait_for(lambda: deliveries(url)[0].status == "failed")
    finally:
        sender.stop()
        engine.dispose()
    assert hook.connections == 0 and hook.received == []
    assert dns.lookups == 1
    assert no_way_out == [(PUBLIC, hook.port)]  # where the check looked, and only there


def make_certificates(folder: Path, *names: str) -> dict[str, tuple[Path, Path]]:
    """A throwaway CA (`folder/ca.pem`) and, per name, a certificate it signed and its key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("the openssl command")
    assert openssl is not None

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=folder, check=True, capture_output=True, timeout=60)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Webhook test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign")  # fmt: skip
    made = {}
    for name in names:
        (folder / f"{name}.ext").write_text(
            f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        )
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")  # fmt: skip
        made[name] = (folder / f"{name}.pem", folder / f"{name}.key")
    return made


def serving(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_a_pinned_delivery_keeps_the_host_name_for_http_and_tls(
    tmp_path, receiver, monkeypatch, quiz: Quiz
) -> None:  # type: ignore[no-untyped-def]
    """Connecting to the checked address must not lose the name: the receiver sees it in the
    Host header and in TLS SNI, and the certificate is verified against it (a certificate for
    another name is refused before anything is sent)."""
    certificates = make_certificates(tmp_path, "hook.example.org", "other.example.org")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # httpx trusts our CA
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    right = receiver(tls=serving(certificates["hook.example.org"]))
    wrong = receiver(tls=serving(certificates["other.example.org"]))
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    settings = app_settings(url, webhook_allow_private=True, webhook_attempts=1)
    for hook in (right, wrong):
        partner = partner_at(url, f"https://hook.example.org:{hook.port}/hook", f"p{hook.port}")
        store_with_webhook(url, quiz, partner)
    engine = create_engine(url)
    sender = WebhookSender(engine, settings, resolver=resolve)
    sender.start()
    try:
        wait_for(lambda: {d.status for d in deliveries(url)} <= {"delivered", "failed"})
    finally:
        sender.stop()
        engine.dispose()
    assert lookups == ["hook.example.org", "hook.example.org"]
    [(headers, _)] = right.received
    assert headers["host"] == f"hook.example.org:{right.port}"
    assert right.server_names == ["hook.example.org"]
    assert wrong.received == [] and wrong.server_names == ["hook.example.org"]
    by_status = {d.status: d for d in deliveries(url)}
    assert set(by_status) == {"delivered", "failed"}
    assert "certificate" in (by_status["failed"].last_error or "").lower()


def partner_at(url: str, webhook_url: str, slug: str = "news") -> Partner:
    """A partner whose webhook is `webhook_url`, a name no real DNS knows: written as it is,
    past the check at `add`, which would look the name up."""
    _, partner = add_partner(url, slug, webhook_url="http://127.0.0.1:9/hook", allow_private=True)
    engine = create_engine(url)
    with Session(engine) as session:
        stored = session.get(Partner, partner.id)
        assert stored is not None
        stored.webhook_url = webhook_url
        session.add(stored)
        session.commit()
        session.refresh(stored)
        session.expunge(stored)
    engine.dispose()
    return stored


def store_with_webhook(url: str, quiz: Quiz, partner: Partner) -> None:
    """One stored response of `partner`'s, with its delivery written in the same transaction."""
    import asyncio

    from app.responses.results import Results, register_content
    from app.responses.submissions import submit
    from app.responses.writer import DirectWriter
    from scoring import Scorer, Submission

    engine = create_engine(url)
    results = Results(Scorer(*load_content()))
    with engine.begin() as connection:
        register_content(connection, results)
    submission = Submission.model_validate({**body(quiz), "partner": partner.slug})
    asyncio.run(
        submit(
            engine=engine,
            results=results,
            writer=DirectWriter(engine),
            submission=submission,
            partner=partner,
        )
    )
    engine.dispose()


def test_a_batch_of_counts_sweeps_the_old_rows_once_and_each_count_still_sees_the_others(
    tmp_path: Path,
) -> None:
    """The writer's batch is one transaction: its first count deletes every row older than the
    window, the later ones do not sweep again, and each count sees the rows the counts before
    it in the batch added (the limit holds inside one batch)."""
    engine = create_engine(migrated(f"sqlite:///{tmp_path / 'quiz.db'}"))
    limiter = RateLimiter(engine, b"k" * 32)
    with Session(engine) as session:
        session.add(RateLimitHit(bucket=bucket_key(limiter.key, "ip:old"), at=time.time() - 120))
        session.commit()
    deletes: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_: deletes.append(sql) if sql.startswith("DELETE") else None,
    )
    with Session(engine) as session:  # one batch
        refusals = [limiter.count(session, bucket="ip:a", limit=3) for _ in range(4)]
        other = limiter.count(session, bucket="ip:b", limit=3)
        session.commit()
    assert [r is None for r in refusals] == [True, True, True, False]
    assert other is None
    assert len(deletes) == 1
    with Session(engine) as session:
        buckets = session.execute(select(RateLimitHit.bucket)).scalars().all()
    assert sorted(buckets) == sorted(
        [bucket_key(limiter.key, "ip:a")] * 3 + [bucket_key(limiter.key, "ip:b")]
    )
