"""The extract against the real embedded engines: a small generated shop, loaded into raw.

The tests use their own databases (`extract_shop`, `extract_warehouse`) and their own
raw schema / ClickHouse database, so they neither see nor disturb the other tests'
shop. Equality is checked table by table: row count and an order-independent
checksum of every column, in both engines (ClickHouse read with FINAL).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import clickhouse_connect
import dagster as dg
import psycopg
import pytest
from psycopg import sql

from core.errors import ShopmartsError
from core.settings import PROJECT_ROOT, Environment
from ingest.extract import copy as snapshot_copy
from ingest.extract.catalog import SourceTable, discover_source_tables
from ingest.extract.copy import SnapshotCopy, split_password
from ingest.extract.options import ExtractOptions
from ingest.extract.report import LoadReport
from ingest.extract.run import extract
from ingest.shop.generate import generate_shop
from ingest.shop.schema import SHOP_TABLES
from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.extract import extract_raw, shop_table_specs
from pipelines.defs.keys import raw_key
from pipelines.defs.plan import RefreshPlanResource

RAW = "raw_extract_tests"
OPTIONS = ExtractOptions(raw_schema=RAW)
SCALE = 0.05


def _database_url(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@pytest.fixture(scope="module")
def extract_environment(environment: Environment) -> Iterator[Environment]:
    """Private shop and warehouse databases on the embedded cluster, a fresh shop in it."""
    admin_url = _database_url(environment.shop_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for database in ("extract_shop", "extract_warehouse"):
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    with _clickhouse(environment) as client:
        client.command(f"DROP DATABASE IF EXISTS `{RAW}` SYNC")
    private = replace(
        environment,
        shop_url=_database_url(environment.shop_url, "extract_shop"),
        warehouse_url=_database_url(environment.warehouse_url, "extract_warehouse"),
    )
    generate_shop(private.shop_url, scale=SCALE, seed=7, replace=True, progress=False)
    yield private


class _clickhouse:
    def __init__(self, environment: Environment) -> None:
        self.client = clickhouse_connect.get_client(
            dsn=environment.clickhouse_url, autogenerate_session_id=False
        )

    def __enter__(self):  # noqa: ANN204
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()


def scalar(url: str, query: sql.Composable | str, params: tuple[object, ...] = ()) -> Any:
    """The one value ``query`` returns on the database at ``url``."""
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


# -- equality ---------------------------------------------------------------------------


def _canonical(value: object, is_json: bool) -> str:
    if value is None:
        return "\\N"
    if is_json:
        return json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # ClickHouse DateTime64(6, 'UTC') may come back naive
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def fingerprint(rows: Iterable[Iterable[object]], json_columns: list[bool]) -> tuple[int, int]:
    """Row count and an order-independent checksum of every column of ``rows``."""
    count, total = 0, 0
    for row in rows:
        text = "\x1f".join(
            _canonical(value, is_json) for value, is_json in zip(row, json_columns, strict=True)
        )
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        total = (total + int.from_bytes(digest, "big")) % (1 << 64)
        count += 1
    return count, total


def source_tables(environment: Environment) -> dict[str, SourceTable]:
    with psycopg.connect(environment.shop_url) as shop:
        return discover_source_tables(shop)


def table_fingerprints(environment: Environment, table: SourceTable) -> dict[str, tuple[int, int]]:
    """The table's fingerprint in the shop, in the warehouse's raw and in ClickHouse's raw."""
    json_columns = [column.postgres_type in ("json", "jsonb") for column in table.columns]
    pg_columns = sql.SQL(", ").join(map(sql.Identifier, table.column_names))
    result = {}
    for name, url, schema in (
        ("shop", environment.shop_url, "public"),
        ("postgres", environment.warehouse_url, RAW),
    ):
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                sql.SQL("SELECT {} FROM {}").format(pg_columns, sql.Identifier(schema, table.name))
            )
            result[name] = fingerprint(rows, json_columns)
    ch_columns = ", ".join(f"`{name}`" for name in table.column_names)
    with _clickhouse(environment) as client:
        rows = client.query(f"SELECT {ch_columns} FROM `{RAW}`.`{table.name}` FINAL").result_rows
        result["clickhouse"] = fingerprint(rows, json_columns)
    return result


