"""HTTP speed of the real service next to a bare baseline, in one run (`make bench`).

Starts `bench/baseline_app.py` and the service (uvicorn, 2 workers, SQLite, migrated first, the
same command as `make run`), drives each with wrk (installed from Debian if missing) at 32
connections, and prints requests/s, p50, p99 and the ratio to the matching baseline figure:
pages and reads against the baseline's pre-serialised GET, submissions against its one-row
insert. Also cold start (spawn to first 200) and bytes stored per response. Rate limits are off
for the service (wrk is one client address; the limiter would answer 429 after 30), and on in
one more run of submissions, each from another address behind a trusted proxy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.server import UVICORN_OPTIONS  # noqa: E402
from quiz import load_content  # noqa: E402

CONNECTIONS = 32
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
BIN = Path(sys.executable).parent
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str = ""


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


def wrk(binary: str, url: str, script: Path | None = None) -> Run:
    command = [binary, "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(script)]
    # Two unrecorded seconds first: both workers warm, caches filled, as in a running service.
    warm = [binary, "-t2", f"-c{CONNECTIONS}", "-d2s", *command[5:]]
    subprocess.run([*warm, url], check=True, capture_output=True)
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * UNITS[unit]

    errors = ", ".join(re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out))
    return Run(rps, latency("50"), latency("99"), errors)


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


def main() -> None:
    binary = ensure_wrk()
    _, quiz = load_content()
    submission = json.dumps(
        {
            "quiz_version": quiz.version,
            "answers": [
                {"question_id": q.id, "option_id": q.options[1].id} for q in quiz.questions
            ],
            "context": {"state": "OH", "role": "state-board"},
        }
    )
    rows: list[tuple[str, Run, Run | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base_port, app_port = free_port(), free_port()
        baseline, base_cold = start(
            "bench.baseline_app:app",
            base_port,
            {"BASELINE_DB": str(folder / "base.db")},
            "/json",
            folder / "base.log",
        )
        try:
            bare_get = wrk(binary, f"http://127.0.0.1:{base_port}/json")
            bare_post = wrk(
                binary,
                f"http://127.0.0.1:{base_port}/items",
                post_script(folder, '{"name": "a condition", "value": 3}'),
            )
        finally:
            baseline.terminate()
            baseline.wait()

        db = folder / "quiz.db"
        env = {"DATABASE_URL": f"sqlite:///{db}", "RATE_LIMIT_PER_MINUTE": "0"}
        subprocess.run(
            [str(BIN / "python"), "-m", "app.cli", "migrate"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        service, app_cold = start("app.asgi:app", app_port, env, "/healthz", folder / "app.log")
        try:
            root = f"http://127.0.0.1:{app_port}"
            created = httpx.post(
                f"{root}/api/v1/responses",
                content=submission,
                headers={"Content-Type": "application/json"},
            ).json()
            rows.append(("`GET /api/v1/quiz`", wrk(binary, f"{root}/api/v1/quiz"), bare_get))
            rows.append(("`GET /quiz` page", wrk(binary, f"{root}/quiz"), bare_get))
            rows.append(
                (
                    "`GET /results/{id}` page",
                    wrk(binary, f"{root}/results/{created['id']}"),
                    bare_get,
                )
            )
            rows.append(
                (
                    "`GET /api/v1/responses/{id}`",
                    wrk(binary, f"{root}/api/v1/responses/{created['id']}"),
                    bare_get,
                )
            )
            rows.append(
                (
                    "`POST /api/v1/responses`",
                    wrk(binary, f"{root}/api/v1/responses", post_script(folder, submission)),
                    bare_post,
                )
            )
        finally:
            service.terminate()
            service.wait()
        count, per_response, row_json = stored_bytes(db)

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
                    ),
                    bare_post,
                )
            )
        finally:
            service.terminate()
            service.wait()

    print(f"wrk, {CONNECTIONS} connections, {SECONDS} s each; 2 uvicorn workers; SQLite\n")
    print("| work | bare app req/s (p50 / p99 ms) | this service req/s (p50 / p99 ms) | ratio |")
    print("| --- | --- | --- | --- |")
    print(
        f"| baseline GET 6 KB JSON | {bare_get.rps:,.0f} ({bare_get.p50_ms:.1f} / {bare_get.p99_ms:.1f}) | | |"
    )
    print(
        f"| baseline POST one-row insert | {bare_post.rps:,.0f} ({bare_post.p50_ms:.1f} / {bare_post.p99_ms:.1f}) | | |"
    )
    for name, run, bare in rows:
        assert bare is not None
        note = f" ({run.errors})" if run.errors else ""
        print(
            f"| {name} | | {run.rps:,.0f} ({run.p50_ms:.1f} / {run.p99_ms:.1f}){note} | {run.rps / bare.rps:.2f}× |"
        )
    print(
        f"| cold start, spawn to first 200 | {base_cold:.2f} s | {app_cold:.2f} s | {app_cold / base_cold:.2f}× |"
    )
    print(
        f"\nstored: {count:,} responses, {per_response:,.0f} bytes of database file per response "
        f"(rows, indexes, rollups, idempotency keys); answers + result JSON {row_json:,.0f} bytes a row"
    )


if __name__ == "__main__":
    main()
