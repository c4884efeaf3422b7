"""The group-commit writer on both databases: a batch commits at once, a bad job fails alone,
and callers on the event loop await their write without holding a thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.analytics.aggregates import COUNTS, KEY, MONTH_KEY, add_to_rollup, fold
from app.responses import writer as writer_module
from app.responses.writer import GroupCommitWriter, _Job
from tests.support import PostgresCluster, migrated


def writer_with_notes(url: str) -> GroupCommitWriter:
    """A writer on the migrated database at `url`, which has a `notes` table to write to."""
    made = GroupCommitWriter(url)
    with Session(made.engine) as session:
        session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
        session.commit()
    made.engine.dispose()
    return GroupCommitWriter(url)


@pytest.fixture
def writer(database_url: str) -> Iterator[GroupCommitWriter]:
    writer = writer_with_notes(migrated(database_url))
    yield writer
    writer.engine.dispose()


def failed(job: _Job, constraint: str) -> bool:
    """The job failed alone on `constraint` ("not null", "unique"), as either database says it."""
    message = str(job.error).lower().replace("-", " ")
    return isinstance(job.error, IntegrityError) and constraint in message


def note(i: int, body: str | None = "ok"):  # type: ignore[no-untyped-def]
    def work(session: Session) -> int:
        session.execute(text("INSERT INTO notes (id, body) VALUES (:i, :b)"), {"i": i, "b": body})
        return i

    return work


def stored(writer: GroupCommitWriter) -> list[int]:
    with Session(writer.engine) as session:
        return [row[0] for row in session.execute(text("SELECT id FROM notes ORDER BY id"))]


def test_a_bad_job_fails_alone_and_the_rest_of_its_batch_is_stored(
    writer: GroupCommitWriter,
) -> None:
    jobs = [_Job(note(1)), _Job(note(2, None)), _Job(note(3)), _Job(note(1))]
    writer._commit(jobs)  # one batch, as the writer thread runs it
    assert [job.value for job in jobs] == [1, None, 3, None]
    assert jobs[0].error is None and jobs[2].error is None
    assert failed(jobs[1], "not null") and failed(jobs[3], "unique")
    assert all(job.done.is_set() for job in jobs)
    assert stored(writer) == [1, 3]


def test_a_good_batch_is_stored_whole(writer: GroupCommitWriter) -> None:
    jobs = [_Job(note(i)) for i in range(1, 6)]
    writer._commit(jobs)
    assert [job.value for job in jobs] == [1, 2, 3, 4, 5]
    assert stored(writer) == [1, 2, 3, 4, 5]


def test_callers_on_the_event_loop_await_their_writes(writer: GroupCommitWriter) -> None:
    writer.start()
    try:

        async def many() -> list[int | BaseException]:
            writes = [writer.write(note(i)) for i in range(1, 41)]
            return await asyncio.gather(*writes, writer.write(note(7)), return_exceptions=True)

        threads_before = threading.active_count()
        answers = asyncio.run(many())
        assert threading.active_count() == threads_before  # no thread per waiting write
    finally:
        writer.stop()
    assert answers[:40] == list(range(1, 41))
    assert isinstance(answers[40], IntegrityError) and "unique" in str(answers[40]).lower()
    assert stored(writer) == list(range(1, 41))


def test_the_writes_of_one_turn_of_the_event_loop_are_one_batch(writer: GroupCommitWriter) -> None:
    """Requests that run in the same turn of the event loop hand the writer their jobs together
    at the end of the turn: one transaction for all of them, not one for each as it came."""
    writer.start()
    try:

        def transaction(i: int):  # type: ignore[no-untyped-def]
            def work(session: Session) -> tuple[int, int]:
                note(i)(session)
                return i, id(session.get_transaction())

            return work

        async def request(i: int) -> tuple[int, int]:
            # A request's work before its write, letting the writer thread take the GIL as
            # real work does (a socket write, a system call): the writer could start a batch.
            time.sleep(0.005)
            return await writer.write(transaction(i))

        async def one_turn() -> list[tuple[int, int]]:
            return await asyncio.gather(*(request(i) for i in range(1, 21)))

        answers = asyncio.run(one_turn())
    finally:
        writer.stop()
    assert [i for i, _ in answers] == list(range(1, 21))
    assert len({transaction for _, transaction in answers}) == 1
    assert stored(writer) == list(range(1, 21))


@pytest.mark.postgres
def test_on_postgres_a_connection_gone_while_idle_is_replaced_before_a_batch(
    pg_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's connection is pinged only after it has been idle (not before every batch);
    a server that dropped it meanwhile costs a reconnect, not the batch."""
    monkeypatch.setattr(writer_module, "IDLE_PING_SECONDS", 0.0)
    writer = GroupCommitWriter(migrated(pg_cluster.create_database("quiz_writer_reconnect")))
    writer.start()
    try:

        def backend(session: Session) -> int:
            return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())

        first = writer.run(backend)
        with psycopg.connect(pg_cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (first,))
        time.sleep(0.1)
        assert writer.run(backend) != first
    finally:
        writer.stop()


