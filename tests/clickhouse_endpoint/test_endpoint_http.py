"""The HTTP interface spoken by hand: URL and body statements, compressed and chunked
bodies, headers, errors inside long uploads, chunked results."""

from __future__ import annotations

import gzip
import json

from clickhouse_connect.driver.client import Client
from endpoint_harness import Endpoint, http_request, url


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