def assert_raw_equals_shop(environment: Environment) -> None:
    mismatches = {}
    for table in source_tables(environment).values():
        prints = table_fingerprints(environment, table)
        if not prints["shop"] == prints["postgres"] == prints["clickhouse"]:
            mismatches[table.name] = prints
    assert not mismatches, f"raw differs from the shop: {mismatches}"


def assert_no_duplicate_versions_visible(environment: Environment) -> None:
    """FINAL gives one row per primary key; the warehouse's primary key guarantees it there."""
    with _clickhouse(environment) as client:
        for table in source_tables(environment).values():
            key = ", ".join(f"`{name}`" for name in table.primary_key)
            total, distinct = client.query(
                f"SELECT count(), uniqExact(({key})) FROM `{RAW}`.`{table.name}` FINAL"
            ).result_rows[0]
            assert total == distinct, f"{table.name}: {total} rows for {distinct} keys"


def reports_by_key(reports: list[LoadReport]) -> dict[tuple[str, str], LoadReport]:
    return {(report.table, report.engine): report for report in reports}


# -- tests --------------------------------------------------------------------------------


def test_full_then_simulate_then_incremental_equals_shop(extract_environment: Environment) -> None:
    from ingest.shop.simulate import simulate_shop

    reports = extract(extract_environment, "full", options=OPTIONS)
    assert {report.table for report in reports} == set(SHOP_TABLES)
    assert all(report.mode == "full" for report in reports)
    assert_raw_equals_shop(extract_environment)

    simulate_shop(extract_environment.shop_url, hours=3, seed=11, progress=False)
    loads = reports_by_key(extract(extract_environment, "incremental", options=OPTIONS))
    assert_raw_equals_shop(extract_environment)
    assert_no_duplicate_versions_visible(extract_environment)
    orders = loads["orders", "postgres"]
    assert orders.mode == "incremental" and orders.cursor_column == "updated_at"
    assert orders.lower_bound is not None and orders.watermark is not None
    assert loads["audit_log", "clickhouse"].cursor_column == "changed_at"
    total_orders = scalar(extract_environment.shop_url, "SELECT count(*) FROM orders")
    assert 0 < orders.rows < total_orders, "incremental read the changed rows only"


def _raw_rows_of_order(environment: Environment, table: str, order_id: int) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE order_id = %s").format(
        sql.Identifier(RAW, table)
    )
    return int(scalar(environment.warehouse_url, query, (order_id,)))


