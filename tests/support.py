"""Test helpers: a real uvicorn server in a thread and a throwaway PostgreSQL cluster."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import make_engine, migrate
from app.main import create_app
from app.server import GRACEFUL_SHUTDOWN_SECONDS, UVICORN_OPTIONS, BoundedHttpTools

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> None:
    """Skip a test for a missing dependency locally; in CI that is a failure."""
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true (make test installs it)")
    pytest.skip(f"{what} is not available")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings: Settings):
        self.app = create_app(settings)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            # As `make run` (app.server.UVICORN_OPTIONS): TRUSTED_PROXIES is the only switch.
            proxy_headers=False,
            http=BoundedHttpTools,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)


def issued_token(
    client: httpx.Client | TestClient, path: str = "/quiz", name: str = "form_token"
) -> str:
    """The token a page hands out in its hidden field `name`, as a browser would send it back."""
    found = re.search(rf'name="{name}" value="([^"]+)"', client.get(path).text)
    assert found is not None, f"no {name} on {path}"
    return found.group(1)


def migrated(database_url: str) -> str:
    """Bring a database to the newest schema, as `make run` does before serving."""
    engine = make_engine(database_url)
    try:
        migrate(engine, database_url)
    finally:
        engine.dispose()
    return database_url


def app_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test app: rate limits off unless a test turns them on; TestClient's host
    is one we make links on."""
    values: dict[str, object] = {
        "rate_limit_per_minute": 0,
        "allowed_hosts": "localhost,127.0.0.1,testserver",
        **overrides,
    }
    return Settings(database_url=database_url, **values)  # type: ignore[arg-type]


class InProcessServer:
    """The app without a network: the same interface as `LiveServer`, driven by TestClient."""

    base_url = "http://testserver"

    def __init__(self, settings: Settings):
        self.app = create_app(settings)

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)


@contextmanager
def live_server(database_url: str, **overrides: object) -> Iterator[LiveServer]:
    settings = app_settings(migrated(database_url), **overrides)
    server = LiveServer(settings).start()
    try:
        yield server
    finally:
        server.stop()


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PostgresCluster:
    """A throwaway cluster on a free port under a temporary folder, removed afterwards."""

    def __init__(self) -> None:
        self.initdb = _pg_bin("initdb")
        self.pg_ctl = _pg_bin("pg_ctl")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="quiz-pg-"))
        self.data = self.dir / "data"
        self.user = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; Debian's package creates the postgres user.
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresCluster:
        assert self.initdb and self.pg_ctl
        self._run(
            self.initdb,
            "-D",
            str(self.data),
            "-U",
            "quiz",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://quiz@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"postgresql://quiz@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    @staticmethod
    def available() -> bool:
        return bool(_pg_bin("initdb") and _pg_bin("pg_ctl"))


class AppProcess:
    """The app as its own uvicorn process (as in production, with `make run`'s options), for
    what must hold across processes: shared rate limits, webhooks resumed after a restart.
    `stop()` does not wait out the drain on SIGTERM unless SHUTDOWN_DRAIN_SECONDS is given."""

    def __init__(self, database_url: str, workers: int = 1, **env: str):
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "RATE_LIMIT_PER_MINUTE": "0",
            "SHUTDOWN_DRAIN_SECONDS": "0",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AppProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *UVICORN_OPTIONS,
                "--log-level",
                "warning",
                "--workers",
                str(self.workers),
            ],
            cwd=Path(__file__).resolve().parents[1],
            env=self.env,
            start_new_session=True,  # its own process group: kill() reaches every worker
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("the app process exited")
            time.sleep(0.1)
        raise RuntimeError("the app process did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def kill(self) -> None:
        """SIGKILL to the server and all its workers at once: no shutdown, no flushing."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)


def register_partner(url: str, name: str, slug: str, origin: str) -> None:
    """A partner registered straight in the database at `url`, as `app.cli partner create`
    would: no webhook, the default limit a test needs."""
    from sqlmodel import Session

    from app.partners.registry import create_partner

    engine = make_engine(url)
    with Session(engine) as session:
        create_partner(
            session,
            name=name,
            slug=slug,
            origins=[origin],
            webhook_url=None,
            rate_limit_per_minute=60,
            allow_private_webhooks=False,
        )
    engine.dispose()
