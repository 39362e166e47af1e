# trialdesk — two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on every core (pytest-xdist); a test module stays on one worker because some
# modules share server processes, PostgreSQL roles or scratch databases between their tests.
PYTEST_ARGS ?= -n auto --dist loadfile

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/trialdesk init --url http://$(HOST):$(PORT)
	@if [ "$(DEMO)" = "1" ]; then $(BIN)/trialdesk demo load --participants 80 --all || echo "(demo not loaded: see the message above)"; fi
	$(BIN)/trialdesk serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy trialdesk/core

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	@for b in bench/*.py; do echo "# $$b" >&2; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
