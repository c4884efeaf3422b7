"""Where submissions are written: one transaction for many, in each process, on both databases.

SQLite lets one connection write at a time, and each commit waits for the disk. A transaction
per request makes concurrent submissions queue on the file lock (the bare app's p99 was 1.6 s).
`GroupCommitWriter` gives each process one writer thread: requests hand it their work and
wait; it runs everything waiting in one transaction (`BEGIN IMMEDIATE` on SQLite), commits
once, then answers every request of the batch (a failing piece of work is run again alone in a
savepoint and fails alone). A request is answered only after its batch is committed, so nothing
acknowledged is lost when the process dies (SQLite: WAL; `synchronous=NORMAL` survives a process
crash, not a power cut: docs/performance.md).

PostgreSQL takes the same writer, for another reason: every submission of a cell adds to the
same rows, its cell's pending counts (a row per condition, app/analytics/aggregates.py), and a row being
updated is locked until its transaction commits. With a transaction per request, concurrent
submissions queued on those rows one commit after another, and the waiters woken at each
commit cost PostgreSQL more CPU than the writes: 110 req/s, 0.26x the bare insert, p99 1.3 s,
5.6 ms of PostgreSQL CPU a submission (docs/performance.md). A batch adds its counts up and
updates each row once, so the processes take turns on the rows a batch at a time. Other locks a
batch takes in its jobs' order (a rate limit's bucket, an idempotency key, a team's row) may
meet another process's batch in the opposite order; PostgreSQL then fails one of the two with a
deadlock (after `deadlock_timeout`, 1 s) and it is run again, each job in a savepoint, a job
that deadlocks there too run again alone (`RETRIES`). `DirectWriter` (a transaction per call,
in the calling thread) remains for scripts and tests.

Both count the responses of a transaction into the aggregates just before its commit, releasing
each batch of `release_at` (MIN_GROUP_SIZE) responses of one cell (app/analytics/aggregates.py).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Table, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

from app.analytics.aggregates import DEFAULT_RELEASE_AT, pending_rollup, write_pending_rollup
from app.db import (
    HIDE_PARAMETERS,
    SQLITE_CONNECT_ARGS,
    error_summary,
    is_sqlite,
    json_compact,
    set_sqlite_pragmas,
    sqlite_path,
)

T = TypeVar("T")
Work = Callable[[Session], Any]
log = logging.getLogger(__name__)
# Enough to take every request a busy process holds at once; a batch commits in milliseconds.
MAX_BATCH = 128
# PostgreSQL's word for a transaction it chose to fail so that others go on: a deadlock, a
# serialization failure. The work is sound; run again, it succeeds.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
# How often a job failed that way in its savepoint is run again before its caller hears of it.
RETRIES = 3


# Rows a session's work has handed over to be inserted with the rest of its batch.
DEFERRED = "deferred_inserts"


def defer_insert(session: Session, table: Table, row: dict[str, Any]) -> None:
    """Insert `row` into `table` later in this transaction, in one statement with the rows the
    other submissions of the batch deferred (psycopg pipelines them): on PostgreSQL a statement
    per row was a round trip and an `execute` each, the largest part of the writer's time.
    Whatever must find the row in the database first calls `write_deferred` (a foreign key)."""
    session.info.setdefault(DEFERRED, {}).setdefault(table, []).append(row)


def write_deferred(session: Session) -> None:
    for table, rows in session.info.pop(DEFERRED, {}).items():
        session.connection().execute(table.insert(), rows)


def _write_batch(session: Session, release_at: int) -> None:
    """What the batch's work deferred: the rows, then the counts (released batches published)."""
    write_deferred(session)
    write_pending_rollup(session, release_at)


