"""Project rules that can silently erode: the layering and the lint."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# quiz/ and scoring/ are pure: no web framework, no database, and nothing imports app/.
FORBIDDEN = {
    "quiz": {"fastapi", "starlette", "sqlmodel", "sqlalchemy", "app", "scoring"},
    "scoring": {"fastapi", "starlette", "sqlmodel", "sqlalchemy", "app"},
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_pure_layers_import_nothing_above_them(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        bad = imported_roots(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_nothing_outside_app_and_tests_imports_app() -> None:
    for folder in ("quiz", "scoring", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "app" not in imported_roots(path), path


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff_is_clean(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
