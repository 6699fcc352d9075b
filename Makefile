# hotzone: `make demo` and `make test` work on a fresh Debian machine with Python 3.11.
# Both are idempotent: the virtualenv is rebuilt only when pyproject.toml changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
APT_GET := $(shell command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo) apt-get

.PHONY: demo test bench lint typecheck contracts pytest services clean

# Debian's python3 has no venv module until python3-venv is installed.
$(VENV)/bin/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		echo "installing python3-venv (Debian)"; \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq python3-venv && \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }

# The third-party SAPIENT effector node of the tests is written with sapient-py, whose
# metadata asks for protobuf<6 while hotzone pins 7; its generated code runs on 7 (a newer
# runtime accepts older gencode), so it is installed without its dependencies.
PEERS_REQUIREMENTS := tests/runtime/effectors/peers/requirements.txt

# The tracker's IMM kernel is built once, ahead of time, by numba's compiler
# (src/hotzone/fusion/kernels.py): that needs a C compiler and Python's headers. Without
# them it still runs, compiled by numba in every process that needs it (slower to start).
$(STAMP): pyproject.toml $(PEERS_REQUIREMENTS) $(VENV)/bin/python
	@{ command -v cc >/dev/null 2>&1 && \
		[ -f "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; } || { \
		echo "installing gcc and python3-dev (Debian): the tracker's compiled kernel"; \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq gcc python3-dev; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps -r $(PEERS_REQUIREMENTS)
	touch $(STAMP)

# Web assets and the symbol validator come from npm (package-lock.json pins them).
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		echo "installing nodejs and npm (Debian)"; \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

demo: $(STAMP)
	$(VENV)/bin/hotzone demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy src

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

services:
	scripts/services.sh install

# The services run only for the tests and are stopped whatever the tests' outcome.
# Two workers (pytest-xdist): the long end-to-end tests mostly wait on live runs at a
# set speed, so the other worker runs the short files meanwhile; whole files per worker
# (a module's fixtures are made once), the longest first (`slow` marks, tests/conftest.py).
PYTEST_WORKERS ?= 2
pytest: $(STAMP) $(NODE_STAMP) services
	@set -e; eval "$$(scripts/services.sh up)"; trap 'scripts/services.sh down' EXIT; \
		$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder \
			--durations=25

test: lint typecheck contracts pytest

bench: $(BENCH_STAMP)
	$(PY) bench/tracking.py

clean:
	rm -rf $(VENV) runs
