# Every target sets itself up: a virtual environment built from a hashed lock file.
# requirements.lock holds the runtime only (what production and `make demo` install);
# requirements-dev.lock adds the test, lint and audit tools at the same runtime versions.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One stamp per lock, so `make test` after `make demo` still adds the dev tools.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# `make lock` only: uv lives in a throwaway venv, never in the project's.
UV_VENV ?= /tmp/tthc-report-uv
UV := $(UV_VENV)/bin/uv
UV_VERSION := 0.13.9
# e.g. `make lock LOCK_ARGS="--upgrade-package tenacity"`; by default versions stay as locked.
LOCK_ARGS ?=

.PHONY: setup demo test lint unit bench audit lock clean

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# pip compiles the libraries it installs, not an editable project: compiled here, so that a
# machine with PYTHONDONTWRITEBYTECODE set does not compile them at every command's start.
$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m compileall -q flows tasks
	touch $@

$(DEV_STAMP): requirements-dev.lock requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m compileall -q flows tasks
	touch $@

demo: $(STAMP)
	$(BIN)/tthc-report demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

unit: $(DEV_STAMP)
	$(BIN)/pytest

test: lint unit

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

# The dev lock pins every runtime package at its production version (it is compiled with
# -c requirements.lock), so auditing it audits both.
audit: $(DEV_STAMP)
	$(BIN)/pip-audit --strict --disable-pip -r requirements-dev.lock

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)

# Both locks from pyproject.toml. uv prefers the versions already in each output file, so
# only what pyproject.toml changed moves. The dev lock is constrained by the runtime lock:
# the tests run against exactly what production installs.
lock: | $(UV)
	$(UV) pip compile --quiet --python-version 3.11 --generate-hashes $(LOCK_ARGS) \
		pyproject.toml -o requirements.lock
	$(UV) pip compile --quiet --python-version 3.11 --generate-hashes --extra dev $(LOCK_ARGS) \
		-c requirements.lock pyproject.toml -o requirements-dev.lock
	{ printf '%s\n' \
		'# Runtime only: what production and `make demo` install (tests and tools: requirements-dev.lock).' \
		'# Regenerate both locks with `make lock`, which runs the uv command below (uv $(UV_VERSION)).'; \
		cat requirements.lock; } > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock
	{ printf '%s\n' \
		'# Runtime + dev extra, every runtime package at its requirements.lock version: what' \
		'# `make test`, `lint`, `unit`, `bench` and `audit` install. Regenerate both locks with' \
		'# `make lock`: it compiles requirements.lock (see its header), then runs the uv command' \
		'# below (uv $(UV_VERSION)).'; \
		cat requirements-dev.lock; } > requirements-dev.lock.tmp && mv requirements-dev.lock.tmp requirements-dev.lock

clean:
	rm -rf $(VENV) out .import_linter_cache
