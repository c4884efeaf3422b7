"""HTTP speed of the real service next to a bare baseline, in one run (`make bench`).

Starts `bench/baseline_app.py` and the service (uvicorn, 2 workers, SQLite, migrated first, the
same command as `make run`), drives each with wrk (installed from Debian if missing) at 32
connections, and prints requests/s, p50, p99 and the ratio to the matching baseline figure:
pages and reads against the baseline's pre-serialised GET, submissions against its one-row
insert. Also cold start (spawn to first 200) and bytes stored per response. Rate limits are off
for the service (wrk is one client address; the limiter would answer 429 after 30), and on in
one more run of submissions, each from another address behind a trusted proxy.

Then the same on PostgreSQL: a throwaway cluster the bench starts and stops itself (durable:
fsync and synchronous_commit at their defaults, the same settings for both sides, `PG_SETTINGS`),
the baseline app on one database of it and the service on another, 2 workers each, both served
at once so that each figure of the service is measured right after the baseline figure it is
compared with; submissions against the baseline's one-row insert, the stored response and its
page against its GET.

Each row also says what the server spent over the measured seconds: CPU per request (CPU time
of the uvicorn processes over the requests wrk completed; on PostgreSQL, also its server's).
BENCH_ONLY=sqlite or BENCH_ONLY=postgres runs one part.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.server import UVICORN_OPTIONS  # noqa: E402
from quiz import load_content  # noqa: E402

CONNECTIONS = 32
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
BIN = Path(sys.executable).parent
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
ONLY = os.environ.get("BENCH_ONLY", "")
# The same for the baseline and the service (one server): room for both apps' pools, and memory
# a small production server would give it. Durability is left at its defaults (fsync=on,
# synchronous_commit=on, full_page_writes=on): a commit waits for the WAL on disk, and both
# apps answer only after their commit.
PG_SETTINGS = {
    "max_connections": "200",
    "shared_buffers": "256MB",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "15min",
}
CpuSample = Callable[[], tuple[float, float | None]]


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str = ""
    requests: int = 0
    # CPU seconds spent over the measured run: the app's processes, PostgreSQL's.
    cpu_app: float | None = None
    cpu_db: float | None = None

    def cpu_note(self) -> str:
        """CPU µs a request: the app's, then PostgreSQL's when there is one."""
        if self.cpu_app is None or not self.requests:
            return ""
        app = f"{self.cpu_app / self.requests * 1e6:,.0f}"
        if self.cpu_db is None:
            return app
        return f"{app} + {self.cpu_db / self.requests * 1e6:,.0f}"


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    app: str, port: int, env: dict[str, str], probe: str, log: Path
) -> tuple[subprocess.Popen[bytes], float]:
    """Spawn uvicorn with 2 workers; return it and the seconds from spawn to the first 200."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            # The service as `make run` serves it; the baseline as bare uvicorn.
            *(UVICORN_OPTIONS if app == "app.asgi:app" else ("--no-proxy-headers",)),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        # A file, not a pipe: the access log is written on every request, and a pipe nobody
        # reads fills up and stalls the server.
        stderr=log.open("w"),
    )
    url = f"http://127.0.0.1:{port}{probe}"
    while time.perf_counter() - began < 60:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return proc, time.perf_counter() - began
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            sys.exit(f"{app} exited: {log.read_text()[-2000:]}")
        time.sleep(0.01)
    sys.exit(f"{app} did not answer {probe} within 60 s")


def wrk(binary: str, url: str, script: Path | None = None, cpu: CpuSample | None = None) -> Run:
    command = [binary, "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(script)]
    # Two unrecorded seconds first: both workers warm, caches filled, as in a running service.
    warm = [binary, "-t2", f"-c{CONNECTIONS}", "-d2s", *command[5:]]
    subprocess.run([*warm, url], check=True, capture_output=True)
    before = cpu() if cpu else None
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    after = cpu() if cpu else None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * UNITS[unit]

    errors = ", ".join(re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out))
    run = Run(rps, latency("50"), latency("99"), errors, done)
    if before and after:
        run.cpu_app = after[0] - before[0]
        if before[1] is not None and after[1] is not None:
            run.cpu_db = after[1] - before[1]
    return run


TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """User + system CPU seconds of `root` and every process under it, from /proc."""
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    for stat in glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:  # gone meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(stat.split("/")[2])
        parents[pid] = int(fields[1])
        spent[pid] = (int(fields[11]) + int(fields[12])) / TICK
    total = 0.0
    for pid, seconds in spent.items():
        walk = pid
        while walk > 1 and walk != root:
            walk = parents.get(walk, 0)
        if walk == root:
            total += seconds
    return total


def post_script(folder: Path, body: str, many_clients: bool = False) -> Path:
    """POST `body`; with `many_clients`, each request from another address in 10.0.0.0/8 as a
    trusted proxy would say (X-Forwarded-For), so that per-address rate limits stay on and
    count as they would for real visitors."""
    path = folder / f"post-{abs(hash(body))}-{many_clients}.lua"
    script = (
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    if many_clients:
        script += (
            "request = function()\n"
            '  wrk.headers["X-Forwarded-For"] = "10." .. math.random(0, 255) .. "." ..\n'
            '    math.random(0, 255) .. "." .. math.random(1, 254)\n'
            "  return wrk.format(nil)\n"
            "end\n"
        )
    path.write_text(script)
    return path


def stored_bytes(db: Path) -> tuple[int, float, float]:
    """Responses stored, file bytes per response, and the JSON of one row (answers + result)."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = conn.execute("SELECT count(*) FROM responses").fetchone()[0]
        row_json = conn.execute(
            "SELECT avg(length(answers) + length(result)) FROM responses"
        ).fetchone()[0]
    return count, db.stat().st_size / max(count, 1), row_json


def the_submission() -> str:
    _, quiz = load_content()
    return json.dumps(
        {
            "quiz_version": quiz.version,
            "answers": [
                {"question_id": q.id, "option_id": q.options[1].id} for q in quiz.questions
            ],
            "context": {"state": "OH", "role": "state-board"},
        }
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait()


def paired(
    binary: str,
    folder: Path,
    submission: str,
    baseline: tuple[str, CpuSample],
    service: tuple[str, CpuSample],
    reads: list[tuple[str, str]],
) -> list[tuple[str, Run, Run]]:
    """Each read of the service right after a bare GET, and submissions right after a bare
    POST: rows of (name, the service's run, the baseline's run it is divided by). Both apps
    are served at once: the VM's speed drifts within a run."""
    (bare, bare_cpu), (root, cpu) = baseline, service
    rows = []
    for name, path in reads:
        bare_get = wrk(binary, f"{bare}/json", cpu=bare_cpu)
        rows.append((name, wrk(binary, root + path, cpu=cpu), bare_get))
    bare_post = wrk(
        binary,
        f"{bare}/items",
        post_script(folder, '{"name": "a condition", "value": 3}'),
        cpu=bare_cpu,
    )
    submitted = wrk(binary, f"{root}/api/v1/responses", post_script(folder, submission), cpu=cpu)
    rows.append(("`POST /api/v1/responses`", submitted, bare_post))
    return rows


COLD_ROUNDS = 9


def cold_starts(env: dict[str, str], folder: Path) -> tuple[list[float], list[float]]:
    """Spawn to first 200, the baseline and the service in turn, COLD_ROUNDS times each: one
    start swings by a third on this VM, so the ratio is of the medians."""
    base: list[float] = []
    service: list[float] = []
    for _ in range(COLD_ROUNDS):
        baseline, seconds = start(
            "bench.baseline_app:app",
            free_port(),
            {"BASELINE_DB": str(folder / "cold.db")},
            "/json",
            folder / "cold-base.log",
        )
        stop(baseline)
        base.append(seconds)
        app, seconds = start("app.asgi:app", free_port(), env, "/healthz", folder / "cold.log")
        stop(app)
        service.append(seconds)
    return base, service


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def spread(values: list[float]) -> str:
    return f"{median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


def sqlite_part(binary: str, submission: str) -> None:
    rows: list[tuple[str, Run, Run | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base_port, app_port = free_port(), free_port()
        baseline, _ = start(
            "bench.baseline_app:app",
            base_port,
            {"BASELINE_DB": str(folder / "base.db")},
            "/json",
            folder / "base.log",
        )
        db = folder / "quiz.db"
        env = {"DATABASE_URL": f"sqlite:///{db}", "RATE_LIMIT_PER_MINUTE": "0"}
        service = None
        # Both served at once, and each figure of the service measured right after the baseline
        # figure it is divided by: the VM's speed drifts within a run. The baseline is stopped
        # whatever fails (a migration that fails left it serving, unseen, after the bench).
        try:
            migrate(env)
            service, _ = start("app.asgi:app", app_port, env, "/healthz", folder / "app.log")
            base_cpu, cpu = app_cpu(baseline.pid), app_cpu(service.pid)
            root = f"http://127.0.0.1:{app_port}"
            created = create_one(root, submission)
            reads = [
                ("`GET /api/v1/quiz`", "/api/v1/quiz"),
                ("`GET /quiz` page", "/quiz"),
                ("`GET /results/{id}` page", f"/results/{created}"),
                ("`GET /api/v1/responses/{id}`", f"/api/v1/responses/{created}"),
            ]
            bare = f"http://127.0.0.1:{base_port}"
            rows += paired(binary, folder, submission, (bare, base_cpu), (root, cpu), reads)
        finally:
            if service is not None:
                stop(service)
            stop(baseline)
        count, per_response, row_json = stored_bytes(db)
        bare_post = rows[-1][2]  # the bare insert the submissions were divided by

        # The default rate limit (30 a minute per address) on, as in production: every
        # submission is also counted in the database, in the same write.
        limited = {**env, "RATE_LIMIT_PER_MINUTE": "30", "TRUSTED_PROXIES": "127.0.0.1"}
        service, _ = start("app.asgi:app", app_port, limited, "/healthz", folder / "app2.log")
        try:
            rows.append(
                (
                    "`POST /api/v1/responses`, rate limits on",
                    wrk(
                        binary,
                        f"http://127.0.0.1:{app_port}/api/v1/responses",
                        post_script(folder, submission, many_clients=True),
                        cpu=app_cpu(service.pid),
                    ),
                    bare_post,
                )
            )
        finally:
            stop(service)
        base_cold, app_cold = cold_starts(env, folder)

    print(f"wrk, {CONNECTIONS} connections, {SECONDS} s each; 2 uvicorn workers; SQLite\n")
    print(
        "| work | bare app req/s (p50 / p99 ms), measured just before | this service req/s "
        "(p50 / p99 ms) | ratio | CPU µs a request, bare / service |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, run, bare in rows:
        assert bare is not None
        note = f" ({run.errors})" if run.errors else ""
        print(
            f"| {name} | {figures(bare)} | {figures(run)}{note} | {run.rps / bare.rps:.2f}× "
            f"| {bare.cpu_note()} / {run.cpu_note()} |"
        )
    ratio = median(app_cold) / median(base_cold)
    print(
        f"| cold start, spawn to first 200 (median of {COLD_ROUNDS}) | {spread(base_cold)} "
        f"| {spread(app_cold)} | {ratio:.2f}× | |"
    )
    print(
        f"\nstored: {count:,} responses, {per_response:,.0f} bytes of database file per response "
        f"(rows, indexes, rollups, idempotency keys); answers + result JSON {row_json:,.0f} bytes a row"
    )


def figures(run: Run) -> str:
    return f"{run.rps:,.0f} ({run.p50_ms:.1f} / {run.p99_ms:.1f})"


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [str(BIN / "python"), "-m", "app.cli", "migrate"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


def create_one(root: str, submission: str) -> str:
    created = httpx.post(
        f"{root}/api/v1/responses",
        content=submission,
        headers={"Content-Type": "application/json"},
    )
    created.raise_for_status()
    return str(created.json()["id"])


def pg_bin(name: str) -> str:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        sys.exit(f"no {name}: install the server with `bash scripts/install-system-deps.sh`")
    return found[-1]


class Postgres:
    """A throwaway cluster on a free port, run as `postgres` when we are root (PostgreSQL refuses
    to run as root), with `PG_SETTINGS` and durable commits."""

    def __init__(self) -> None:
        # Its own folder, not inside another temporary one (mode 700, root's): `postgres` must
        # reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", self.user, "--", *args] if self.user else list(args)
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            sys.exit(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> Postgres:
        self._run(
            pg_bin("initdb"), "-D", str(self.data), "-U", "bench", "--auth=trust", "-E", "UTF8"
        )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        options += "".join(f" -c {name}={value}" for name, value in PG_SETTINGS.items())
        self._run(
            pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        return self

    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        try:
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            f"postgresql://bench@127.0.0.1:{self.port}/postgres", autocommit=True
        )

    def create_database(self, name: str) -> str:
        with self._connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://bench@127.0.0.1:{self.port}/{name}"

    def settings(self) -> str:
        """The server's own word for the settings that matter here, durability first."""
        names = ["fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", *PG_SETTINGS]
        with self._connect() as conn:
            shown = dict(
                conn.execute(
                    "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
                    (names,),
                ).fetchall()
            )
        return ", ".join(f"{name}={shown[name]}" for name in names)


def postgres_part(binary: str, submission: str) -> None:
    rows: list[tuple[str, Run, Run]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pg = Postgres().start()
        try:
            settings = pg.settings()
            base_url, app_url = pg.create_database("baseline"), pg.create_database("quiz")
            base_port, app_port = free_port(), free_port()
            base_env = {"BASELINE_DATABASE_URL": base_url}
            # The table made once before the workers start, or both would race to create it.
            subprocess.run(
                [str(BIN / "python"), "-c", "import bench.baseline_app"],
                cwd=ROOT,
                env={**os.environ, **base_env},
                check=True,
            )
            env = {"DATABASE_URL": app_url, "RATE_LIMIT_PER_MINUTE": "0"}
            migrate(env)
            # Both served at once (an idle one costs nothing), so that each figure is measured
            # right after the baseline figure it is compared with: the VM's speed drifts within
            # a run too.
            baseline, _ = start(
                "bench.baseline_app:app", base_port, base_env, "/json", folder / "base.log"
            )
            try:
                service, _ = start("app.asgi:app", app_port, env, "/healthz", folder / "app.log")
            except BaseException:
                stop(baseline)
                raise
            try:
                bare = f"http://127.0.0.1:{base_port}"
                bare_cpu = both_cpu(baseline.pid, pg.pid())
                root = f"http://127.0.0.1:{app_port}"
                cpu = both_cpu(service.pid, pg.pid())
                created = create_one(root, submission)
                reads = [
                    ("`GET /api/v1/responses/{id}`", f"/api/v1/responses/{created}"),
                    ("`GET /results/{id}` page", f"/results/{created}"),
                ]
                rows += paired(binary, folder, submission, (bare, bare_cpu), (root, cpu), reads)
            finally:
                stop(service)
                stop(baseline)
        finally:
            pg.stop()

    print(f"\nwrk, {CONNECTIONS} connections, {SECONDS} s each; 2 uvicorn workers each; PostgreSQL")
    print(f"({settings})\n")
    print(
        "| work | bare app req/s (p50 / p99 ms), measured just before | this service req/s "
        "(p50 / p99 ms) | ratio | CPU µs a request (app + PostgreSQL), bare / service |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, run, bare in rows:
        note = f" ({run.errors})" if run.errors else ""
        print(
            f"| {name} | {figures(bare)} | {figures(run)}{note} | {run.rps / bare.rps:.2f}× "
            f"| {bare.cpu_note()} / {run.cpu_note()} |"
        )


def both_cpu(app: int, postgres: int) -> CpuSample:
    return lambda: (tree_cpu(app), tree_cpu(postgres))


def app_cpu(app: int) -> CpuSample:
    return lambda: (tree_cpu(app), None)


def main() -> None:
    binary = ensure_wrk()
    submission = the_submission()
    if ONLY not in ("", "sqlite", "postgres"):
        sys.exit("BENCH_ONLY is sqlite or postgres")
    if ONLY != "postgres":
        sqlite_part(binary, submission)
    if ONLY != "sqlite":
        postgres_part(binary, submission)


if __name__ == "__main__":
    main()