def _delete_an_order(environment: Environment) -> int:
    """Hard-delete the first order that has items (items and promotions cascade)."""
    with psycopg.connect(environment.shop_url) as shop:
        row = shop.execute(
            "DELETE FROM orders WHERE order_id = (SELECT min(order_id) FROM order_items) "
            "RETURNING order_id"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _assert_order_gone_from_raw(environment: Environment, order_id: int) -> None:
    for table in ("orders", "order_items"):
        assert _raw_rows_of_order(environment, table, order_id) == 0, (
            f"deleted order still in the warehouse's raw.{table}"
        )
    with _clickhouse(environment) as client:
        for table in ("orders", "order_items"):
            count = client.command(
                f"SELECT count() FROM `{RAW}`.`{table}` FINAL WHERE order_id = {order_id}"
            )
            assert int(str(count)) == 0, f"deleted order still in ClickHouse's raw.{table}"


def test_hard_delete_disappears(extract_environment: Environment) -> None:
    """After the next full extract, and (keys reconciled) after the next incremental too."""
    extract(extract_environment, "full", options=OPTIONS)
    order_id = _delete_an_order(extract_environment)
    extract(extract_environment, "full", options=OPTIONS)
    _assert_order_gone_from_raw(extract_environment, order_id)
    assert_raw_equals_shop(extract_environment)

    order_id = _delete_an_order(extract_environment)
    loads = reports_by_key(extract(extract_environment, "incremental", options=OPTIONS))
    _assert_order_gone_from_raw(extract_environment, order_id)
    for engine in ("postgres", "clickhouse"):
        assert loads["orders", engine].deleted == 1
        assert (loads["order_items", engine].deleted or 0) >= 1
    assert_raw_equals_shop(extract_environment)

    order_id = _delete_an_order(extract_environment)
    extract(extract_environment, "incremental", options=replace(OPTIONS, reconcile_deletes=False))
    assert _raw_rows_of_order(extract_environment, "orders", order_id) == 1, (
        "without key reconciliation an incremental extract keeps hard-deleted rows"
    )
    extract(extract_environment, "full", options=OPTIONS)
    _assert_order_gone_from_raw(extract_environment, order_id)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense keys", "sparse keys"])
def test_key_buckets_agree_in_both_engines_at_the_edges(
    extract_environment: Environment, sparse: bool
) -> None:
    """The buckets hard deletes are narrowed down by are ``key >> KEY_BITS`` in both
    engines, whichever way PostgreSQL counts them (a probe per bucket, or one grouping
    pass for sparse keys), for negative keys and keys near the type's limit; the ranges
    of differing buckets select exactly their keys."""
    from ingest.extract.deletes import (
        KEY_BITS,
        _in_buckets,
        _key_buckets_query,
        _postgres_in_buckets,
        _read_buckets,
    )

    keys = [-8193, -4097, -4096, -1, 0, 1, 4095, 4096, 8191, 8192, 12288]
    keys += list(range(20_000, 20_000 + 5_000))
    if sparse:  # 2**40 >> 12 buckets between the lowest and the highest: grouped, not probed
        keys += [2**31 - 1, 2**40]
    expected: dict[int, tuple[int, int]] = {}
    for key in keys:
        count, total = expected.get(key >> KEY_BITS, (0, 0))
        expected[key >> KEY_BITS] = (count + 1, total + key)
    table = sql.Identifier("public", "bucket_probe")
    with psycopg.connect(extract_environment.warehouse_url, autocommit=True) as warehouse:
        warehouse.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        warehouse.execute(sql.SQL("CREATE TABLE {} (k bigint PRIMARY KEY)").format(table))
        with warehouse.cursor().copy(sql.SQL("COPY {} (k) FROM STDIN").format(table)) as copy:
            for key in keys:
                copy.write_row((key,))
        try:
            assert _read_buckets(warehouse, _key_buckets_query(table, "k", len(keys))) == expected
            # Not counted (the shop's counters saw deletes): the planner's estimate of the
            # rows decides, unknown before ANALYZE (grouped) and known after.
            assert _read_buckets(warehouse, _key_buckets_query(table, "k", None)) == expected
            warehouse.execute(sql.SQL("ANALYZE {}").format(table))
            assert _read_buckets(warehouse, _key_buckets_query(table, "k", None)) == expected
            differing = sorted(expected)[:3] + sorted(expected)[-2:]
            chosen = sql.SQL("SELECT array_agg(k ORDER BY k) FROM {} WHERE {}").format(
                table, _postgres_in_buckets("k", differing)
            )
            in_differing = sorted(key for key in keys if key >> KEY_BITS in differing)
            assert warehouse.execute(chosen).fetchone()[0] == in_differing
        finally:
            warehouse.execute(sql.SQL("DROP TABLE {}").format(table))
    with _clickhouse(extract_environment) as client:
        listed = ", ".join(map(str, keys))
        rows = client.query(
            f"SELECT bitShiftRight(k, {KEY_BITS}) AS b, count(), sum(k) "
            f"FROM (SELECT arrayJoin([{listed}]) :: Int64 AS k) GROUP BY b"
        ).result_rows
        assert {int(b): (int(n), int(total)) for b, n, total in rows} == expected
        picked = client.query(
            f"SELECT k FROM (SELECT arrayJoin([{listed}]) :: Int64 AS k) "
            f"WHERE {_in_buckets('k', differing)} ORDER BY k"
        ).result_rows
        assert [row[0] for row in picked] == in_differing


def test_full_keeps_views_on_raw_valid(extract_environment: Environment) -> None:
    """TRUNCATE + COPY, not DROP + CREATE: a view on a raw table survives a full extract."""
    view = sql.Identifier(RAW, "orders_view_for_test")
    with psycopg.connect(extract_environment.warehouse_url, autocommit=True) as warehouse:
        warehouse.execute(
            sql.SQL("CREATE OR REPLACE VIEW {} AS SELECT order_id, total_amount FROM {}").format(
                view, sql.Identifier(RAW, "orders")
            )
        )
    extract(extract_environment, "full", tables=["orders"], engines=["postgres"], options=OPTIONS)
    viewed = scalar(
        extract_environment.warehouse_url, sql.SQL("SELECT count(*) FROM {}").format(view)
    )
    with psycopg.connect(extract_environment.warehouse_url, autocommit=True) as warehouse:
        warehouse.execute(sql.SQL("DROP VIEW {}").format(view))
    assert viewed == scalar(extract_environment.shop_url, "SELECT count(*) FROM orders")


def test_full_restores_a_primary_key_dropped_from_raw(extract_environment: Environment) -> None:
    """The key raw gets back after a full load is the shop's, whatever raw had: an
    incremental upsert (ON CONFLICT on the key) needs it."""
    table = sql.Identifier(RAW, "customers")
    key_columns = sql.SQL(
        "SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
        "WHERE c.conrelid = {}::regclass AND c.contype = 'p'"
    ).format(sql.Literal(f"{RAW}.customers"))
    with psycopg.connect(extract_environment.warehouse_url, autocommit=True) as warehouse:
        warehouse.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT customers_pkey").format(table))
    assert scalar(extract_environment.warehouse_url, key_columns) is None
    extract(
        extract_environment, "full", tables=["customers"], engines=["postgres"], options=OPTIONS
    )
    assert scalar(extract_environment.warehouse_url, key_columns) == ["customer_id"]
    reports = extract(
        extract_environment,
        "incremental",
        tables=["customers"],
        engines=["postgres"],
        options=OPTIONS,
    )
    assert [report.mode for report in reports] == ["incremental"]
    assert_raw_equals_shop(extract_environment)


def test_raw_indexes_the_shops_foreign_keys_and_the_cursor(
    extract_environment: Environment,
) -> None:
    """Raw carries an index on each of the shop's foreign keys the primary key does not lead
    with (an order's lines are found by probing `order_items(order_id)`) and one on the
    cursor (the raw gate slices a batch by it); a full load builds them again after its
    COPY, whatever raw had, and the upserts keep them."""
    indexed = sql.SQL(
        "SELECT array_agg(pg_get_indexdef(indexrelid) ORDER BY 1) FROM pg_index "
        "WHERE indrelid = {}::regclass AND NOT indisprimary"
    ).format(sql.Literal(f"{RAW}.order_items"))
    expected = sorted(
        f"CREATE INDEX order_items_{column}_{kind}_idx ON {RAW}.order_items USING btree ({column})"
        for column, kind in (("order_id", "fkey"), ("product_id", "fkey"), ("updated_at", "cursor"))
    )
    assert sorted(scalar(extract_environment.warehouse_url, indexed)) == expected
    with psycopg.connect(extract_environment.warehouse_url, autocommit=True) as warehouse:
        for index in ("order_items_order_id_fkey_idx", "order_items_updated_at_cursor_idx"):
            warehouse.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(RAW, index)))
    extract(
        extract_environment, "full", tables=["order_items"], engines=["postgres"], options=OPTIONS
    )
    assert sorted(scalar(extract_environment.warehouse_url, indexed)) == expected
    extract(
        extract_environment,
        "incremental",
        tables=["order_items"],
        engines=["postgres"],
        options=OPTIONS,
    )
    assert_raw_equals_shop(extract_environment)