def test_rollup_rows_are_written_in_the_order_of_their_keys() -> None:
    """Two transactions updating the same rollup rows in different orders could each wait for
    the other on PostgreSQL (batches of two processes meeting states in other orders); every
    batch takes them in the order of their keys."""

    class Recorder:
        dialect = SimpleNamespace(name="postgresql")

        def __init__(self) -> None:
            self.written: list[list[dict[str, Any]]] = []

        def execute(self, _statement: object, rows: list[dict[str, Any]]) -> None:
            self.written.append(rows)

    rows = fold(
        (
            {
                "day": day,
                "month": day[:7],
                "state": state,
                "role": "",
                "partner": "",
                "quiz_version": "v",
                "condition": condition,
                "attribution": "",
                "ref": "",
                **dict.fromkeys(COUNTS, 1),
            }
            for day in ("2026-12-01", "2026-11-30")
            for state in ("OH", "KY")
            for condition in ("b", "a")
        ),
        KEY,
    )
    recorder = Recorder()
    add_to_rollup(recorder, rows)  # type: ignore[arg-type]  # only execute and dialect are used
    daily, monthly = recorder.written
    assert [tuple(r[k] for k in KEY) for r in daily] == sorted(
        tuple(r[k] for k in KEY) for r in rows
    )
    months = [tuple(r[k] for k in MONTH_KEY) for r in monthly]
    assert months == sorted(months) and len(months) == 8


@pytest.mark.postgres
def test_on_postgres_batches_of_two_processes_locking_in_opposite_orders_both_commit(
    pg_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch takes its jobs' locks (a rate limit's bucket, an idempotency key) in their order;
    two processes' batches may meet them in opposite orders. PostgreSQL then fails one batch
    with a deadlock, and the writer runs it again, each job in a savepoint: nothing is lost."""
    url = migrated(pg_cluster.create_database("quiz_writer_deadlock"))
    first, second = GroupCommitWriter(url), GroupCommitWriter(url)
    both_hold_one = threading.Barrier(2, timeout=10)

    def lock(bucket: int, meet: bool = False):  # type: ignore[no-untyped-def]
        runs = []

        def work(session: Session) -> int:
            session.execute(text("SELECT pg_advisory_xact_lock(:b)"), {"b": bucket})
            if meet and not runs:  # only the first run waits for the other batch
                runs.append(1)
                both_hold_one.wait()
            return bucket

        return work

    rerun = []
    each_alone = writer_module._each_in_a_savepoint

    def counted(engine: Any, jobs: list[_Job], release_at: int) -> None:
        rerun.append(len(jobs))
        each_alone(engine, jobs, release_at)

    monkeypatch.setattr(writer_module, "_each_in_a_savepoint", counted)
    batches = {
        first: [_Job(lock(1, meet=True)), _Job(lock(2))],
        second: [_Job(lock(2, meet=True)), _Job(lock(1))],
    }
    threads = [threading.Thread(target=w._commit, args=(jobs,)) for w, jobs in batches.items()]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        jobs = [job for batch in batches.values() for job in batch]
        assert [job.error for job in jobs] == [None] * 4
        assert [job.value for job in jobs] == [1, 2, 2, 1]
        assert rerun == [2]  # the deadlock's victim, run again
    finally:
        first.engine.dispose()
        second.engine.dispose()


@pytest.mark.postgres
def test_on_postgres_a_job_that_deadlocks_in_its_savepoint_is_run_again(
    pg_cluster: PostgresCluster,
) -> None:
    """Run again after a failed batch, each job in its savepoint, a job may meet a deadlock
    once more: its savepoint's rollback frees what it held, and it is run again rather than
    failing its caller."""
    url = migrated(pg_cluster.create_database("quiz_writer_savepoint_retry"))
    writer = GroupCommitWriter(url)
    holds_one, holds_two = threading.Event(), threading.Event()
    runs: list[int] = []

    def work(session: Session) -> int:
        session.execute(text("SELECT pg_advisory_xact_lock(1)"))
        runs.append(1)
        if len(runs) == 1:
            holds_one.set()
        session.execute(text("SELECT pg_advisory_xact_lock(2)"))  # the other holds it, at first
        return len(runs)

    def other() -> None:
        """Holds lock 2, waits until the job waits for it, then asks for lock 1: a deadlock.
        Its own deadlock check comes late, so the job's (after 1 s) finds it and fails."""
        plain = pg_cluster.url("quiz_writer_savepoint_retry").replace("+psycopg", "")
        with psycopg.connect(plain) as conn, psycopg.connect(plain, autocommit=True) as watch:
            conn.execute("SET deadlock_timeout = '60s'")
            conn.execute("SELECT pg_advisory_xact_lock(2)")
            holds_two.set()
            assert holds_one.wait(10)
            for _ in range(200):
                waiting = watch.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchone()
                if waiting and waiting[0]:
                    break
                time.sleep(0.05)
            conn.execute("SELECT pg_advisory_xact_lock(1)")
            conn.commit()

    thread = threading.Thread(target=other)
    thread.start()
    job = _Job(work)
    try:
        assert holds_two.wait(10)  # the job starts only once the other holds lock 2
        writer_module._each_in_a_savepoint(writer.engine, [job], 5)
    finally:
        thread.join(timeout=30)
        writer.engine.dispose()
    assert not thread.is_alive()
    assert job.error is None and job.value == 2  # the first run failed, the second committed


def test_on_sqlite_the_wal_is_checkpointed_beside_the_writer_not_in_its_commits(
    tmp_path: Path,
) -> None:
    """The writer's commits run no checkpoint (`wal_autocheckpoint=0`), yet what they write
    reaches the database file within a moment: the writer's `Checkpointer` copied it there.
    Without it, the file would keep its size until the last connection closed."""
    database = tmp_path / "quiz.db"
    writer = writer_with_notes(migrated(f"sqlite:///{database}"))
    writer.start()
    try:
        assert writer.run(lambda s: s.execute(text("PRAGMA wal_autocheckpoint")).scalar()) == 0
        size = database.stat().st_size
        for i in range(1, 400):
            writer.run(note(i, "x" * 2000))  # about 200 pages of WAL
        deadline = time.monotonic() + 5
        while database.stat().st_size < size + 400 * 2000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert database.stat().st_size >= size + 400 * 2000
        assert stored(writer) == list(range(1, 400))
    finally:
        writer.stop()
