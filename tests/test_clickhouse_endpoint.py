"""The embedded ClickHouse endpoint, driven as a real server: a subprocess on a free port,
spoken to with clickhouse-connect and plain HTTP, killed and restarted for real."""

from __future__ import annotations

import gzip
import http.client
import json
import multiprocessing
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import clickhouse_connect
import numpy as np
import pandas as pd
import psutil
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.summary import QuerySummary

from pipelines.engines.analyst import analyst_password
from pipelines.engines.clickhouse_server import NeedMore, analyse_statement, scan_insert_head

REPO = Path(__file__).resolve().parents[1]
OWNERSHIP_EXIT = 3
PORT_IN_USE_EXIT = 4


@dataclass
class Endpoint:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    def client(self, **kwargs: Any) -> Client:
        return clickhouse_connect.get_client(
            host="127.0.0.1", port=self.port, username="default", password="", **kwargs
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def launch(data_dir: Path, port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    """The endpoint as stack.py starts it; output to ``log``, or to pipes when None."""
    output = log.open("ab") if log is not None else subprocess.PIPE
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines.engines.clickhouse_server",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
            ],
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
        )
    finally:
        if log is not None and not isinstance(output, int):
            output.close()


def start_endpoint(data_dir: Path, port: int | None = None) -> Endpoint:
    port = port or free_port()
    log = data_dir.parent / f"endpoint-{port}.log"
    process = launch(data_dir, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"endpoint exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
            status, body, _ = http_request(port, "GET", "/ping")
            if status == 200 and body == b"Ok.\n":
                return Endpoint(process, port, data_dir)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("endpoint did not answer /ping within 60 s")


def stop_endpoint(endpoint: Endpoint) -> int:
    endpoint.process.send_signal(signal.SIGTERM)
    try:
        return endpoint.process.wait(timeout=30)
    finally:
        if endpoint.process.poll() is None:
            endpoint.process.kill()


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | list[bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    """One raw HTTP exchange; a list body is sent with chunked transfer encoding."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        if isinstance(body, list):
            connection.putrequest(method, path)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            for piece in body:
                connection.send(b"%X\r\n%s\r\n" % (len(piece), piece))
            connection.send(b"0\r\n\r\n")
        else:
            connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def url(**params: str) -> str:
    return "/?" + urllib.parse.urlencode(params)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    served = start_endpoint(tmp_path_factory.mktemp("chdb") / "data")
    yield served
    # SIGTERM is a clean stop: chDB closed, exit code 0.
    assert stop_endpoint(served) == 0


@pytest.fixture
def client(endpoint: Endpoint) -> Iterator[Client]:
    ch = endpoint.client()
    yield ch
    ch.close()


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


def test_http_protocol_details(endpoint: Endpoint, client: Client) -> None:
    port = endpoint.port
    assert http_request(port, "GET", "/ping")[:2] == (200, b"Ok.\n")
    assert http_request(port, "GET", "/")[:2] == (200, b"Ok.\n")
    client.command("DROP TABLE IF EXISTS wire")
    client.command("CREATE TABLE wire (a UInt32, s String) ENGINE = MergeTree ORDER BY a")

    # Statement in the URL, data in the body (plain, gzip, chunked); statement and data in
    # the body; inline VALUES.
    insert_csv = url(query="INSERT INTO wire FORMAT CSV")
    assert http_request(port, "POST", insert_csv, b"1,one\n2,two\n")[0] == 200
    gzipped = gzip.compress(b"3,three\n4,four\n")
    headers = {"Content-Encoding": "gzip"}
    assert http_request(port, "POST", insert_csv, [gzipped[:5], gzipped[5:]], headers)[0] == 200
    assert http_request(port, "POST", "/", b"INSERT INTO wire FORMAT TSV\n5\tfive\n")[0] == 200
    status, _, headers = http_request(port, "POST", "/", b"INSERT INTO wire VALUES (6, 'six')")
    assert status == 200
    assert json.loads(headers["X-ClickHouse-Summary"])["written_rows"] == "1"

    status, body, headers = http_request(
        port,
        "POST",
        url(default_format="JSONEachRow", query_id="q-1", param_low="2", wait_end_of_query="1"),
        b"SELECT a, s FROM wire WHERE a > {low:UInt32} ORDER BY a",
    )
    assert status == 200
    assert [json.loads(line)["s"] for line in body.splitlines()] == ["three", "four", "five", "six"]
    assert headers["X-ClickHouse-Query-Id"] == "q-1"
    assert headers["X-ClickHouse-Format"] == "JSONEachRow"
    assert headers["X-ClickHouse-Timezone"]
    assert "X-ClickHouse-Server-Display-Name" in headers
    assert json.loads(headers["X-ClickHouse-Summary"])["result_rows"] == "4"

    # URL query and body are one statement, joined by a newline.
    status, body, _ = http_request(port, "POST", url(query="SELECT count()"), b"FROM wire")
    assert (status, body) == (200, b"6\n")
    status, body, _ = http_request(port, "POST", "/", b"SELECT 1; SELECT 2")
    assert status == 500 and b"Multi-statements are not allowed" in body

    # A bad row deep inside a long upload: an error with the engine's code, after which
    # the connection and the table are fine.
    rows = [b"%d,row\n" % n for n in range(100, 200_000)]
    pieces = [b"".join(rows[i : i + 5000]) for i in range(0, len(rows), 5000)]
    pieces.insert(30, b"oops,not a number\n")
    status, body, headers = http_request(port, "POST", insert_csv, pieces)
    assert status == 500 and headers["X-ClickHouse-Exception-Code"] in ("6", "27", "72")
    assert body.startswith(b"Code: ")
    missing = url(query="INSERT INTO no_such_table FORMAT CSV")
    status, _, headers = http_request(port, "POST", missing, pieces[:50])
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (500, "60")
    assert client.command("SELECT count() FROM wire WHERE a < 100") == 6

    # Results stream out in chunks.
    big = "SELECT number FROM numbers(300000) FORMAT TSV"
    status, body, headers = http_request(port, "POST", "/", big.encode())
    assert (status, headers.get("Transfer-Encoding")) == (200, "chunked")
    assert body.count(b"\n") == 300000


INSERT_HEADS = [
    # (request start, statement for send_insert, input format, data that follows)
    (
        b"INSERT INTO t (a, b) FORMAT Native\n\x01\x02",
        "INSERT INTO t (a, b)",
        "Native",
        b"\x01\x02",
    ),
    (b"insert into format format CSV 1,2\n", "insert into format", "CSV", b"1,2\n"),
    (
        b"/* dbt */ INSERT INTO db.`t 1` VALUES (1, 'x')",
        "/* dbt */ INSERT INTO db.`t 1`",
        "Values",
        b" (1, 'x')",
    ),
    (
        b"INSERT INTO t SETTINGS s = 'FORMAT x' FORMAT TSV\r\n1",
        "INSERT INTO t SETTINGS s = 'FORMAT x'",
        "TSV",
        b"1",
    ),
    (
        b"INSERT INTO FUNCTION file('a.csv', 'CSV', 'format String') FORMAT CSV\nz",
        "INSERT INTO FUNCTION file('a.csv', 'CSV', 'format String')",
        "CSV",
        b"z",
    ),
]


@pytest.mark.parametrize(("head", "statement", "input_format", "data"), INSERT_HEADS)
def test_the_insert_head_is_found_before_its_data(
    head: bytes, statement: str, input_format: str, data: bytes
) -> None:
    found = scan_insert_head(head, final=True)
    assert found is not None
    assert (found.statement, found.input_format) == (statement, input_format)
    assert head[found.data_start :] == data


def test_statements_without_inline_data_and_partial_heads() -> None:
    assert scan_insert_head(b"INSERT INTO t SELECT * FROM s FORMAT Native", final=True) is None
    assert scan_insert_head(b"SELECT 1 FORMAT Native", final=True) is None
    with pytest.raises(NeedMore):  # the body may still hold the rest of the statement
        scan_insert_head(b"INSERT INTO t FORMAT Nat", final=False)
    with pytest.raises(NeedMore):
        scan_insert_head(b"INSERT INTO t SETTINGS x = 'a", final=False)
    select = analyse_statement(b"SELECT format, 'FORMAT JSON' FROM t FORMAT JSONEachRow;")
    assert (select.keyword, select.output_format) == ("SELECT", "JSONEachRow")
    assert analyse_statement(b"-- hi\n(SELECT 1)").keyword == "("
    assert analyse_statement(b"SELECT format FROM t").output_format is None
    quoted = analyse_statement(b"ALTER TABLE t MODIFY COMMENT $c$a; b's FORMAT JSON$c$")
    assert (quoted.keyword, quoted.output_format) == ("ALTER", None)


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


def insert_and_count(port: int, worker: int, batches: int, rows: int) -> int:
    """One OS process: insert batches, reading its own count back after each."""
    ch = clickhouse_connect.get_client(host="127.0.0.1", port=port)
    for batch in range(batches):
        first = (worker * batches + batch) * rows
        data = [(worker, first + i) for i in range(rows)]
        ch.insert("concurrent", data, column_names=["worker", "n"])
        seen = ch.command(f"SELECT count() FROM concurrent WHERE worker = {worker}")
        assert seen == (batch + 1) * rows, (worker, batch, seen)
    final = ch.command(f"SELECT count() FROM concurrent WHERE worker = {worker}")
    assert isinstance(final, int)
    return final


def test_two_processes_insert_and_read_at_once(endpoint: Endpoint, client: Client) -> None:
    client.command("DROP TABLE IF EXISTS concurrent")
    client.command("CREATE TABLE concurrent (worker UInt8, n UInt64) ENGINE = MergeTree ORDER BY n")
    batches, rows = 20, 5000
    # fork: the workers start at once, with nothing to import again (no chDB in this process).
    with multiprocessing.get_context("fork").Pool(2) as pool:
        counts = pool.starmap(insert_and_count, [(endpoint.port, w, batches, rows) for w in (0, 1)])
    assert counts == [batches * rows, batches * rows]
    assert client.command("SELECT count(), uniqExact(n) FROM concurrent") == [
        str(2 * batches * rows),
        str(2 * batches * rows),
    ]


def test_acknowledged_inserts_survive_sigkill(tmp_path: Path) -> None:
    served = start_endpoint(tmp_path / "data")
    ch = served.client()
    ch.command("CREATE DATABASE IF NOT EXISTS raw")
    ch.command("CREATE TABLE raw.events (n UInt64) ENGINE = MergeTree ORDER BY n")
    for batch in range(10):
        ch.insert("raw.events", [(batch * 1000 + i,) for i in range(1000)], column_names=["n"])
    served.process.send_signal(signal.SIGKILL)
    served.process.wait(timeout=30)

    restarted = start_endpoint(served.data_dir)
    try:
        assert restarted.client().command("SELECT count(), sum(n) FROM raw.events") == [
            "10000",
            str(sum(range(10000))),
        ]
    finally:
        assert stop_endpoint(restarted) == 0
        stop_endpoint(served)


def test_a_second_server_on_the_same_data_folder_refuses(endpoint: Endpoint) -> None:
    second = launch(endpoint.data_dir, free_port())
    _, stderr = second.communicate(timeout=60)
    assert second.returncode == OWNERSHIP_EXIT
    expected = (
        f"shopmarts: ClickHouse data folder {endpoint.data_dir.resolve()} is owned by "
        f"running process {endpoint.process.pid}"
    )
    assert stderr.decode().splitlines() == [expected]


def test_a_taken_port_is_one_clear_line(endpoint: Endpoint, tmp_path: Path) -> None:
    second = launch(tmp_path / "data", endpoint.port)
    _, stderr = second.communicate(timeout=60)
    assert second.returncode == PORT_IN_USE_EXIT
    assert stderr.decode().splitlines() == [
        f"shopmarts: port {endpoint.port} on 127.0.0.1 is already in use"
    ]


def test_two_million_rows_go_through_in_bounded_memory(endpoint: Endpoint, client: Client) -> None:
    rows = 2_000_000
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "order_id": np.arange(rows, dtype=np.uint64),
            "customer_id": rng.integers(1, 100_000, rows),
            "total": rng.integers(0, 10**7, rows) / 100,
            "status": rng.choice(["pending", "shipped", "delivered", "returned"], rows),
            "order_date": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 10**13, rows), unit="us"),
        }
    )
    client.command("DROP TABLE IF EXISTS big_orders")
    client.command(
        "CREATE TABLE big_orders (order_id UInt64, customer_id Int64, total Float64, "
        "status LowCardinality(String), order_date DateTime64(6, 'UTC')) "
        "ENGINE = MergeTree ORDER BY order_id"
    )
    server = psutil.Process(endpoint.process.pid)
    peak = server.memory_info().rss
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, server.memory_info().rss)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        started = time.perf_counter()
        summary = endpoint.client(compress=False).insert_df("big_orders", frame)
        seconds = time.perf_counter() - started
        streamed = 0
        with client.raw_stream("SELECT * FROM big_orders", fmt="Native") as stream:
            for piece in stream:
                streamed += len(piece)
    finally:
        done.set()
        watcher.join()
    written_mb = int(summary.summary["written_bytes"]) / 1e6
    print(f"2M-row insert_df: {seconds:.2f} s, {rows / seconds:,.0f} rows/s, "
          f"{written_mb / seconds:.0f} MB/s; server peak RSS {peak / 2**20:.0f} MiB")  # fmt: skip
    assert summary.written_rows == rows
    assert client.command("SELECT count(), uniqExact(order_id) FROM big_orders") == [
        str(rows),
        str(rows),
    ]
    assert streamed > rows * 8
    assert peak < 1.5 * 2**30


# --- the analyst ----------------------------------------------------------------------------


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
