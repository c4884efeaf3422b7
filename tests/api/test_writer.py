"""The group-commit writer on SQLite: a batch commits at once, a bad job fails alone, and callers
on the event loop await their write without holding a thread."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.responses.writer import GroupCommitWriter, _Job
from tests.support import migrated


@pytest.fixture
def writer(tmp_path: Path) -> GroupCommitWriter:
    url = migrated(f"sqlite:///{tmp_path / 'quiz.db'}")
    with Session(GroupCommitWriter(url).engine) as session:
        session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
        session.commit()
    return GroupCommitWriter(url)


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
    assert "NOT NULL" in str(jobs[1].error) and "UNIQUE" in str(jobs[3].error)
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
    assert "UNIQUE" in str(answers[40])
    assert stored(writer) == list(range(1, 41))