def test_psql_reads_in_the_snapshot_and_names_the_table_it_failed_on(
    extract_environment: Environment,
) -> None:
    """The shop's rows are read by psql: inside the exported snapshot, errors name the table."""
    probe = sql.Identifier("snapshot_probe", "t")
    shop_url = extract_environment.shop_url
    with psycopg.connect(shop_url, autocommit=True) as shop:
        shop.execute("CREATE SCHEMA IF NOT EXISTS snapshot_probe")
        shop.execute(sql.SQL("CREATE TABLE {} AS SELECT generate_series(1, 3) AS n").format(probe))
    try:
        with psycopg.connect(shop_url) as exporter:
            exporter.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            snapshot_id = exporter.execute("SELECT pg_export_snapshot()").fetchone()[0]
            with psycopg.connect(shop_url, autocommit=True) as writer:  # after the snapshot
                writer.execute(sql.SQL("INSERT INTO {} VALUES (4)").format(probe))

            def read(query: sql.Composable, what: str) -> bytes:
                copy = SnapshotCopy(
                    shop_url, snapshot_id, query, session_options="", chunk_bytes=2, what=what
                )
                with copy:
                    return b"".join(copy)

            seen = read(sql.SQL("COPY (SELECT n FROM {} ORDER BY n) TO STDOUT").format(probe), "t")
            assert seen == b"1\n2\n3\n"  # in two-byte blocks, and not the row added later
            with pytest.raises(ShopmartsError, match=r"reading public\.no_such_table .*no_such"):
                read(sql.SQL("COPY public.no_such_table TO STDOUT"), "public.no_such_table")
    finally:
        with psycopg.connect(shop_url, autocommit=True) as shop:
            shop.execute("DROP SCHEMA snapshot_probe CASCADE")


