"""One table into ClickHouse: raw tables are ReplacingMergeTree(`_loaded_at`) by primary key.

`FINAL` returns the newest load of every key. Full: load a new table, then `EXCHANGE
TABLES` it with raw.t (readers never see a half-loaded table). Rows arrive as the shop's
text COPY passed through unchanged as TabSeparated (ClickHouse parses it; Python only
moves bytes). Optionally ClickHouse pulls full loads itself from the warehouse table just
loaded, through `postgresql()` (same snapshot); measured slower here, so streaming is the
default. Incremental: the changed rows are inserted into raw.t, then a lightweight DELETE
removes keys the snapshot no longer has; a crash before the watermark is written only
means rows are loaded again, and FINAL dedupes.
"""

from __future__ import annotations

import time
from urllib.parse import unquote, urlsplit

import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient

from core.clickhouse_cluster import on_cluster
from ingest.extract.catalog import SourceTable
from ingest.extract.changes import clickhouse_load_started, log_clickhouse_load
from ingest.extract.deletes import delete_missing_in_clickhouse
from ingest.extract.plan import LoadContext, LoadPlan, source_query
from ingest.extract.raw_tables import (
    LOADING_SUFFIX,
    ch_name,
    ch_string,
    clickhouse_table_ddl,
    connect_clickhouse,
)
from ingest.extract.report import LoadReport
from ingest.extract.watermarks import store_watermark


def load_clickhouse(context: LoadContext, plan: LoadPlan) -> LoadReport:
    """Load ``plan``'s table into ClickHouse's raw copy, then store its watermark."""
    started = time.perf_counter()
    source = plan.table
    raw, cluster = context.raw, on_cluster(context.options.clickhouse_cluster)
    client = connect_clickhouse(context.environment.clickhouse_url)
    try:
        target = ch_name(raw, source.name)
        loading = ch_name(raw, source.name + LOADING_SUFFIX)
        if plan.mode == "full":
            # A table left by a crashed run is dropped: it was never exchanged.
            client.command(f"DROP TABLE IF EXISTS {loading}{cluster} SYNC")
            client.command(
                clickhouse_table_ddl(
                    raw, source.name + LOADING_SUFFIX, source, context.options.clickhouse_cluster
                )
            )
            insert_into = loading
        else:
            insert_into = target
        deleted = plan.deleted_without_reconciling
        batch = context.change_batch
        # Incremental: the rows inserted from here on are this load's (their `_loaded_at`).
        since = clickhouse_load_started(client) if plan.mode != "full" else None
        if plan.pull_after_postgres:
            rows, size = _pull_into_clickhouse(context, client, source, insert_into)
            method = "ClickHouse pulls from the warehouse (postgresql())"
        else:
            rows, size = context.reads.into_clickhouse(
                client,
                source_query(plan, binary=False),
                source.name,
                source.column_names,
                insert_into,
            )
            method = "COPY text -> INSERT TabSeparated"
        if plan.mode == "full":
            client.command(f"EXCHANGE TABLES {loading} AND {target}{cluster}")
            client.command(f"DROP TABLE IF EXISTS {loading}{cluster} SYNC")
        cluster_name = context.options.clickhouse_cluster
        if batch is not None:
            log_clickhouse_load(client, raw, source, batch, plan.mode, cluster_name, since)
        if plan.mode != "full" and plan.reconcile_deletes:
            deleted = delete_missing_in_clickhouse(
                context.reads,
                client,
                raw,
                source,
                target,
                batch,
                cluster_name,
                counted=not plan.deletes_known,
            )
    finally:
        client.close()
    snapshot = context.reads.snapshot
    report = plan.report(snapshot.watermark, method, rows, size, started, deleted)
    # The watermark is written after the data: a crash in between only reloads rows.
    with psycopg.connect(context.environment.warehouse_url, autocommit=True) as warehouse:
        store_watermark(
            warehouse, raw, report, snapshot.taken_at, plan.next_window, plan.shop_counters
        )
    return report


def _pull_into_clickhouse(
    context: LoadContext, client: ClickHouseClient, source: SourceTable, insert_into: str
) -> tuple[int, int]:
    """ClickHouse copies the warehouse table just loaded through postgresql()."""
    assert context.pull_host is not None
    parts = urlsplit(context.environment.warehouse_url)
    columns = ", ".join(ch_name(name) for name in source.column_names)
    remote = "postgresql({}, {}, {}, {}, {}, {})".format(
        ch_string(context.pull_host),
        ch_string(parts.path.strip("/")),
        ch_string(source.name),
        ch_string(unquote(parts.username or "postgres")),
        ch_string(unquote(parts.password or "")),
        ch_string(context.raw),
    )
    summary = client.command(
        f"INSERT INTO {insert_into} ({columns}) SELECT {columns} FROM {remote}"
    )
    totals = getattr(summary, "summary", {}) or {}
    rows = int(totals.get("written_rows", 0) or 0)
    size = int(totals.get("written_bytes", 0) or 0)
    if not rows:
        rows = int(str(client.command(f"SELECT count() FROM {insert_into}")))
    return rows, size
