"""dbt-clickhouse builds a small project through the embedded endpoint: a view, a table
swapped in with EXCHANGE TABLES, two incremental strategies and data tests."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from dbt.artifacts.schemas.run import RunExecutionResult
from dbt.cli.main import dbtRunner
from dbt_common.events.base_types import EventMsg

REPO = Path(__file__).resolve().parents[1]
PROJECT = Path(__file__).parent / "fixtures" / "dbt_clickhouse_smoke"


@pytest.fixture(scope="module")
def endpoint_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    data_dir = tmp_path_factory.mktemp("dbt-chdb") / "data"
    command = [sys.executable, "-m", "clickhouse_endpoint"]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the endpoint exited"
            assert time.monotonic() < deadline, "the endpoint did not answer /ping"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as ping:
                    if ping.read() == b"Ok.\n":
                        break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()


@pytest.fixture(scope="module")
def client(endpoint_port: int) -> Iterator[Client]:
    ch = clickhouse_connect.get_client(host="127.0.0.1", port=endpoint_port)
    ch.command("CREATE DATABASE IF NOT EXISTS smoke_raw")
    ch.command(
        "CREATE TABLE smoke_raw.events (event_id UInt32, amount Decimal(10, 2), "
        "changed_at DateTime) ENGINE = MergeTree ORDER BY (event_id, changed_at)"
    )
    yield ch
    ch.close()


def dbt_build(
    port: int, work: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, str], list[str]]:
    """`dbt build` in-process; returns each node's status and every SQL statement sent."""
    statements: list[str] = []

    def collect(event: EventMsg) -> None:
        # dbt-clickhouse logs each statement as "On <node>: <sql>..." at debug level.
        if event.info.name == "AdapterEventDebug" and event.data.base_msg.startswith("On "):
            statements.append(event.data.base_msg)

    monkeypatch.setenv("SMOKE_CLICKHOUSE_PORT", str(port))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    result = dbtRunner(callbacks=[collect]).invoke(
        [
            "build",
            "--project-dir",
            str(work),
            "--profiles-dir",
            str(work),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--vars",
            f"{{batch: {batch}}}",
            "--quiet",
        ]
    )
    assert result.exception is None, result.exception
    assert isinstance(result.result, RunExecutionResult)
    statuses = {item.node.unique_id: str(item.status) for item in result.result.results}
    return statuses, statements


def rows(client: Client, sql: str) -> list[tuple]:
    return [tuple(row) for row in client.query(sql).result_rows]


def test_dbt_build_twice(
    endpoint_port: int, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "project"
    shutil.copytree(PROJECT, work)
    client.insert(
        "smoke_raw.events",
        [
            (1, Decimal("10.00"), datetime(2024, 1, 1, 8)),
            (2, Decimal("20.00"), datetime(2024, 1, 1, 9)),
            (3, Decimal("30.00"), datetime(2024, 1, 1, 10)),
        ],
        column_names=["event_id", "amount", "changed_at"],
    )

    statuses, _ = dbt_build(endpoint_port, work, 1, monkeypatch)
    assert set(statuses.values()) == {"success", "pass"}, statuses
    # 4 models, 6 column tests, the singular test: all ran.
    assert sum(node.startswith("model.") for node in statuses) == 4
    assert sum(node.startswith("test.") for node in statuses) == 7
    assert client.command("SELECT engine FROM system.tables WHERE database = 'dbt_smoke' "
                          "AND name = 'stg_events'") == "View"  # fmt: skip
    assert rows(client, "SELECT * FROM dbt_smoke.event_totals") == [(3, Decimal("60.00"), 1)]
    uuid_before = client.command(
        "SELECT toString(uuid) FROM system.tables "
        "WHERE database = 'dbt_smoke' AND name = 'event_totals'"
    )

    # A new event, and a new version of event 2.
    client.insert(
        "smoke_raw.events",
        [
            (2, Decimal("25.00"), datetime(2024, 1, 2, 9)),
            (4, Decimal("40.00"), datetime(2024, 1, 2, 10)),
        ],
        column_names=["event_id", "amount", "changed_at"],
    )
    statuses, statements = dbt_build(endpoint_port, work, 2, monkeypatch)
    assert set(statuses.values()) == {"success", "pass"}, statuses

    # The table was rebuilt beside the old one and swapped in atomically.
    assert any("EXCHANGE TABLES" in sql and "event_totals" in sql for sql in statements)
    assert rows(client, "SELECT * FROM dbt_smoke.event_totals") == [(4, Decimal("105.00"), 2)]
    uuid_after = client.command(
        "SELECT toString(uuid) FROM system.tables "
        "WHERE database = 'dbt_smoke' AND name = 'event_totals'"
    )
    assert uuid_after != uuid_before

    # Both incremental models touched only the new and changed rows (batch 2).
    expected = [
        (1, Decimal("10.00"), 1),
        (2, Decimal("25.00"), 2),
        (3, Decimal("30.00"), 1),
        (4, Decimal("40.00"), 2),
    ]
    for model in ("events_incremental", "events_delete_insert"):
        assert (
            rows(client, f"SELECT event_id, amount, batch FROM dbt_smoke.{model} ORDER BY event_id")
            == expected
        ), model
    assert any(
        "delete from" in sql.lower() and "events_delete_insert" in sql for sql in statements
    ), "delete+insert deletes the changed keys first"
