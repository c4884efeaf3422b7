from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from quiz import Framework, Quiz, load_content
from scoring import Scorer
from tests.support import (
    InProcessServer,
    LiveServer,
    PostgresCluster,
    app_settings,
    live_server,
    migrated,
    missing,
)

logging.getLogger("alembic").setLevel(logging.WARNING)
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpx2").setLevel(logging.WARNING)
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def content() -> tuple[Framework, Quiz]:
    return load_content()


@pytest.fixture(scope="session")
def framework(content: tuple[Framework, Quiz]) -> Framework:
    return content[0]


@pytest.fixture(scope="session")
def quiz(content: tuple[Framework, Quiz]) -> Quiz:
    return content[1]


@pytest.fixture(scope="session")
def scorer(framework: Framework, quiz: Quiz) -> Scorer:
    return Scorer(framework, quiz)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    if not PostgresCluster.available():
        missing("PostgreSQL server (initdb, pg_ctl)")
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'quiz.db'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"quiz_test_{next(_db_counter)}")


@pytest.fixture
def live(database_url: str) -> Iterator[LiveServer]:
    """The real app served by uvicorn on a free port, on each kind of database: for what needs
    a real server (concurrent requests, races)."""
    with live_server(database_url) as srv:
        yield srv


@pytest.fixture
def server(database_url: str) -> Iterator[LiveServer | InProcessServer]:
    """The app on each kind of database: in-process on SQLite (fast), served by uvicorn on
    PostgreSQL (the way several app processes share one database)."""
    if database_url.startswith("sqlite"):
        yield InProcessServer(app_settings(migrated(database_url)))
        return
    with live_server(database_url) as srv:
        yield srv


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`live`: needs a uvicorn server; `make check` leaves these (and postgres, browser) out."""
    for item in items:
        if "live" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="module")
def app_client(tmp_path_factory) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app in-process on a fresh SQLite file, shared by the tests of a module."""
    url = migrated(f"sqlite:///{tmp_path_factory.mktemp('db') / 'quiz.db'}")
    with TestClient(create_app(app_settings(url)), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    return app_client