class Writer(Protocol):
    def run(self, work: Callable[[Session], T]) -> T:
        """Write, blocking the calling thread until it is committed (CLI, tests, threads)."""
        ...

    async def write(self, work: Callable[[Session], T]) -> T:
        """Write from the event loop: the loop serves other requests until it is committed."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class DirectWriter:
    """A transaction per piece of work, in the calling thread."""

    def __init__(self, engine: Engine, release_at: int = DEFAULT_RELEASE_AT):
        self.engine = engine
        self.release_at = release_at

    def run(self, work: Callable[[Session], T]) -> T:
        with Session(self.engine) as session:
            value = work(session)
            _write_batch(session, self.release_at)
            session.commit()
            return value

    async def write(self, work: Callable[[Session], T]) -> T:
        return await run_in_threadpool(self.run, work)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass(eq=False)
class _Job:
    work: Work
    # A caller on the event loop awaits `future` (resolved on its loop); any other waits on `done`.
    future: asyncio.Future[Any] | None = None
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


def _finish(jobs: list[_Job]) -> None:
    """Answer the callers of a batch: a thread's at once, those on an event loop with one
    wake-up of their loop for all of them (a wake-up is a system call, and each one let the
    loop take the GIL from the writer, or the writer from the loop, once more a batch)."""
    on_loops: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in jobs:
        if job.future is None:
            job.done.set()
        else:
            on_loops.setdefault(job.future.get_loop(), []).append(job)
    for loop, answered in on_loops.items():
        loop.call_soon_threadsafe(_resolve, answered)


def _resolve(jobs: list[_Job]) -> None:
    for job in jobs:
        assert job.future is not None  # only jobs of an event loop come here
        if job.future.cancelled():  # the client went away; what was written stays written
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.value)


_STOP = _Job(work=lambda session: None)


class GroupCommitWriter:
    """One writer thread per process; callers block until their batch is committed."""

    def __init__(self, url: str, max_batch: int = MAX_BATCH, release_at: int = DEFAULT_RELEASE_AT):
        self._lock_path = None
        self._checkpointer: Checkpointer | None = None
        if is_sqlite(url):
            self.engine = _immediate_engine(url)
            path = sqlite_path(url)
            if path is not None:  # a file, not an in-memory database
                self._lock_path = path.with_name(path.name + ".write-lock")
                self._checkpointer = Checkpointer(path)
        else:
            # The processes' writers need no lock of ours: PostgreSQL's row locks order them.
            self.engine = _postgres_engine(url)
        self.release_at = release_at
        self.max_batch = max_batch
        # Jobs come in lists: a thread's one job, or every job an event loop's turn made.
        self._queue: queue.SimpleQueue[list[_Job]] = queue.SimpleQueue()
        # The jobs of each event loop's current turn, handed over when the turn ends.
        self._turns: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        self._thread: threading.Thread | None = None

    def run(self, work: Callable[[Session], T]) -> T:
        if self._thread is None:
            raise RuntimeError("the writer is not running")
        job = _Job(work)
        self._queue.put([job])
        job.done.wait()
        if job.error is not None:
            raise job.error
        return cast(T, job.value)

    async def write(self, work: Callable[[Session], T]) -> T:
        """No thread-pool thread waits here: the request awaits a future the writer resolves,
        so a busy process holds two threads (loop and writer), not one per waiting request.

        The writer gets the jobs of one turn of the event loop together, when the turn ends
        (`_hand_over`), not each as it comes: woken by every job, the writer took the GIL
        between two requests of the same turn and committed batches of two or three, each
        costing the writer about as much CPU as ten submissions add to a batch."""
        if self._thread is None:
            raise RuntimeError("the writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        turn = self._turns.get(loop)
        if turn is None:
            turn = self._turns[loop] = []
            loop.call_soon(self._hand_over, loop)
        turn.append(_Job(work, future=future))
        # A request cancelled while waiting cancels the future only; the write goes ahead.
        return cast(T, await future)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """On `loop`, after the callbacks of the turn that made the jobs: to the writer."""
        self._queue.put(self._turns.pop(loop))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
            self._thread.start()
            if self._checkpointer is not None:
                self._checkpointer.start()

    def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread is not None:
            self._queue.put([_STOP])
            self._thread.join()
            self._thread = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    def _loop(self) -> None:
        while True:
            batch = self._queue.get()
            while len(batch) < self.max_batch:
                try:
                    batch += self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = _STOP in batch
            jobs = [job for job in batch if job is not _STOP]
            if jobs:
                self._commit(jobs)
            if stopping:
                return

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            with _processes_in_turn(self._lock_path):
                if not _all_at_once(self.engine, jobs, self.release_at):
                    _each_in_a_savepoint(self.engine, jobs, self.release_at)
        except Exception as exc:  # the commit failed: nothing of this batch is stored
            log.warning("group commit of %d submissions failed: %s", len(jobs), error_summary(exc))
            for job in jobs:
                if job.error is None:
                    job.error = exc
        finally:
            _finish(jobs)


def _all_at_once(engine: Engine, jobs: list[_Job], release_at: int) -> bool:
    """The usual case: every job succeeds, and the batch needs no savepoints (two statements
    and most of the writer's Python per job). On any failure nothing is kept and the batch is
    run again, each job alone in a savepoint, so one bad job fails alone."""
    with Session(engine) as session:
        try:
            values = [job.work(session) for job in jobs]
            _write_batch(session, release_at)
            session.commit()
        except Exception:
            session.rollback()
            return False
    for job, value in zip(jobs, values, strict=True):
        job.value = value
    return True


def _each_in_a_savepoint(engine: Engine, jobs: list[_Job], release_at: int) -> None:
    with Session(engine) as session:
        for job in jobs:
            for attempt in range(1 + RETRIES):
                job.error = None
                pending = len(pending_rollup(session))
                savepoint = session.begin_nested()
                try:
                    job.value = job.work(session)
                    write_deferred(session)  # a bad row fails in its own savepoint
                    savepoint.commit()
                except Exception as exc:  # this job's problem (a key race, bad data)
                    savepoint.rollback()
                    session.info.pop(DEFERRED, None)
                    del pending_rollup(session)[pending:]
                    job.error = exc
                if job.error is None or not _transient(job.error) or attempt == RETRIES:
                    break
        # Counts of the whole batch added up: one upsert per table, not one per job.
        write_pending_rollup(session, release_at)
        session.commit()


def _transient(exc: BaseException) -> bool:
    """PostgreSQL failed the statement to break a deadlock (or a serialization conflict): the
    savepoint's rollback released what the job held, and the job may simply run again."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES


@contextmanager
def _processes_in_turn(lock_path: Path | None) -> Iterator[None]:
    """Writers of several processes take turns on a file lock before asking SQLite. SQLite's
    own wait polls with sleeps of up to 100 ms; a waiter on `flock` is woken the moment the
    lock is free, which keeps the tail of the latency short when workers write at once."""
    if lock_path is None:
        yield
        return
    with open(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


# How often each process folds SQLite's write-ahead log back into the database file.
CHECKPOINT_EVERY_SECONDS = 0.25


class Checkpointer:
    """Checkpoints of SQLite's write-ahead log (WAL), beside the writer instead of inside it.

    Each commit appends to the WAL; a checkpoint copies what it holds into the database file.
    By default SQLite runs one inside the commit that takes the WAL past 1,000 pages, while
    that commit holds the write lock and every writer of every process waits: under the
    bench's submissions a commit took 0.2 ms at the median, but the slowest 1% took 6.5-8.4 ms
    (up to 21 ms); checkpointed here, 2.9-4.3 ms (up to 11; docs/performance.md, "SQLite
    checkpoints"). The writer's connection turns that off
    (`wal_autocheckpoint=0`) and this thread runs a PASSIVE checkpoint every
    `CHECKPOINT_EVERY_SECONDS`: it copies what no reader still needs and never blocks a writer;
    SQLite releases the GIL meanwhile, and starts the WAL over once all of it is copied. Each
    process runs one; a checkpoint another process is running is simply not repeated."""

    def __init__(self, database: Path, every: float = CHECKPOINT_EVERY_SECONDS):
        self.database = database
        self.every = every
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        connection: sqlite3.Connection | None = None
        failing = False
        while not self._stopping.wait(self.every):
            try:
                if connection is None:
                    # mode=rw: a database that is gone is not made again, empty, here
                    connection = sqlite3.connect(
                        f"{self.database.resolve().as_uri()}?mode=rw",
                        uri=True,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                failing = False
            except sqlite3.Error as exc:  # the file gone, a full disk: the next turn tries again
                if not failing:  # said once, not four times a second
                    log.warning("WAL checkpoint failed: %s", exc)
                failing = True
                if connection is not None:
                    connection.close()
                    connection = None
        if connection is not None:
            connection.close()


def _immediate_engine(url: str) -> Engine:
    """A one-connection engine whose transactions start with BEGIN IMMEDIATE: the write lock is
    taken up front (waiting up to the busy timeout), never upgraded half-way, which SQLite may
    refuse at once. The driver's own transaction handling is switched off, as SQLAlchemy
    documents for savepoints on pysqlite."""
    engine = create_engine(
        url,
        connect_args=SQLITE_CONNECT_ARGS,
        pool_size=1,
        max_overflow=0,
        json_serializer=json_compact,
        **HIDE_PARAMETERS,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        set_sqlite_pragmas(dbapi_connection)
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # the `Checkpointer` runs them

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# A connection unused this long is pinged before a batch is sent on it.
IDLE_PING_SECONDS = 1.0


def _postgres_engine(url: str) -> Engine:
    """One connection, the writer thread's. SQLAlchemy's `pool_pre_ping` would ping it before
    every batch, a round trip each time (a sixth of the writer's time under load); it is pinged
    only after a second unused instead, which is when the server may have gone away unseen,
    and a failed ping makes the pool connect again before the batch is sent."""
    engine = create_engine(
        url, pool_size=1, max_overflow=0, json_serializer=json_compact, **HIDE_PARAMETERS
    )

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: object) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure: this connection is not to be trusted
            raise DisconnectionError() from exc

    return engine


def make_writer(url: str, release_at: int = DEFAULT_RELEASE_AT) -> Writer:
    """The group-commit writer, on either database. `release_at`: the batch size aggregates
    publish responses in (MIN_GROUP_SIZE)."""
    return GroupCommitWriter(url, release_at=release_at)
