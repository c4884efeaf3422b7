"""Project rules that can silently erode: the layering, no import circles, lint and types."""

from __future__ import annotations

import ast
import gc
import os
import re
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
    # bench/export.py measures app's storage, so it may; the scoring benchmark stays pure.
    paths = [
        *(ROOT / "quiz").rglob("*.py"),
        *(ROOT / "scoring").rglob("*.py"),
        ROOT / "bench" / "score.py",
    ]
    for path in paths:
        assert "app" not in imported_roots(path), path


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff_is_clean(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


PACKAGES = ("app", "quiz", "scoring")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> project modules it imports, counting imports inside functions too."""
    paths = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "versions" not in p.parts]
    modules = {module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets |= {f"{node.module}.{alias.name}" for alias in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


# Inside app/: what keeps and computes imports neither face (api/, web/) nor the HTTP layer;
# the HTTP layer imports no face.
APP_BELOW = {
    "responses": ("app.api", "app.web", "app.http"),
    "partners": ("app.api", "app.web", "app.http"),
    "analytics": ("app.api", "app.web", "app.http"),
    "teams": ("app.api", "app.web", "app.http"),
    "http": ("app.api", "app.web"),
}


@pytest.mark.parametrize("package", sorted(APP_BELOW))
def test_app_packages_import_nothing_above_them(package: str) -> None:
    for path in (ROOT / "app" / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            for name in names:
                above = [p for p in APP_BELOW[package] if name == p or name.startswith(p + ".")]
                assert not above, f"{path.relative_to(ROOT)} imports {name}"


def test_no_import_circles() -> None:
    graph = import_graph()
    assert "app.web.templating" in graph["app.errors"]  # the graph sees real edges
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_types_are_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _collector_after(tmp_path: Path, statement: str) -> list[str]:
    """Whether the collector runs, whether anything is frozen and the young threshold, in a
    fresh interpreter after `statement`."""
    probe = (
        f"import gc; {statement}; "
        "print(gc.isenabled(), gc.get_freeze_count() > 50_000, gc.get_threshold()[0])"
    )
    return subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"},
    ).stdout.split()


def test_the_served_app_leaves_the_collector_running_with_start_up_frozen(tmp_path: Path) -> None:
    """app/asgi.py pauses the garbage collector while the app is built: it must run again once
    the module is imported, with what start-up made frozen out of its walks."""
    assert _collector_after(tmp_path, "import app.asgi") == ["True", "True", "10000"]


def test_importing_the_app_factory_leaves_the_collector_as_python_set_it(tmp_path: Path) -> None:
    """The tests and the CLI import app.main and build apps with it: serving's tuning
    (app/asgi.py) must not reach them."""
    default = str(gc.get_threshold()[0])
    assert _collector_after(tmp_path, "pass") == ["True", "False", default]
    built = "import app.main; app.main.create_app()"
    assert _collector_after(tmp_path, built) == ["True", "False", default]
    assert _collector_after(tmp_path, "import app.cli") == ["True", "False", default]


def locked_versions(lock: Path) -> dict[str, str]:
    """`name==version` pins of a pip-compile lock file, names normalised."""
    pins = {}
    for line in lock.read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(" ")[0].split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-test.lock"])
def test_each_lock_carries_what_installing_the_project_needs(lock: str) -> None:
    """`make run` installs only requirements.lock, then the project with no build isolation:
    the build backend must be in the lock, at a version the project asks for (a venv's bundled
    setuptools 65 cannot build it: "invalid command 'bdist_wheel'")."""
    import tomllib

    from packaging.requirements import Requirement

    pins = locked_versions(ROOT / lock)
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for spec in map(Requirement, build):
        name = spec.name.lower()
        assert name in pins, f"{lock} lacks {spec} (pyproject.toml build-system.requires)"
        assert spec.specifier.contains(pins[name]), f"{lock} pins {name}=={pins[name]}, not {spec}"


def test_every_command_a_test_looks_for_is_installed_by_the_system_deps_script() -> None:
    """A test that needs a program (`shutil.which("soffice")`) fails under CI when it is
    missing, and CI runs on a new machine: scripts/install-system-deps.sh must install each
    one (a merge once dropped LibreOffice from it, unseen on a machine that still had it)."""
    script = (ROOT / "scripts" / "install-system-deps.sh").read_text()
    looked_for = {
        name
        for path in (ROOT / "tests").rglob("*.py")
        for name in re.findall(r'shutil\.which\("([\w.-]+)"\)', path.read_text())
    }
    assert looked_for >= {"soffice", "pdftoppm", "openssl"}
    for name in sorted(looked_for):
        assert f"command -v {name} " in script, f"{name}: not installed by the script"