def test_psql_output_is_buffered_by_stdbuf_only_where_stdbuf_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """coreutils' stdbuf (these machines have it) buffers psql's output; a stdbuf that
    cannot run (no libstdbuf.so) is left out instead of failing every read."""
    snapshot_copy._working_stdbuf.cache_clear()
    try:
        prefix = snapshot_copy._output_buffer(1 << 19)
        assert prefix[1:] == [f"-o{1 << 19}"] and Path(prefix[0]).name == "stdbuf"
        broken = tmp_path / "stdbuf"
        broken.write_text("#!/bin/sh\necho 'stdbuf: failed to find libstdbuf.so' >&2\nexit 1\n")
        broken.chmod(0o755)
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
        snapshot_copy._working_stdbuf.cache_clear()
        assert snapshot_copy._output_buffer(1 << 19) == []
    finally:
        snapshot_copy._working_stdbuf.cache_clear()


def test_psql_gets_the_password_from_its_environment_not_its_arguments() -> None:
    url, password = split_password(
        "postgresql://shop:s%40cret@db.example:5432/shop?sslmode=require"
    )
    assert (url, password) == ("postgresql://shop@db.example:5432/shop?sslmode=require", "s@cret")
    assert split_password("postgresql://shop@db/shop") == ("postgresql://shop@db/shop", None)


def test_clickhouse_can_pull_from_the_warehouse(extract_environment: Environment) -> None:
    """The optional path: ClickHouse copies the just-loaded warehouse table via postgresql()."""
    reports = extract(
        extract_environment, "full", options=replace(OPTIONS, clickhouse_method="pull")
    )
    methods = {report.method for report in reports if report.engine == "clickhouse"}
    assert methods == {"ClickHouse pulls from the warehouse (postgresql())"}
    assert_raw_equals_shop(extract_environment)


_CHILD = textwrap.dedent(
    """
    import sys
    from datetime import timedelta
    from ingest.extract.options import ExtractOptions
    from ingest.extract.run import extract
    from core.settings import Environment

    environment = Environment(sys.argv[1], sys.argv[2], sys.argv[3], True, True)
    options = ExtractOptions(raw_schema=sys.argv[5], workers=1, chunk_bytes=4096)

    def progress(report):
        print(report.table, report.engine, report.rows, flush=True)

    extract(environment, sys.argv[4], options=options, progress=progress)
    print("done", flush=True)
    """
)


