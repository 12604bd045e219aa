# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Server flags for `make run`, e.g. make run ARGS="--port 9000 --data-dir /srv/speedmeet";
# SPEEDMEET_* environment variables work too (see README).
ARGS ?=

.PHONY: run test lint typecheck pytest bench install install-test browser postgres clean

# Reinstall only when the project metadata changes.
$(VENV)/.stamp-install: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-install
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.stamp-install
install-test: $(VENV)/.stamp-test

run: install
	$(VENV)/bin/speedmeet serve $(ARGS)

# Debian's chromium drives the end-to-end browser tests (Playwright never downloads a browser here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-dejavu-core; \
		else \
			echo "chromium missing: run 'sudo apt-get install chromium' (browser tests will be skipped)"; \
		fi; \
	fi

# A PostgreSQL server for the store tests, which run on PostgreSQL as well as SQLite (they start their
# own throwaway cluster; nothing is configured system-wide).
postgres:
	@if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; \
		else \
			echo "PostgreSQL missing: run 'sudo apt-get install postgresql' (its store tests will be skipped)"; \
		fi; \
	fi

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-test
	$(VENV)/bin/mypy

pytest: install-test browser postgres
	$(VENV)/bin/pytest

test: lint typecheck pytest

bench: install-test
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
