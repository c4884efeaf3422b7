"""The OpenAPI document against the live server: schemathesis generates requests from it
(valid and invalid, every operation, stateful sequences) and runs all its checks on each
answer, on SQLite and PostgreSQL. A bounded number of examples keeps each run under a minute."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import LiveServer, live_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 25


@pytest.mark.live  # a uvicorn server and a schemathesis process: not in `make check`
def test_api_matches_its_openapi_document(database_url: str, tmp_path: Path) -> None:
    with live_server(database_url, export_token="contract-test-export-token") as server:
        run = _schemathesis(server, tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    # It really ran: every operation tested, hundreds of cases.
    selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    assert selected is not None and selected.group(1) == selected.group(2), run.stdout[-3000:]
    assert f"Tested: {selected.group(1)}" in run.stdout, run.stdout[-3000:]
    generated = re.search(r"(\d+) generated", run.stdout)
    assert generated is not None and int(generated.group(1)) >= 300, run.stdout[-3000:]


def _schemathesis(server: LiveServer, workdir: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "20261123",
        "--generation-deterministic",
        "--no-color",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.contract_hooks", "PYTHONPATH": str(ROOT)}
    # Run in a temporary folder: schemathesis keeps a cache (.schemathesis/) where it runs.
    return subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