def _extract_killed_halfway(environment: Environment, mode: str, after_loads: int) -> int:
    """Run an extract in a child process and SIGKILL it once ``after_loads`` have committed."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD,
            environment.shop_url,
            environment.warehouse_url,
            environment.clickhouse_url,
            mode,
            RAW,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert child.stdout is not None
    committed = 0
    deadline = time.monotonic() + 120
    for line in child.stdout:
        assert line.strip() != "done", "the extract finished before it could be killed"
        committed += 1
        if committed >= after_loads or time.monotonic() > deadline:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    assert child.returncode == -signal.SIGKILL
    return committed


def test_sigkill_halfway_then_rerun_converges(extract_environment: Environment) -> None:
    from ingest.shop.simulate import simulate_shop

    total_loads = 2 * len(SHOP_TABLES)
    committed = _extract_killed_halfway(extract_environment, "full", after_loads=5)
    assert 0 < committed < total_loads
    extract(extract_environment, "full", options=OPTIONS)
    assert_raw_equals_shop(extract_environment)

    simulate_shop(extract_environment.shop_url, hours=2, seed=23, progress=False)
    committed = _extract_killed_halfway(extract_environment, "incremental", after_loads=7)
    assert 0 < committed < total_loads
    extract(extract_environment, "incremental", options=OPTIONS)
    assert_raw_equals_shop(extract_environment)
    assert_no_duplicate_versions_visible(extract_environment)
    with _clickhouse(extract_environment) as client:
        leftovers = client.command(
            f"SELECT count() FROM system.tables "
            f"WHERE database = '{RAW}' AND endsWith(name, '__loading')"
        )
    assert int(leftovers) == 0, "a crashed full load left its loading table behind"


def test_dagster_assets_materialize_with_metadata(extract_environment: Environment) -> None:
    resource = ShopmartsEnvironment(
        shop_url=extract_environment.shop_url,
        warehouse_url=extract_environment.warehouse_url,
        clickhouse_url=extract_environment.clickhouse_url,
        raw_schema=RAW,
    )
    result = dg.materialize(
        [*shop_table_specs, extract_raw],
        # The nightly plan: a full extract.
        resources={
            "shopmarts_environment": resource,
            "refresh_plan": RefreshPlanResource(mode="nightly"),
        },
        selection=[raw_key("postgres", "orders"), raw_key("clickhouse", "orders")],
    )
    assert result.success
    materializations = {
        materialization.asset_key: materialization.metadata
        for materialization in result.asset_materializations_for_node("extract_raw")
    }
    assert set(materializations) == {
        raw_key("postgres", "orders"),
        raw_key("clickhouse", "orders"),
    }
    orders = scalar(extract_environment.shop_url, "SELECT count(*) FROM orders")
    for metadata in materializations.values():
        assert metadata["rows"] == dg.MetadataValue.int(orders)
        assert metadata["mode"] == dg.MetadataValue.text("full")
        for positive in ("bytes", "duration_seconds"):
            value = metadata[positive].value
            assert isinstance(value, int | float) and value > 0, positive
        assert isinstance(metadata["watermark"], dg.TimestampMetadataValue)

    incremental = dg.materialize(
        [*shop_table_specs, extract_raw],
        # The hourly plan: an incremental extract.
        resources={
            "shopmarts_environment": resource,
            "refresh_plan": RefreshPlanResource(mode="hourly"),
        },
        selection=[raw_key("clickhouse", "orders")],
    )
    assert incremental.success
    (only,) = incremental.asset_materializations_for_node("extract_raw")
    assert only.metadata["mode"] == dg.MetadataValue.text("incremental")
    assert "lower_bound" in only.metadata


def test_a_connection_error_is_retried_with_backoff_then_fails_naming_it(
    extract_environment: Environment,
) -> None:
    """A shop that does not answer: the extract asks Dagster for a retry three times, with
    a growing wait, then fails with the connection error; raw is untouched."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    resource = ShopmartsEnvironment(
        shop_url=f"postgresql://postgres@127.0.0.1:{dead_port}/shop",
        warehouse_url=extract_environment.warehouse_url,
        clickhouse_url=extract_environment.clickhouse_url,
        raw_schema=RAW,
    )
    before = scalar(extract_environment.warehouse_url, f"SELECT count(*) FROM {RAW}.orders")
    result = dg.materialize(
        [*shop_table_specs, extract_raw],
        resources={
            "shopmarts_environment": resource,
            "refresh_plan": RefreshPlanResource(mode="nightly"),
        },
        run_config={"ops": {"extract_raw": {"config": {"retry_delay_seconds": 0.1}}}},
        selection=[raw_key("postgres", "orders")],
        raise_on_error=False,
    )
    assert not result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 3
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.error
    causes = []
    while error is not None:
        causes.append(error.message)
        error = error.cause
    assert any(str(dead_port) in cause for cause in causes), causes
    after = scalar(extract_environment.warehouse_url, f"SELECT count(*) FROM {RAW}.orders")
    assert after == before


