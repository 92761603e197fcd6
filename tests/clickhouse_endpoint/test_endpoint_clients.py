"""clickhouse-connect against the endpoint: types round trip, command results, engine
errors, per-query settings, sessions, the default database, errors while streaming, two
processes at once."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, datetime
from decimal import Decimal

import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.summary import QuerySummary
from endpoint_harness import Endpoint, http_request, url

TYPED_COLUMNS = {
    "id": "UInt64",
    "maybe": "Nullable(Int32)",
    "price": "Decimal(10, 2)",
    "day": "Date",
    "at": "DateTime64(6, 'UTC')",
    "status": "LowCardinality(String)",
    "tags": "Array(Int32)",
}
TYPED_ROWS = [
    (
        1,
        None,
        Decimal("12.34"),
        date(2024, 2, 29),
        datetime(2024, 2, 29, 23, 59, 58, 123456),
        "shipped",
        [1, -2, 3],
    ),
    (
        2**64 - 1,
        -2147483648,
        Decimal("-99999999.99"),
        date(1970, 1, 1),
        datetime(1970, 1, 1, 0, 0, 0, 1),
        "",
        [],
    ),
    (
        42,
        7,
        Decimal("0.01"),
        date(2149, 6, 6),
        datetime(2262, 4, 11, 23, 47, 16, 854775),
        "delivered",
        [2147483647],
    ),
]


def create_typed_table(client: Client, name: str) -> None:
    columns = ", ".join(f"{column} {kind}" for column, kind in TYPED_COLUMNS.items())
    client.command(f"DROP TABLE IF EXISTS {name}")
    client.command(f"CREATE TABLE {name} ({columns}) ENGINE = MergeTree ORDER BY id")


@pytest.mark.parametrize("compress", ["lz4", "zstd", False])
def test_types_round_trip_through_insert_query_and_dataframes(
    endpoint: Endpoint, compress: str | bool
) -> None:
    client = endpoint.client(compress=compress)  # insert bodies: lz4 frames, zstd, plain
    create_typed_table(client, "typed")
    summary = client.insert("typed", TYPED_ROWS, column_names=list(TYPED_COLUMNS))
    assert summary.written_rows == 3

    result = client.query("SELECT * FROM typed ORDER BY id")
    assert result.column_names == tuple(TYPED_COLUMNS)
    assert [t.name for t in result.column_types] == list(TYPED_COLUMNS.values())
    assert result.result_rows == sorted(TYPED_ROWS)

    frame = client.query_df("SELECT * FROM typed ORDER BY id")
    create_typed_table(client, "typed_copy")
    assert client.insert_df("typed_copy", frame).written_rows == 3
    copied = client.query("SELECT * FROM typed_copy ORDER BY id").result_rows
    assert copied == sorted(TYPED_ROWS)
    assert client.command("SELECT count() FROM typed_copy WHERE maybe IS NULL") == 1
    assert client.command("SELECT toString(sum(price)) FROM typed_copy") == "-99999987.64"


def test_command_results_and_summaries(client: Client) -> None:
    assert client.command("SELECT 1") == 1
    assert client.command("SELECT 'a', 'b'") == ["a", "b"]
    assert client.command("EXISTS TABLE system.one") == 1
    client.command("DROP TABLE IF EXISTS cmd")
    # Statements without a result set answer with their summary, as on a real server.
    created = client.command("CREATE TABLE cmd (a UInt8) ENGINE = MergeTree ORDER BY a")
    assert isinstance(created, QuerySummary) and created.written_rows == 0
    inserted = client.command("INSERT INTO cmd SELECT number FROM numbers(5)")
    assert isinstance(inserted, QuerySummary) and inserted.written_rows == 5
    # dbt-clickhouse writes comments $dollar-quoted$: a `;` or `'` inside is just text.
    client.command("ALTER TABLE cmd MODIFY COMMENT $doc$it's; done$doc$")
    comment = client.query("SELECT comment FROM system.tables WHERE name = 'cmd'").result_rows
    assert comment == [("it's; done",)]
    assert (client.server_version or "").startswith("26.")


def test_engine_errors_keep_their_code(endpoint: Endpoint, client: Client) -> None:
    with pytest.raises(DatabaseError) as raised:
        client.query("SELECT * FROM no_such_table")
    assert raised.value.code == 60
    assert "Code: 60" in str(raised.value) and "UNKNOWN_TABLE" in str(raised.value)

    status, body, headers = http_request(endpoint.port, "POST", "/", b"SELEC 1")
    assert status == 500
    assert headers["X-ClickHouse-Exception-Code"] == "62"
    assert body.startswith(b"Code: 62. DB::Exception: Syntax error")
    assert b"(SYNTAX_ERROR) (version 26.9" in body


def test_a_query_setting_applies_to_that_query_only(endpoint: Endpoint, client: Client) -> None:
    limited = {"max_result_rows": 1, "result_overflow_mode": "throw"}
    with pytest.raises(DatabaseError) as raised:
        client.query("SELECT number FROM numbers(10)", settings=limited)
    assert raised.value.code == 396  # TOO_MANY_ROWS_OR_BYTES
    assert len(client.query("SELECT number FROM numbers(10)").result_rows) == 10
    assert client.command("SELECT getSetting('max_result_rows')") == 0

    # Over a session's own SET, and without any session.
    client.command("SET max_threads = 1")
    assert client.command("SELECT getSetting('max_threads')", settings={"max_threads": 3}) == 3
    assert client.command("SELECT getSetting('max_threads')") == 1
    query = "SELECT number FROM numbers(10)"
    status, _, _ = http_request(
        endpoint.port,
        "POST",
        url(max_result_rows="1", result_overflow_mode="throw"),
        query.encode(),
    )
    assert status == 500
    status, body, _ = http_request(endpoint.port, "POST", "/", query.encode())
    assert (status, body.count(b"\n")) == (200, 10)


def test_session_state_stays_in_its_session(endpoint: Endpoint) -> None:
    first, second = endpoint.client(), endpoint.client()
    first.command("SET max_threads = 1")
    first.command("CREATE DATABASE IF NOT EXISTS session_db")
    first.command("USE session_db")
    first.command("CREATE TEMPORARY TABLE scratch (a UInt8)")
    first.command("INSERT INTO scratch VALUES (1), (2)")
    assert first.command("SELECT getSetting('max_threads')") == 1
    assert first.command("SELECT currentDatabase()") == "session_db"
    assert first.command("SELECT count() FROM scratch") == 2
    assert second.command("SELECT getSetting('max_threads')") != 1
    assert second.command("SELECT currentDatabase()") == "default"
    with pytest.raises(DatabaseError):
        second.command("SELECT count() FROM scratch")

    # An idle session expires after its session_timeout.
    start = url(session_id="short", session_timeout="1", query="SET max_threads = 1")
    assert http_request(endpoint.port, "POST", start)[0] == 200
    check = url(session_id="short", session_check="1", session_timeout="1", query="SELECT 1")
    assert http_request(endpoint.port, "GET", check)[0] == 200
    time.sleep(2.5)
    status, _, headers = http_request(endpoint.port, "GET", check)
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (500, "372")  # SESSION_NOT_FOUND


def test_database_parameter_is_the_default_database(endpoint: Endpoint, client: Client) -> None:
    client.command("CREATE DATABASE IF NOT EXISTS raw")
    client.command(
        "CREATE TABLE IF NOT EXISTS raw.orders (id UInt32) ENGINE = MergeTree ORDER BY id"
    )
    in_raw = endpoint.client(database="raw")
    in_raw.insert("orders", [(1,), (2,)], column_names=["id"])
    assert in_raw.command("SELECT count() FROM orders") == 2
    assert client.command("SELECT currentDatabase()") == "default"
    assert client.command("SELECT count() FROM raw.orders") == 2


def test_an_error_while_streaming_reaches_the_client(client: Client) -> None:
    failing = "SELECT throwIf(number = 900000, 'boom') FROM numbers(1000000)"
    with (
        pytest.raises(Exception, match="Code: 395"),
        client.query_row_block_stream(failing) as stream,
    ):
        for _ in stream:
            pass
    with pytest.raises(DatabaseError, match="Code: 395"):
        client.query(failing)
    assert client.command("SELECT 1") == 1


# One OS process: insert batches, reading its own count back after each; prints the last.
# A fresh interpreter (not a fork of this one, whose threads and signal handlers a fork
# would inherit: a forked pool once hung here for the whole test timeout).
INSERT_AND_COUNT = """
import sys
import clickhouse_connect
port, worker, batches, rows = map(int, sys.argv[1:])
ch = clickhouse_connect.get_client(host="127.0.0.1", port=port)
for batch in range(batches):
    first = (worker * batches + batch) * rows
    data = [(worker, first + i) for i in range(rows)]
    ch.insert("concurrent", data, column_names=["worker", "n"])
    seen = ch.command(f"SELECT count() FROM concurrent WHERE worker = {worker}")
    assert seen == (batch + 1) * rows, (worker, batch, seen)
print(ch.command(f"SELECT count() FROM concurrent WHERE worker = {worker}"))
"""


def test_two_processes_insert_and_read_at_once(endpoint: Endpoint, client: Client) -> None:
    client.command("DROP TABLE IF EXISTS concurrent")
    client.command("CREATE TABLE concurrent (worker UInt8, n UInt64) ENGINE = MergeTree ORDER BY n")
    batches, rows = 20, 5000
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                INSERT_AND_COUNT,
                str(endpoint.port),
                str(w),
                str(batches),
                str(rows),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in (0, 1)
    ]
    counts = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        counts.append(int(out))
    assert counts == [batches * rows, batches * rows]
    assert client.command("SELECT count(), uniqExact(n) FROM concurrent") == [
        str(2 * batches * rows),
        str(2 * batches * rows),
    ]
