"""Database engine, sessions and migrations (SQLite by default, PostgreSQL by DATABASE_URL)."""

from __future__ import annotations

import fcntl
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlmodel import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def json_compact(value: Any) -> str:
    """JSON columns without the spaces `json.dumps` puts after separators by default."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def dialect_insert(dialect: str) -> Any:
    """The dialect's INSERT, which has ON CONFLICT. Each dialect's module is imported when first
    asked for: PostgreSQL's loads about 16 ms of code a SQLite process never needs."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


# Every SQLite connection, the app's and the writer's (app/responses/writer.py): WAL, waiting for the lock
# instead of failing, foreign keys enforced, and a sync at checkpoints rather than each commit.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "foreign_keys=ON",
    "synchronous=NORMAL",
)
SQLITE_CONNECT_ARGS = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}


def set_sqlite_pragmas(dbapi_connection: sqlite3.Connection) -> None:
    for pragma in SQLITE_PRAGMAS:
        dbapi_connection.execute(f"PRAGMA {pragma}")


def sqlite_foreign_keys(op: Any, on: bool) -> None:
    """For migrations that rebuild a table other tables point at (SQLite's batch mode copies
    it, drops the original and renames the copy): dropping the original would trip their foreign
    keys. Inside a transaction the check waits for the commit, when the copy holds every row
    again; outside one (the driver opens transactions only for data changes) keys are off
    meanwhile. Nothing on PostgreSQL, which alters tables in place."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    if not on:
        op.execute("PRAGMA defer_foreign_keys = ON")


# Errors never carry a statement's parameters (addresses, ids, answers) into their message,
# which is what gets logged when the database fails (docs/privacy.md).
HIDE_PARAMETERS = {"hide_parameters": True}


def error_summary(exc: BaseException) -> str:
    """What a log line may say of an error: its class and, for the database's, the driver's
    error class, SQLSTATE and first line, which name the database's trouble ("no such table",
    "connection refused"), never a statement or its values. A PostgreSQL error's detail (a
    duplicate key's value) is left out, as is any other exception's message."""
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return type(exc).__name__
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    primary = getattr(getattr(orig, "diag", None), "message_primary", None)
    first = primary or next(iter(str(orig).splitlines()), "")
    code = f" [{sqlstate}]" if sqlstate else ""
    return f"{type(exc).__name__} ({type(orig).__module__}.{type(orig).__name__}{code}): {first}"


def make_engine(url: str) -> Engine:
    """One engine per process. SQLite gets WAL and a busy timeout so concurrent writers wait
    for each other instead of failing; PostgreSQL gets a pool sized for a threaded server."""
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args=SQLITE_CONNECT_ARGS,
            pool_size=20,
            max_overflow=20,
            json_serializer=json_compact,
            **HIDE_PARAMETERS,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            set_sqlite_pragmas(dbapi_connection)

        return engine
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        json_serializer=json_compact,
        **HIDE_PARAMETERS,
    )


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic only when migrating: start-up stays fast

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # `%` would be read as interpolation by configparser (passwords may contain it).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def _migration_lock(engine: Engine, url: str) -> Iterator[None]:
    """Several app processes may start at once; only one migrates at a time."""
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is None:
            yield
            return
        with open(path.with_name(path.name + ".migrate-lock"), "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(724113001)"))
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(724113001)"))
            conn.commit()


def migrate(engine: Engine, url: str) -> None:
    """Bring the schema up to the newest Alembic revision."""
    from alembic import command

    with _migration_lock(engine, url), engine.begin() as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


class SchemaNotReady(RuntimeError):
    """The database is not at the newest migration; the message says what to run."""


def head_revision() -> str:
    """The newest migration: revisions are numbered in order, one file each ("0004_...py"),
    so the highest number is the head (tests/api/test_migrations.py checks this against
    Alembic's own reading). Read without importing Alembic, to keep start-up fast."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))


def check_schema(engine: Engine) -> None:
    """Refuse to serve on a schema that `python -m app.cli migrate` has not brought up to date."""
    head = head_revision()
    with engine.connect() as conn:
        try:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError):  # no table: never migrated
            current = None
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        raise SchemaNotReady(
            f"the database at {where} is at migration {current or 'none'}, the app needs {head}: "
            "run `python -m app.cli migrate` (make run does) before starting the app"
        )
