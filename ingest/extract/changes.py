"""The change log: which keys each load upserted or deleted, per table, per engine.

The incremental marts (`dbt_project/models/intermediate/`) recompute only the aggregate
keys that new raw rows touch; they find those rows here. Every extract run takes one
**batch** id from a warehouse sequence (monotonic: extracts are serialized by the
extract's advisory lock, and a sequence never goes back), and each of its loads writes,
set-based and beside its data:

* ``raw._change_batches`` (both engines): one row per load, ``(batch, table_name,
  mode)``; ``mode`` is ``full`` for a full load, which logs no keys: a full load means
  "everything changed" and whatever folds the log rebuilds from raw;
* ``raw._changes__<table>`` (both engines, created on first use): ``(_batch, _deleted,
  <the table's primary key columns, typed as in raw>)``, one row per key an incremental
  load upserted (``_deleted`` false) or hard-deleted (true).

In the warehouse the rows are written in the load's own transaction, so the log and raw
never disagree. In ClickHouse (no transactions) the keys are written after the rows and
before the deletes; a crash in between leaves raw ahead of the log only until the next
load of that table, which logs its keys again (its cursor re-reads them): what folds the
log treats a key as changed whatever the row says, so logging a key twice is harmless.
The log is pruned by whatever folds it (batches at or below its watermark), and a full
load of a table drops that table's log: the full load itself means "everything changed",
so no key logged before it is needed again, and the log is made anew, typed like the
reloaded raw table's key, by the next incremental load (a warehouse switched to another
source profile gets logs keyed as that profile's tables are).
"""

from __future__ import annotations

import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient
from psycopg import sql

from core.clickhouse_cluster import on_cluster, table_engine
from ingest.extract.catalog import CLICKHOUSE_LOADED_AT, SourceTable
from ingest.extract.raw_tables import ch_name

BATCHES_TABLE = "_change_batches"
BATCH_SEQUENCE = "_change_batch"
CHANGES_PREFIX = "_changes__"


def changes_table(table: str) -> str:
    """The name of ``table``'s change log (in the raw schema / database)."""
    return CHANGES_PREFIX + table


def open_batch(warehouse: psycopg.Connection, clickhouse: ClickHouseClient | None, raw: str) -> int:
    """Create the batch sequence and tables if missing; return this run's new batch id."""
    warehouse.execute(
        sql.SQL("CREATE SEQUENCE IF NOT EXISTS {}").format(sql.Identifier(raw, BATCH_SEQUENCE))
    )
    warehouse.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (batch bigint NOT NULL, table_name text NOT NULL, "
            "mode text NOT NULL, logged_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(raw, BATCHES_TABLE))
    )
    if clickhouse is not None:
        clickhouse.command(
            f"CREATE TABLE IF NOT EXISTS {ch_name(raw, BATCHES_TABLE)} "
            "(batch Int64, table_name String, mode String, "
            "logged_at DateTime64(6, 'UTC') DEFAULT now64(6)) "
            "ENGINE = MergeTree ORDER BY batch"
        )
    row = warehouse.execute(
        sql.SQL("SELECT nextval({})").format(sql.Literal(f"{raw}.{BATCH_SEQUENCE}"))
    ).fetchone()
    assert row is not None
    return int(row[0])


def _postgres_changes(
    warehouse: psycopg.Connection, raw: str, source: SourceTable
) -> sql.Identifier:
    """``source``'s change log in the warehouse, created (typed like raw's key) if missing."""
    table = sql.Identifier(raw, changes_table(source.name))
    warehouse.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} AS SELECT 0::bigint AS _batch, false AS _deleted, {} "
            "FROM {} WITH NO DATA"
        ).format(
            table,
            sql.SQL(", ").join(map(sql.Identifier, source.primary_key)),
            sql.Identifier(raw, source.name),
        )
    )
    return table


def log_postgres_load(
    warehouse: psycopg.Connection,
    raw: str,
    source: SourceTable,
    batch: int,
    mode: str,
    upserted_from: sql.Identifier | None = None,
) -> None:
    """Log one warehouse load (its transaction): the batch row and, for an incremental
    load, the keys of ``upserted_from`` (the load's delta table)."""
    warehouse.execute(
        sql.SQL("INSERT INTO {} (batch, table_name, mode) VALUES (%s, %s, %s)").format(
            sql.Identifier(raw, BATCHES_TABLE)
        ),
        (batch, source.name, mode),
    )
    if mode == "full":  # in the load's transaction: the log goes with what it described
        warehouse.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(
                sql.Identifier(raw, changes_table(source.name))
            )
        )
    if upserted_from is None or not source.primary_key:
        return
    keys = sql.SQL(", ").join(map(sql.Identifier, source.primary_key))
    warehouse.execute(
        sql.SQL("INSERT INTO {} (_batch, _deleted, {}) SELECT %s, false, {} FROM {}").format(
            _postgres_changes(warehouse, raw, source), keys, keys, upserted_from
        ),
        (batch,),
    )


