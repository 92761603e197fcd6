"""Short-lived engine clients shared by the gates, the publish and the refresh log."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import clickhouse_connect
from clickhouse_connect.driver.client import Client as ClickHouseClient


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