def _raw_state(environment: Environment, tables: Iterable[str]) -> dict[str, object]:
    """What any write to raw changes, read exactly (no statistics): per warehouse table its
    rows and the sum of its rows' xmin (an insert, update or TRUNCATE gives rows a new
    transaction id; a delete lowers the count); the stored watermarks but `loaded_at` (a
    table found current is recorded as fresh); per ClickHouse table its uuid (EXCHANGE
    replaces it), its newest block number (every insert takes a new one; merges do not)
    and its mutations (a lightweight DELETE)."""
    state: dict[str, object] = {}
    with psycopg.connect(environment.warehouse_url) as conn:
        for table in tables:
            query = sql.SQL("SELECT count(*), coalesce(sum(xmin::text::bigint), 0) FROM {}")
            state[f"postgres {table}"] = conn.execute(
                query.format(sql.Identifier(RAW, table))
            ).fetchone()
        watermarks = sql.SQL(
            "SELECT table_name, engine, cursor_column, watermark, snapshot_at, mode, rows,"
            " window_since, window_rows, window_cursor_sum, window_cursor_max, shop_counters"
            " FROM {} ORDER BY table_name, engine"
        ).format(sql.Identifier(RAW, "_watermarks"))
        state["watermarks"] = conn.execute(watermarks).fetchall()
    with _clickhouse(environment) as client:
        parameters = {"db": RAW}
        uuids = client.query(
            "SELECT name, toString(uuid) FROM system.tables WHERE database = {db:String}",
            parameters=parameters,
        ).result_rows
        blocks = client.query(
            "SELECT table, max(max_block_number) FROM system.parts"
            " WHERE database = {db:String} AND active GROUP BY table",
            parameters=parameters,
        ).result_rows
        mutations = client.query(
            "SELECT table, count() FROM system.mutations WHERE database = {db:String}"
            " GROUP BY table",
            parameters=parameters,
        ).result_rows
        for name, uuid in uuids:
            state[f"clickhouse {name}"] = (uuid, dict(blocks).get(name), dict(mutations).get(name))
    return state


