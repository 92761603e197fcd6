"""The endpoint as a process: SIGKILL and restart, one owner per data folder, a taken
port, two million rows in bounded memory, freed memory handed back soon."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from clickhouse_connect.driver.client import Client
from endpoint_harness import (
    OWNERSHIP_EXIT,
    PORT_IN_USE_EXIT,
    Endpoint,
    free_port,
    launch,
    start_endpoint,
    stop_endpoint,
)

from clickhouse_endpoint.engine import ALLOCATOR_CONF


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


def test_the_engine_hands_freed_memory_back_soon(client: Client) -> None:
    # jemalloc's own report: ClickHouse's build keeps freed pages 5 s; the endpoint sets
    # 0.2 s (clickhouse_endpoint.engine.ALLOCATOR_CONF), unless the variable is set.
    stats = str(client.command("SELECT * FROM system.jemalloc_stats"))
    assert f'Environment variable MALLOC_CONF: "{ALLOCATOR_CONF}"' in stats
    # jemalloc took it: the option's value is the configured one, not the build's 5000.
    option, value = ALLOCATOR_CONF.split(":")
    assert value != "5000"
    assert f"opt.{option}: {value} " in stats
