"""No addresses kept (issue 19, finding 5): the rate limiter holds keyed hashes of its buckets,
only for its one-minute window, and no log line carries SQL parameters, result ids, client
addresses or answers, not even when the database fails under the requests."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlmodel import Session

from app.cache import Caches
from app.db import make_engine
from app.errors import RateLimited
from app.main import create_app
from app.models import RateLimitHit
from app.partners import ratelimit
from app.partners.ratelimit import WINDOW_SECONDS
from app.responses.results import Results
from app.responses.writer import GroupCommitWriter
from quiz import Quiz
from tests.api.test_partners import add_partner
from tests.scoring.support import option_for
from tests.support import PostgresCluster, app_settings, live_server, migrated, missing

ADDRESS = "203.0.113.77"  # TEST-NET-3: nothing else in a log names it
FORWARDED = {"X-Forwarded-For": ADDRESS}
# Answers and a context no log line has reason to name.
ANSWERED = ("funding", "assessment", "leadership")


def body(quiz: Quiz) -> dict[str, object]:
    return {
        "quiz_version": quiz.version,
        "answers": [{"question_id": q, "option_id": option_for(q, 2)} for q in ANSWERED],
        "context": {"state": "WY", "role": "state-agency"},
    }


def hits(url: str) -> list[tuple[str, float]]:
    engine = create_engine(url)
    with Session(engine) as session:
        rows = session.execute(select(RateLimitHit.bucket, RateLimitHit.at)).all()  # type: ignore[call-overload]
    engine.dispose()
    return [(str(b), float(a)) for b, a in rows]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return migrated(f"sqlite:///{tmp_path / 'quiz.db'}")


# --- the limiter -------------------------------------------------------------------------------


def test_limiter_keeps_keyed_hashes_and_nothing_past_its_window(url: str, quiz: Quiz) -> None:
    """Rows used to read `ip:127.0.0.1` and stayed 15 minutes (1 submission in 200 pruned)."""
    # Rows an old version left: plain addresses, up to 15 minutes old.
    engine = create_engine(url)
    now = time.time()
    with engine.begin() as conn:
        conn.execute(
            RateLimitHit.__table__.insert(),  # type: ignore[attr-defined]
            [{"bucket": "ip:198.51.100.1", "at": now - age} for age in range(61, 900, 7)],
        )
    engine.dispose()
    settings = app_settings(url, rate_limit_per_minute=5, trusted_proxies="*")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert (
            client.post("/api/v1/responses", json=body(quiz), headers=FORWARDED).status_code == 201
        )
        team = client.post("/api/v1/teams", json={"name": "Leads"}, headers=FORWARDED)
        assert team.status_code == 201
    rows = hits(url)
    assert len(rows) == 2, rows  # one submission, one team; the old rows are gone
    for bucket, at in rows:
        assert ADDRESS not in bucket and "ip:" not in bucket
        assert len(bucket) == 64 and int(bucket, 16) >= 0  # an HMAC-SHA256, in hex
        assert time.time() - at < WINDOW_SECONDS
    # The same key for the same bucket in every process of a deployment (the limit holds across
    # processes); another deployment's secret gives unrelated keys.
    same = app_settings(url, rate_limit_per_minute=5)
    assert ratelimit.bucket_key(same.rate_limit_key, f"ip:{ADDRESS}") in {b for b, _ in rows}
    other = app_settings(url, rate_limit_secret="another deployment's secret")
    assert ratelimit.bucket_key(other.rate_limit_key, f"ip:{ADDRESS}") not in {b for b, _ in rows}


class Clock:
    """`time.time` for the limiter, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


