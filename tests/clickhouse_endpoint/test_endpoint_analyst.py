"""The analyst through the endpoint, as clickhouse-connect logs in: password, read-only,
marts only."""

from __future__ import annotations

from datetime import date

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from endpoint_harness import Endpoint

from core.settings import analyst_password


def test_the_analyst_reads_marts_only(endpoint: Endpoint, client: Client) -> None:
    """The endpoint enforces the role chDB cannot create: password, read-only, marts only."""
    client.command("CREATE DATABASE IF NOT EXISTS marts")
    client.command("CREATE DATABASE IF NOT EXISTS raw")
    client.command(
        "CREATE OR REPLACE TABLE marts.sales (d Date, n UInt32) ENGINE = MergeTree ORDER BY d"
    )
    client.command("CREATE OR REPLACE TABLE raw.orders (id UInt32) ENGINE = MergeTree ORDER BY id")
    client.command("INSERT INTO marts.sales VALUES ('2026-11-01', 3), ('2026-11-02', 4)")
    client.command("INSERT INTO raw.orders VALUES (1), (2)")
    client.command("CREATE OR REPLACE VIEW marts.mv_sales AS SELECT * FROM marts.sales")
    analyst = clickhouse_connect.get_client(
        host="127.0.0.1", port=endpoint.port, username="analyst", password=analyst_password()
    )
    try:
        assert analyst.command("SELECT sum(n) FROM sales") == 7  # default database: marts
        assert analyst.command("SELECT sum(n) FROM mv_sales") == 7
        assert analyst.query("SELECT d, n FROM marts.sales AS raw ORDER BY d").row_count == 2
        # A FORMAT clause (and a column named format) read as on any server.
        text = analyst.raw_query("SELECT n AS format FROM sales ORDER BY d FORMAT CSV")
        assert text == b"3\n4\n"
        for statement, reason in {
            "SELECT count() FROM raw.orders": "raw.orders",
            "SELECT n FROM sales WHERE n IN (SELECT id FROM raw.orders)": "raw.orders",
            "SELECT raw.orders.id FROM marts.sales": "raw.orders",
            "SELECT * FROM merge('raw', '.*')": "table function merge",
            "SELECT * FROM url('http://127.0.0.1:9/', 'CSV', 'x String')": "table function url",
            "SELECT joinGet('raw.j', 'x', 1)": "function joinGet",
            "SELECT file('x')": "function file",
            "SELECT name FROM system.databases": "system.databases",
            "ALTER TABLE marts.sales DELETE WHERE 1": "readonly",
            "SET max_threads = 1": "readonly",
        }.items():
            with pytest.raises(DatabaseError) as refused:
                analyst.query(statement)
            assert reason in str(refused.value), (statement, str(refused.value)[:300])
        with pytest.raises(DatabaseError, match="raw.orders"):
            analyst.raw_query("SELECT count() FROM raw.orders FORMAT JSON")
        with pytest.raises(DatabaseError, match="readonly"):
            analyst.insert("marts.sales", [[date(2026, 11, 3), 1]], column_names=["d", "n"])
    finally:
        analyst.close()
    assert client.command("SELECT sum(n) FROM marts.sales") == 7
    with pytest.raises(DatabaseError, match="Authentication failed"):
        clickhouse_connect.get_client(
            host="127.0.0.1", port=endpoint.port, username="analyst", password="wrong"
        )
