# The two commands of the README. Both create .venv with the Python found here (3.11+).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "PSV needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

## demo: set up, then talk to PSV in the terminal on the embedded SQLite default (psv.db here)
demo: $(STAMP)
	$(BIN)/psv chat

## test: set up with test dependencies, then lint, type-check and run every test
test: $(TEST_STAMP) lint typecheck
	$(BIN)/pytest -n 4

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) psv.db psv.db-wal psv.db-shm .pytest_cache .mypy_cache .ruff_cache