def test_incremental_with_nothing_changed_touches_nothing(extract_environment: Environment) -> None:
    """Nothing written to the shop: every load is skipped, no raw table is written in either
    engine and the watermarks stay (only their `loaded_at` moves); a change after that is
    still picked up, a delete too. A table without a cursor column (gift_notes) is skipped
    too, and reloaded once written to."""
    shop_url = extract_environment.shop_url
    with psycopg.connect(shop_url) as shop:
        shop.execute("CREATE TABLE gift_notes (note_id bigint PRIMARY KEY, body text)")
        shop.execute("INSERT INTO gift_notes SELECT g, 'note ' || g FROM generate_series(1, 50) g")
    tables = [*SHOP_TABLES, "gift_notes"]
    try:
        extract(extract_environment, "full", options=OPTIONS)
        # Made current by a run that reconciles: the full run may have found the session
        # above still closing, and then stored no counters (see ingest.extract.probe).
        extract(extract_environment, "incremental", options=OPTIONS)
        before = _raw_state(extract_environment, tables)

        reports = extract(extract_environment, "incremental", options=OPTIONS)
        assert {(report.table, report.engine) for report in reports} == {
            (table, engine) for table in tables for engine in ("postgres", "clickhouse")
        }
        loaded = [r for r in reports if r.rows or r.method != "skipped: nothing changed"]
        assert not loaded, f"loads ran with nothing changed: {loaded}"
        assert _raw_state(extract_environment, tables) == before, "a raw table was written"

        with psycopg.connect(shop_url) as shop:
            shop.execute(
                "UPDATE customers SET first_name = first_name || 'x'"
                " WHERE customer_id = (SELECT min(customer_id) FROM customers)"
            )
            shop.execute("UPDATE gift_notes SET body = 'changed' WHERE note_id = 7")
        order_id = _delete_an_order(extract_environment)
        loads = reports_by_key(extract(extract_environment, "incremental", options=OPTIONS))
        for engine in ("postgres", "clickhouse"):
            assert loads["customers", engine].rows >= 1
            assert loads["gift_notes", engine].mode == "full"
            assert loads["gift_notes", engine].rows == 50
            assert loads["orders", engine].deleted == 1
        _assert_order_gone_from_raw(extract_environment, order_id)
        assert_raw_equals_shop(extract_environment)
        assert _raw_state(extract_environment, tables) != before
    finally:
        with psycopg.connect(shop_url, autocommit=True) as shop:
            shop.execute("DROP TABLE IF EXISTS gift_notes")
        with psycopg.connect(extract_environment.warehouse_url, autocommit=True) as warehouse:
            warehouse.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(RAW, "gift_notes"))
            )
            warehouse.execute(
                sql.SQL("DELETE FROM {} WHERE table_name = 'gift_notes'").format(
                    sql.Identifier(RAW, "_watermarks")
                )
            )
        with _clickhouse(extract_environment) as client:
            client.command(f"DROP TABLE IF EXISTS `{RAW}`.`gift_notes` SYNC")


def test_schema_drift(extract_environment: Environment) -> None:
    """Runs last: it changes the shop's schema."""
    extract(extract_environment, "full", options=OPTIONS)
    with psycopg.connect(extract_environment.shop_url, autocommit=True) as shop:
        shop.execute("ALTER TABLE customers ADD COLUMN loyalty_points integer NOT NULL DEFAULT 7")
        shop.execute("UPDATE customers SET loyalty_points = customer_id % 100")
    reports = reports_by_key(extract(extract_environment, "incremental", options=OPTIONS))
    for engine in ("postgres", "clickhouse"):
        assert reports["customers", engine].mode == "full"
        assert "loyalty_points" in reports["customers", engine].reason
        assert reports["orders", engine].mode == "incremental"
    customers = source_tables(extract_environment)["customers"]
    prints = table_fingerprints(extract_environment, customers)
    assert prints["shop"] == prints["postgres"] == prints["clickhouse"]

    with psycopg.connect(extract_environment.shop_url, autocommit=True) as shop:
        shop.execute("ALTER TABLE products ALTER COLUMN brand TYPE varchar(80)")
    with pytest.raises(ShopmartsError) as changed:
        extract(extract_environment, "incremental", options=OPTIONS)
    assert "products" in str(changed.value) and "brand" in str(changed.value)
    assert "changed type" in str(changed.value)

    with psycopg.connect(extract_environment.shop_url, autocommit=True) as shop:
        shop.execute("ALTER TABLE products ALTER COLUMN brand TYPE text")
        shop.execute("ALTER TABLE reviews DROP COLUMN title")
    with pytest.raises(ShopmartsError) as dropped:
        extract(extract_environment, "full", options=OPTIONS)
    message = str(dropped.value)
    assert "reviews" in message and "title" in message and "dropped" in message
    assert "products" not in message
