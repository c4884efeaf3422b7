# Two commands do everything: `make run` serves the app, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench lint format migrate system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/python -m app.cli migrate
	HOST=$(HOST) PORT=$(PORT) $(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --proxy-headers

migrate: $(VENV)/.installed-run
	$(BIN)/python -m app.cli migrate

system-deps:
	bash scripts/install-system-deps.sh

test: $(VENV)/.installed-test system-deps
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/python bench/score.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var test-artifacts node_modules .pytest_cache .ruff_cache .hypothesis
