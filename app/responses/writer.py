"""Where submissions are written: one transaction for many on SQLite, one each on PostgreSQL.

SQLite lets one connection write at a time, and each commit waits for the disk. A transaction
per request makes concurrent submissions queue on the file lock (the bare app's p99 was 1.6 s).
`GroupCommitWriter` gives each process one writer thread: requests hand it their work and
wait; it runs everything waiting in one `BEGIN IMMEDIATE` transaction, each piece of work in
its own savepoint (a failing one is rolled back alone), commits once, then answers every
request of the batch. A request is answered only after its batch is committed, so nothing
acknowledged is lost when the process dies (WAL; `synchronous=NORMAL` survives a process crash,
not a power cut: docs/performance.md).

PostgreSQL has row locks and many connections; `DirectWriter` keeps a transaction per request
there, so several app processes write side by side.

Both count the responses of a transaction into the aggregates just before its commit, releasing
each batch of `release_at` (MIN_GROUP_SIZE) responses of one cell (app/analytics/aggregates.py).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.engine import Engine
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
            write_pending_rollup(session, self.release_at)
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

    def finish(self) -> None:
        if self.future is None:
            self.done.set()
        else:
            self.future.get_loop().call_soon_threadsafe(_resolve, self.future, self)


def _resolve(future: asyncio.Future[Any], job: _Job) -> None:
    if future.cancelled():  # the client went away; what was written stays written
        return
    if job.error is not None:
        future.set_exception(job.error)
    else:
        future.set_result(job.value)


_STOP = _Job(work=lambda session: None)


class GroupCommitWriter:
    """One writer thread per process; callers block until their batch is committed."""

    def __init__(self, url: str, max_batch: int = MAX_BATCH, release_at: int = DEFAULT_RELEASE_AT):
        self.engine = _immediate_engine(url)
        self.release_at = release_at
        path = sqlite_path(url)
        self._lock_path = path.with_name(path.name + ".write-lock") if path else None
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, work: Callable[[Session], T]) -> T:
        if self._thread is None:
            raise RuntimeError("the writer is not running")
        job = _Job(work)
        self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return cast(T, job.value)

    async def write(self, work: Callable[[Session], T]) -> T:
        """No thread-pool thread waits here: the request awaits a future the writer resolves,
        so a busy process holds two threads (loop and writer), not one per waiting request."""
        if self._thread is None:
            raise RuntimeError("the writer is not running")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put(_Job(work, future=future))
        # A request cancelled while waiting cancels the future only; the write goes ahead.
        return cast(T, await future)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        self.engine.dispose()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
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
            for job in jobs:
                job.finish()


def _all_at_once(engine: Engine, jobs: list[_Job], release_at: int) -> bool:
    """The usual case: every job succeeds, and the batch needs no savepoints (two statements
    and most of the writer's Python per job). On any failure nothing is kept and the batch is
    run again, each job alone in a savepoint, so one bad job fails alone."""
    with Session(engine) as session:
        try:
            values = [job.work(session) for job in jobs]
            write_pending_rollup(session, release_at)
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
            pending = len(pending_rollup(session))
            savepoint = session.begin_nested()
            try:
                job.value = job.work(session)
                savepoint.commit()
            except Exception as exc:  # this job's problem (a key race, bad data)
                savepoint.rollback()
                del pending_rollup(session)[pending:]
                job.error = exc
        # Counts of the whole batch added up: one upsert per table, not one per job.
        write_pending_rollup(session, release_at)
        session.commit()


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

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_writer(url: str, engine: Engine, release_at: int = DEFAULT_RELEASE_AT) -> Writer:
    """`release_at`: the batch size aggregates publish responses in (MIN_GROUP_SIZE)."""
    if is_sqlite(url):
        return GroupCommitWriter(url, release_at=release_at)
    return DirectWriter(engine, release_at=release_at)
