"""Fixtures of the endpoint's tests: one endpoint process per test module, stopped cleanly
at its end (the stop is checked: SIGTERM, exit code 0)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client
from endpoint_harness import Endpoint, start_endpoint, stop_endpoint


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """A fresh endpoint for the module, on its own data folder."""
    served = start_endpoint(tmp_path_factory.mktemp("chdb") / "data")
    yield served
    # SIGTERM is a clean stop: chDB closed, exit code 0.
    assert stop_endpoint(served) == 0


@pytest.fixture
def client(endpoint: Endpoint) -> Iterator[Client]:
    """A clickhouse-connect client of the module's endpoint (its own session)."""
    ch = endpoint.client()
    yield ch
    ch.close()
