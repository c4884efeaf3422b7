from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

import pytest

from quiz import Framework, Quiz, get_framework, get_quiz
from tests.support import LiveServer, PostgresCluster, live_server, missing

logging.getLogger("alembic").setLevel(logging.WARNING)
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def framework() -> Framework:
    return get_framework()


@pytest.fixture(scope="session")
def quiz() -> Quiz:
    return get_quiz()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    if not PostgresCluster.available():
        missing("PostgreSQL server (initdb, pg_ctl)")
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'quiz.db'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"quiz_test_{next(_db_counter)}")


@pytest.fixture
def server(database_url: str) -> Iterator[LiveServer]:
    """The real app served by uvicorn on a free port, on each kind of database."""
    with live_server(database_url) as srv:
        yield srv


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """One SQLite-backed server shared by the read-only tests of a module."""
    path = tmp_path_factory.mktemp("db") / "quiz.db"
    with live_server(f"sqlite:///{path}") as srv:
        yield srv


@pytest.fixture
def client(sqlite_server: LiveServer):  # type: ignore[no-untyped-def]
    with sqlite_server.client() as c:
        yield c


logging.getLogger("httpx").setLevel(logging.WARNING)
