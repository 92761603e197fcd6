"""Session fixtures: one embedded stack for the whole test run, in a throwaway state folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Environment, get_environment
from pipelines import stack as engine_stack
from pipelines.defs.dbt.connection import TARGET_DIR_VAR, dbt_target_root

ENGINE_VARS = ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL")

# `make test` runs the test files on parallel workers (pytest-xdist), each with a stack of
# its own (state_home below, in the worker's own temporary folder). dbt's parsed manifests
# and the artifacts of its runs get a folder per worker as well, set before anything reads
# it, so no worker reads a manifest or run results another is writing.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:
    os.environ[TARGET_DIR_VAR] = str(dbt_target_root() / f"pytest-{WORKER}")


@pytest.fixture(scope="session")
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh SHOPMARTS_HOME so tests never touch the developer's own stack."""
    home = tmp_path_factory.mktemp("shopmarts-home")
    previous = {name: os.environ.pop(name, None) for name in ENGINE_VARS}
    os.environ["SHOPMARTS_HOME"] = str(home)
    # The `shopmarts` commands the tests run read no developer's `.env` (its real servers).
    previous_env_file = os.environ.get("SHOPMARTS_ENV_FILE")
    os.environ["SHOPMARTS_ENV_FILE"] = os.devnull
    yield home
    os.environ.pop("SHOPMARTS_HOME", None)
    if previous_env_file is None:
        os.environ.pop("SHOPMARTS_ENV_FILE", None)
    else:
        os.environ["SHOPMARTS_ENV_FILE"] = previous_env_file
    for name, value in previous.items():
        if value is not None:
            os.environ[name] = value


@pytest.fixture(scope="session")
def postgres_environment(state_home: Path) -> Iterator[Environment]:
    """The embedded PostgreSQL cluster only (databases `shop` and `warehouse`)."""
    engine_stack.up(engines=("postgres",))
    yield get_environment(require_running=False)
    engine_stack.down()


@pytest.fixture(scope="session")
def environment(postgres_environment: Environment) -> Environment:
    """The whole embedded stack: PostgreSQL and the ClickHouse endpoint."""
    engine_stack.up(engines=("postgres", "clickhouse"))
    return get_environment()


@pytest.fixture(scope="session")
def shop_url(postgres_environment: Environment) -> str:
    return postgres_environment.shop_url


@pytest.fixture(scope="session")
def warehouse_url(postgres_environment: Environment) -> str:
    return postgres_environment.warehouse_url
