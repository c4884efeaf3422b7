"""Operations (issue 19, build item 8): /healthz fails when the database cannot take a write,
SIGTERM under load answers or refuses every request, and `python -m app.cli backup` makes a
copy that opens, migrates and holds every acknowledged response, while the app runs."""

from __future__ import annotations

import re
import shlex
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from app.config import Settings
from app.models import ResponseRecord
from app.server import UVICORN_OPTIONS
from quiz import Quiz
from tests.scoring.support import option_for
from tests.support import AppProcess, migrated


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
        "$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) $(UVICORN_OPTIONS)" in makefile
    )
    cmd = re.search(r'^CMD \["sh", "-c", "(.+)"\]$', (ROOT / "Dockerfile").read_text(), re.M)
    assert cmd is not None
    serve = shlex.split(cmd.group(1).split("&& exec ", 1)[1])
    assert serve[:2] == ["uvicorn", "app.main:app"]
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