def postgres_delete_logged(
    warehouse: psycopg.Connection,
    raw: str,
    source: SourceTable,
    batch: int | None,
    delete: sql.Composed,
) -> int:
    """Run ``delete`` (a ``DELETE ... `` without RETURNING) and log the keys it removed, in
    one statement; returns the rows deleted."""
    if batch is None or not source.primary_key:
        return warehouse.execute(delete).rowcount
    keys = sql.SQL(", ").join(map(sql.Identifier, source.primary_key))
    cursor = warehouse.execute(
        sql.SQL(
            "WITH gone AS ({} RETURNING {}) INSERT INTO {} (_batch, _deleted, {}) "
            "SELECT %s, true, {} FROM gone"
        ).format(delete, keys, _postgres_changes(warehouse, raw, source), keys, keys),
        (batch,),
    )
    return cursor.rowcount


def _clickhouse_changes(
    client: ClickHouseClient, raw: str, source: SourceTable, cluster: str | None
) -> str:
    """``source``'s change log in ClickHouse, created (typed like raw's key) if missing."""
    table = ch_name(raw, changes_table(source.name))
    columns = ", ".join(
        f"{ch_name(name)} {source.column(name).clickhouse_type}" for name in source.primary_key
    )
    client.command(
        f"CREATE TABLE IF NOT EXISTS {table}{on_cluster(cluster)} "
        f"(_batch Int64, _deleted Bool, {columns}) "
        f"ENGINE = {table_engine('MergeTree ORDER BY _batch', cluster)}"
    )
    return table


def clickhouse_load_started(client: ClickHouseClient) -> str:
    """The server's clock before a load inserts: the rows it inserts carry a later
    `_loaded_at` (the column's default), which is how their keys are found afterwards."""
    return str(client.command("SELECT toString(now64(6, 'UTC'))"))


def log_clickhouse_load(
    client: ClickHouseClient,
    raw: str,
    source: SourceTable,
    batch: int,
    mode: str,
    cluster: str | None,
    loaded_since: str | None = None,
) -> None:
    """Log one ClickHouse load: the batch row and, for an incremental load, the keys of
    the rows it inserted (those loaded at or after ``loaded_since``)."""
    if loaded_since is not None and source.primary_key:
        keys = ", ".join(ch_name(name) for name in source.primary_key)
        client.command(
            f"INSERT INTO {_clickhouse_changes(client, raw, source, cluster)} "
            f"(_batch, _deleted, {keys}) SELECT DISTINCT {batch}, false, {keys} "
            f"FROM {ch_name(raw, source.name)} "
            f"WHERE {ch_name(CLICKHOUSE_LOADED_AT)} >= toDateTime64(%(since)s, 6, 'UTC')",
            parameters={"since": loaded_since},
        )
    client.command(
        f"INSERT INTO {ch_name(raw, BATCHES_TABLE)} (batch, table_name, mode) "
        "VALUES (%(batch)s, %(table)s, %(mode)s)",
        parameters={"batch": batch, "table": source.name, "mode": mode},
    )
    if mode == "full":
        # After the batch row that says "full": a crash in between leaves the old keys,
        # which the full load has made moot, never a full load without its row.
        client.command(
            f"DROP TABLE IF EXISTS {ch_name(raw, changes_table(source.name))}"
            f"{on_cluster(cluster)} SYNC"
        )


def log_clickhouse_deletes(
    client: ClickHouseClient,
    raw: str,
    source: SourceTable,
    batch: int | None,
    keys: tuple[object, ...],
    cluster: str | None,
) -> None:
    """Log ``keys`` (values, or tuples for a composite key) as deleted, before they are."""
    if batch is None or not keys or not source.primary_key:
        return
    key_list = ", ".join(ch_name(name) for name in source.primary_key)
    client.command(
        f"INSERT INTO {_clickhouse_changes(client, raw, source, cluster)} "
        f"(_batch, _deleted, {key_list}) SELECT DISTINCT {batch}, true, {key_list} "
        f"FROM {ch_name(raw, source.name)} WHERE ({key_list}) IN %(keys)s",
        parameters={"keys": keys},
    )
