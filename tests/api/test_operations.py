"""Operations (issue 19, build item 8): /healthz fails when the database cannot take a write,
SIGTERM under load answers or refuses every request, and `python -m app.cli backup` makes a
copy that opens, migrates and holds every acknowledged response, while the app runs."""

from __future__ import annotations

import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, select

from app.config import Settings
from app.db import check_schema, make_engine, migrate
from app.models import ResponseRecord
from app.server import UVICORN_OPTIONS
from quiz import Quiz
from tests.scoring.support import option_for
from tests.support import AppProcess, live_server, migrated


def body(quiz: Quiz, i: int) -> dict[str, Any]:
    return {
        "quiz_version": quiz.version,
        "answers": [
            {"question_id": q, "option_id": option_for(q, (i + n) % 4)}
            for n, q in enumerate(("vision-statewide", "funding", "assessment"))
        ],
        "context": {"state": ["OH", "KY", "SC", None][i % 4]},
    }


def stored_ids(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = set(conn.execute(select(ResponseRecord.id)).scalars())  # type: ignore[call-overload]
    engine.dispose()
    return ids


ROOT = Path(__file__).resolve().parents[2]


# --- how the app is served ---------------------------------------------------------------------


def test_make_run_and_the_image_serve_with_the_same_options() -> None:
    """The head limit and the graceful shutdown are uvicorn options: `make run`, the image's CMD
    and the tests' AppProcess must all pass them (the tests' LiveServer sets the same in code)."""
    makefile = (ROOT / "Makefile").read_text()
    options = re.search(r"^UVICORN_OPTIONS := (.+)$", makefile, re.M)
    assert options is not None and tuple(shlex.split(options.group(1))) == UVICORN_OPTIONS
    assert (
        "$(BIN)/uvicorn app.asgi:app --host $(HOST) --port $(PORT) $(UVICORN_OPTIONS)" in makefile
    )
    cmd = re.search(r'^CMD \["sh", "-c", "(.+)"\]$', (ROOT / "Dockerfile").read_text(), re.M)
    assert cmd is not None
    serve = shlex.split(cmd.group(1).split("&& exec ", 1)[1])
    assert serve[:2] == ["uvicorn", "app.asgi:app"]
    assert " ".join(UVICORN_OPTIONS) in " ".join(serve)


# --- graceful shutdown -------------------------------------------------------------------------

CLIENTS = 16


@pytest.mark.live
@pytest.mark.parametrize("workers", [1, 2])  # `make run`, and the image's two
def test_sigterm_under_load_answers_or_refuses_every_request(
    database_url: str, quiz: Quiz, workers: int
) -> None:
    """SIGTERM while clients submit: a request that reached the server gets a status (201, or
    503 once it is going away); one that never reached it is refused at connect. None is left
    without an answer, and every 201 is stored. (It dropped 16 and 20 before.)"""
    url = migrated(database_url)
    drain = str(Settings.model_fields["shutdown_drain_seconds"].default)  # as deployed
    app = AppProcess(url, workers=workers, SHUTDOWN_DRAIN_SECONDS=drain).start()
    outcomes: Counter[str] = Counter()
    acknowledged: set[str] = set()
    lock = threading.Lock()
    terminated = threading.Event()

    def client(worker: int) -> None:
        i = worker
        with httpx.Client(base_url=app.base_url, timeout=30) as c:
            while True:
                try:
                    r = c.post("/api/v1/responses", json=body(quiz, i))
                except httpx.ConnectError:
                    outcome = "refused"  # never reached the server: safe to send elsewhere
                except httpx.HTTPError as exc:
                    outcome = f"no answer ({type(exc).__name__})"
                else:
                    outcome = str(r.status_code)
                    if r.status_code == 201:
                        with lock:
                            acknowledged.add(r.json()["id"])
                with lock:
                    outcomes[outcome] += 1
                if outcome == "refused" or (terminated.is_set() and outcome == "503"):
                    return
                i += CLIENTS

    threads = [threading.Thread(target=client, args=(w,)) for w in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert app.proc is not None
    app.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    terminated.set()
    for t in threads:
        t.join(timeout=60)
    app.proc.wait(timeout=60)
    # Within `docker stop`'s ten seconds: the drain, then what was in flight.
    assert time.monotonic() - signalled < 10
    dropped = {k: n for k, n in outcomes.items() if k.startswith("no answer")}
    assert not dropped, outcomes
    assert set(outcomes) <= {"201", "503", "refused"}, outcomes
    assert acknowledged <= stored_ids(url)
    assert outcomes["201"] >= 100


# --- /healthz: can the database take a write? --------------------------------------------------


@pytest.mark.live
def test_healthz_fails_while_sqlite_cannot_take_a_write(tmp_path: Path, quiz: Quiz) -> None:
    """Another process holds SQLite's write lock (a long migration, a stuck job, a backup done
    the wrong way): reads go on, so /healthz said 200, while every submission waited out the
    lock and failed. Now /healthz tries a write, through the same writer as submissions."""
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with live_server(url) as server, server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        holder = sqlite3.connect(tmp_path / "quiz.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held
        try:
            began = time.monotonic()
            r = client.get("/healthz")
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "unavailable"
            assert time.monotonic() - began < 3.5  # inside Docker's HEALTHCHECK timeout
            with pytest.raises(httpx.ReadTimeout):  # what a submission meets meanwhile
                client.post("/api/v1/responses", json=body(quiz, 0), timeout=1)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert client.get("/healthz").status_code == 200
        assert client.post("/api/v1/responses", json=body(quiz, 1)).status_code == 201


@pytest.mark.postgres
def test_healthz_fails_while_postgres_takes_no_write(pg_cluster: Any, quiz: Quiz) -> None:
    """A PostgreSQL that reads but refuses writes (a standby after a failover, a primary set
    read-only when its disk fills): submissions were 500s and /healthz 200; now both 503."""
    url = migrated(pg_cluster.create_database("quiz_read_only"))
    admin = psycopg.connect(pg_cluster.url("postgres").replace("+psycopg", ""), autocommit=True)
    with live_server(url) as server, server.client() as client:
        assert client.get("/healthz").status_code == 200
        admin.execute("ALTER DATABASE quiz_read_only SET default_transaction_read_only = on")
        # Sessions read the setting when they start: end the app's, as a failover would.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = 'quiz_read_only' AND pid <> pg_backend_pid()"
        )
        r = client.post("/api/v1/responses", json=body(quiz, 0))
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["error"]["code"] == "unavailable"
        admin.execute("ALTER DATABASE quiz_read_only SET default_transaction_read_only = off")
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = 'quiz_read_only' AND pid <> pg_backend_pid()"
        )
        deadline = time.monotonic() + 10
        while client.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert client.post("/api/v1/responses", json=body(quiz, 1)).status_code == 201
    admin.close()


# --- backups -----------------------------------------------------------------------------------


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.live
def test_a_backup_taken_while_the_app_runs_holds_every_acknowledged_response(
    tmp_path: Path, quiz: Quiz
) -> None:
    """`python -m app.cli backup FILE` while clients submit: the copy opens, is at the current
    migration, and holds every response acknowledged before the backup began; the app serves
    from it. (Copying the .db file of a running app missed 52 of 2,589 such responses.)"""
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    app = AppProcess(url, workers=2).start()
    acknowledged: list[tuple[float, str, dict[str, Any]]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def submit(worker: int) -> None:
        i = worker
        with httpx.Client(base_url=app.base_url, timeout=30) as c:
            while not stop.is_set():
                r = c.post("/api/v1/responses", json=body(quiz, i))
                assert r.status_code == 201, r.text
                with lock:
                    acknowledged.append((time.monotonic(), r.json()["id"], r.json()["result"]))
                i += 8

    threads = [threading.Thread(target=submit, args=(w,)) for w in range(8)]
    copy = tmp_path / "backups" / "quiz-copy.db"
    try:
        for t in threads:
            t.start()
        while len(acknowledged) < 200:
            time.sleep(0.02)
        began = time.monotonic()
        done = cli(url, "backup", str(copy))
        ended = time.monotonic()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        app.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"backed up to {copy}" in done.stdout
    before = {rid: result for at, rid, result in acknowledged if at < began}
    during = [rid for at, rid, _ in acknowledged if began <= at <= ended]
    assert len(before) >= 200 and during  # submissions went on while it ran
    copy_url = f"sqlite:///{copy}"
    assert before.keys() <= stored_ids(copy_url)
    engine = make_engine(copy_url)
    try:
        check_schema(engine)  # at the current migration...
        migrate(engine, copy_url)  # ...and migrating it is a no-op
        check_schema(engine)
    finally:
        engine.dispose()
    assert not Path(f"{copy}-wal").exists()  # one self-contained file
    restored = AppProcess(copy_url).start()
    try:
        with restored.client() as c:
            for rid in list(before)[:: max(1, len(before) // 25)]:
                r = c.get(f"/api/v1/responses/{rid}")
                assert r.status_code == 200 and r.json()["result"] == before[rid]
            assert c.post("/api/v1/responses", json=body(quiz, 0)).status_code == 201
    finally:
        restored.stop()
    again = cli(url, "backup", str(copy))  # a backup never overwrites another
    assert again.returncode == 2 and "exists" in again.stderr


@pytest.mark.postgres
def test_backup_on_postgres_points_to_pg_dump(pg_cluster: Any, tmp_path: Path) -> None:
    url = migrated(pg_cluster.create_database("quiz_backup"))
    done = cli(url, "backup", str(tmp_path / "quiz.dump"))
    assert done.returncode == 2
    assert "pg_dump --format=custom" in done.stderr and "quiz_backup" in done.stderr
    assert not (tmp_path / "quiz.dump").exists()
