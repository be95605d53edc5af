# DMT: one command to run (`make run`), one to test (`make test`). `make help` lists every target.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed

COMPONENTS := shared services/auth services/masterdata services/records gateway tools
PYPROJECTS := $(addsuffix /pyproject.toml,$(COMPONENTS))

.DEFAULT_GOAL := help
.PHONY: help install run migrate db-copy import-predecessor test test-fast test-e2e test-browser bench bench-smoke lint format typecheck compose-config clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): $(PYPROJECTS) requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "DMT needs Python 3.11 or newer (PYTHON=$(PYTHON))")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e "shared[postgres,mysql,oracle]" -e services/auth -e services/masterdata -e services/records -e gateway -e tools -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install every component (done by run and test too)

run: $(STAMP) ## Start the three services and the gateway on SQLite (migrates, loads demo data); Ctrl-C stops all
	$(PY) scripts/run.py

migrate: $(STAMP) ## Apply every service's migrations to its database (*_DATABASE_URL or the SQLite default)
	$(PY) -m dmt_auth migrate
	$(PY) -m dmt_masterdata migrate
	$(PY) -m dmt_records migrate

db-copy: $(STAMP) ## Copy one service's data to another database, verified (SERVICE= SOURCE= TARGET= [ARGS=--replace])
	@test -n "$(SERVICE)" -a -n "$(SOURCE)" -a -n "$(TARGET)" || { echo "usage: make db-copy SERVICE=auth|masterdata|records SOURCE=url TARGET=url [ARGS='--replace --yes']" >&2; exit 2; }
	$(PY) -m dmt_$(SERVICE) copy-db --source '$(SOURCE)' --target '$(TARGET)' $(ARGS)

import-predecessor: $(STAMP) ## Import the predecessor's database: make import-predecessor SOURCE=sqlite:///path/dmt.db [REPORT=file]
	@test -n "$(SOURCE)" || { echo "usage: make import-predecessor SOURCE=sqlite:///path/to/dmt.db [REPORT=import-report.txt]" >&2; exit 2; }
	$(PY) -m dmt_tools import-predecessor --source '$(SOURCE)' $(if $(REPORT),--report '$(REPORT)')

test: $(STAMP) ## Run the whole test suite (PostgreSQL/MariaDB too when DMT_TEST_POSTGRES_URL/DMT_TEST_MARIADB_URL are set)
	$(BIN)/pytest

test-fast: $(STAMP) ## Run the suite without the end-to-end and browser tests that start real processes
	$(BIN)/pytest -m "not e2e and not browser"

test-e2e: $(STAMP) ## Run only the end-to-end tests (real processes on free ports)
	$(BIN)/pytest -m e2e

test-browser: $(STAMP) ## Run only the browser tests (Chromium against the running system; screenshots in test-artifacts/)
	$(BIN)/pytest -m browser

bench: $(STAMP) ## Load records and measure the system with wrk; report in bench/results/ (BENCH_ARGS="--records 1000000 --database postgres")
	$(PY) bench/run.py $(BENCH_ARGS)

bench-smoke: $(STAMP) ## A short benchmark (200 records, 2 s per scenario) that fails on any error
	$(PY) bench/run.py --smoke $(BENCH_ARGS)

lint: $(STAMP) ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/src services/auth/src services/masterdata/src services/records/src gateway/src tools/src

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

compose-config: ## Validate compose.yaml with docker compose (needs the docker CLI with compose)
	docker compose config --quiet

clean: ## Remove the virtual environment, caches and the local SQLite data
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
