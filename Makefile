# Two commands do everything: `make run` serves the app, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
HOST ?= 127.0.0.1
PORT ?= 8000
# The fast subset: no uvicorn server, no PostgreSQL, no browser.
FAST := not live and not postgres and not browser

.PHONY: run test check bench advice lint types format migrate system-deps lock fresh-test image-test scale-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs come from the lock files (exact versions, hashes checked); the project itself is
# installed on top without touching its dependencies. The run lock carries the build backend
# (`--all-build-deps` in `make lock`): a venv's bundled setuptools is too old to build it.
$(VENV)/.installed-run: requirements.lock pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: requirements-test.lock pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes -r requirements-test.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@ $(VENV)/.installed-run

# Bytecode for the project's own modules, compiled ahead: an environment may set
# PYTHONDONTWRITEBYTECODE (ours does) or install read-only, and then every worker start would
# compile every module from source again. Only changed files are compiled.
BYTECODE = $(BIN)/python -m compileall -q -j0 app quiz scoring bench

# How uvicorn serves the app, here and in the Dockerfile's CMD (app/server.py says why; a test
# checks both against app.server.UVICORN_OPTIONS): a bounded request head (431 past 100 fields
# or 16 KiB), five seconds for requests in flight at shutdown, no proxy headers.
UVICORN_OPTIONS := --http app.asgi:BoundedHttpTools --timeout-graceful-shutdown 5 --no-proxy-headers

run: $(VENV)/.installed-run
	$(BYTECODE)
	$(BIN)/python -m app.cli migrate
	HOST=$(HOST) PORT=$(PORT) $(BIN)/uvicorn app.asgi:app --host $(HOST) --port $(PORT) $(UVICORN_OPTIONS)

migrate: $(VENV)/.installed-run
	$(BIN)/python -m app.cli migrate

system-deps:
	bash scripts/install-system-deps.sh

test: $(VENV)/.installed-test system-deps
	$(BIN)/python -m pytest

# Lint, types and the in-process tests: the quick loop while working (about 15 s).
check: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "$(FAST)"

# Speed next to bare baselines in the same run: scoring, export, and HTTP with wrk (installed
# from Debian by bench/serve.py when missing) on SQLite and on a throwaway PostgreSQL cluster;
# docs/performance.md keeps the figures. BENCH_ONLY=postgres (or sqlite) runs only that part of
# the HTTP bench, without scoring and export, for iterating.
bench: $(VENV)/.installed-test
	$(BYTECODE)
	@if [ -z "$$BENCH_ONLY" ]; then set -x; $(BIN)/python bench/score.py && $(BIN)/python bench/export.py; fi
	$(BIN)/python bench/serve.py

# How the advice comes out for the fourteen calibration states (issue 21's figures; docs/scoring.md).
advice: $(VENV)/.installed-test
	$(BIN)/python bench/advice.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Refresh the lock files after changing dependencies in pyproject.toml (needs PyPI).
lock: $(VENV)/.installed-test
	PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --all-build-deps --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --extra test -c requirements.lock \
	  -o requirements-test.lock pyproject.toml

# Both README commands in a bare Debian 12 container (debootstrap minbase + python3 python3-venv
# make git), as root: `make test`, then `make run` on a clean clone with no .venv.
fresh-test:
	bash scripts/fresh-test.sh

# Build the production image from a debootstrap base, run it, check /healthz and a submission.
image-test:
	bash scripts/image-test.sh

# compose.yaml for real (as root): PostgreSQL, two app replicas and nginx, all built on the same
# debootstrap base and started with Debian's docker-compose; 30 s of submissions through nginx
# with one replica SIGKILLed and started again; fails on any acknowledged submission lost or
# any idempotency breach across replicas (scripts/scale-test.sh, scripts/scale_check.py).
scale-test:
	bash scripts/scale-test.sh

clean:
	rm -rf $(VENV) var test-artifacts node_modules .pytest_cache .ruff_cache .mypy_cache .hypothesis