def test_rows_older_than_the_window_go_whenever_the_limiter_counts(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(ratelimit, "time", clock)
    with TestClient(create_app(app_settings(url))) as client:
        limiter = client.app.state.limiter  # type: ignore[attr-defined]
        for _ in range(3):
            limiter.hit("ip:192.0.2.1", limit=3)
        with pytest.raises(RateLimited):
            limiter.hit("ip:192.0.2.1", limit=3)
        clock.now += WINDOW_SECONDS  # a minute later the window is empty again
        limiter.hit("ip:192.0.2.2", limit=3)  # another client: the first one's rows go anyway
        assert [at for _, at in hits(url)] == [clock.now]
        for _ in range(3):
            limiter.hit("ip:192.0.2.1", limit=3)


# --- logs when the database fails --------------------------------------------------------------


class Captured(logging.Handler):
    """Every log line of the app, the server, SQLAlchemy and the drivers, formatted with its
    traceback, as an operator's log file would hold it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def captured_logs() -> Iterator[Captured]:
    handler = Captured()
    # uvicorn's loggers do not propagate to the root logger: listen to them as well.
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def assert_nothing_personal(logs: str, response_ids: list[str], quiz: Quiz) -> None:
    assert "database unavailable" in logs, logs[-3000:]  # the failure was logged...
    assert ADDRESS not in logs  # ...without the client's address,
    for response_id in response_ids:
        assert response_id not in logs  # without any result's id,
    assert "parameters:" not in logs and "'WY'" not in logs  # without SQL parameters,
    for question in ANSWERED:
        assert option_for(question, 2) not in logs  # without answers.
    assert "state-agency" not in logs


def test_logs_of_a_lost_sqlite_database_name_nobody(url: str, quiz: Quiz, tmp_path: Path) -> None:
    """The database file removed under a running app: each new connection opens an empty file
    at its path, and every statement fails on it (with its parameters, before)."""
    settings = app_settings(url, rate_limit_per_minute=50, trusted_proxies="*")
    app = create_app(settings)
    with captured_logs() as logs, TestClient(app, follow_redirects=False) as client:
        kept = client.post("/api/v1/responses", json=body(quiz), headers=FORWARDED).json()["id"]
        working = app.state.engine, app.state.writer, app.state.limiter.engine
        path = Path(url.removeprefix("sqlite:///"))
        moved = tmp_path / "moved-away.db"
        path.rename(moved)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        # What the app's next connections see: an empty database where the file was.
        app.state.engine = make_engine(url)
        app.state.writer = GroupCommitWriter(url)
        app.state.writer.start()
        app.state.limiter.engine = app.state.engine
        app.state.caches = Caches()
        app.state.results = Results(app.state.scorer, app.state.caches)
        for method, target, kwargs in (
            ("POST", "/api/v1/responses", {"json": body(quiz)}),
            ("POST", "/api/v1/teams", {"json": {"name": "Leads", "state": "WY"}}),
            ("GET", f"/api/v1/responses/{kept}", {}),
            ("GET", f"/results/{kept}", {}),
            ("GET", "/api/v1/benchmarks?state=WY", {}),
        ):
            r = client.request(method, target, headers=FORWARDED, **kwargs)  # type: ignore[arg-type]
            assert r.status_code == 503, (target, r.text[:300])
        app.state.writer.stop()
        app.state.engine.dispose()
        app.state.engine, app.state.writer, app.state.limiter.engine = working
    assert_nothing_personal(logs.text(), [kept], quiz)


@pytest.mark.postgres
def test_logs_of_a_stopped_postgres_name_nobody(quiz: Quiz) -> None:
    """PostgreSQL stopped while submissions wait on a lock: their statements fail half-way, so
    the errors hold statements and, before, their parameters (the address in the limiter's,
    the response's id, state, role and answers in the insert)."""
    if not PostgresCluster.available():
        missing("PostgreSQL")  # a failure under CI=true, not a silent skip
    cluster = PostgresCluster().start()  # its own cluster: this test stops it
    try:
        url = migrated(cluster.create_database("quiz_logs"))
        api_key, _ = add_partner(url, rate_limit=0)  # no limiter: straight to the insert
        overrides = {"rate_limit_per_minute": 50, "trusted_proxies": "127.0.0.1"}
        with captured_logs() as logs, live_server(url, **overrides) as server:
            with server.client() as client:
                created = client.post("/api/v1/responses", json=body(quiz), headers=FORWARDED)
                kept = created.json()["id"]
            lock = psycopg.connect(cluster.url("quiz_logs").replace("+psycopg", ""))
            lock.execute("LOCK TABLE rate_limit_hits, responses IN ACCESS EXCLUSIVE MODE")
            answers: list[int] = []

            def send(headers: dict[str, str]) -> None:
                with httpx.Client(base_url=server.base_url, timeout=30) as c:
                    answers.append(
                        c.post("/api/v1/responses", json=body(quiz), headers=headers).status_code
                    )

            waiting = [
                threading.Thread(target=send, args=(h,))
                for h in (FORWARDED, {**FORWARDED, "X-API-Key": api_key})
            ]
            for t in waiting:
                t.start()
            time.sleep(1.0)  # both are waiting on the lock, half-way through their writes
            cluster._run(cluster.pg_ctl or "", "-D", str(cluster.data), "-m", "fast", "-w", "stop")
            for t in waiting:
                t.join(timeout=30)
            assert answers == [503, 503]
            with server.client() as client:
                for target in (f"/api/v1/responses/{kept}", f"/results/{kept}", "/healthz"):
                    assert client.get(target, headers=FORWARDED).status_code == 503
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            cluster.stop()
    assert_nothing_personal(logs.text(), [kept], quiz)
