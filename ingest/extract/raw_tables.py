"""The raw copies of the shop's tables in each engine: names, connections and DDL."""

from __future__ import annotations

import clickhouse_connect
import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient
from psycopg import sql

from core.clickhouse_cluster import on_cluster, table_engine
from core.vocabulary import Engine
from ingest.extract.catalog import CLICKHOUSE_LOADED_AT, SourceTable

LOADING_SUFFIX = "__loading"  # ClickHouse: a full load before EXCHANGE
KEYS_SUFFIX = "__keys"  # ClickHouse: the shop's keys, to find hard deletes


def connect_clickhouse(url: str) -> ClickHouseClient:
    """A ClickHouse client for one load: no session (loads run in parallel), long reads."""
    return clickhouse_connect.get_client(
        dsn=url, autogenerate_session_id=False, send_receive_timeout=3600
    )


def ch_name(*parts: str) -> str:
    """A ClickHouse identifier (``db.table`` from two parts), quoted."""
    return ".".join("`" + part.replace("\\", "\\\\").replace("`", "\\`") + "`" for part in parts)


def ch_string(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def postgres_table_ddl(raw_schema: str, source: SourceTable) -> sql.Composed:
    """CREATE TABLE for the warehouse copy: the shop's columns, types and primary key."""
    parts: list[sql.Composable] = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(column.name),
            sql.SQL(column.postgres_type),
            sql.SQL(" NOT NULL" if column.not_null else ""),
        )
        for column in source.columns
    ]
    if source.primary_key:
        parts.append(
            sql.SQL("PRIMARY KEY ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, source.primary_key))
            )
        )
    return sql.SQL("CREATE TABLE {} ({})").format(
        sql.Identifier(raw_schema, source.name), sql.SQL(", ").join(parts)
    )


def postgres_secondary_indexes(raw_schema: str, source: SourceTable) -> dict[str, sql.Composed]:
    """The warehouse copy's indexes besides its primary key, by name: CREATE INDEX for each.

    - each foreign key (``SourceTable.foreign_keys``): the incremental marts find an
      order's lines, or a customer's orders, by probing;
    - the cursor column: the raw gate validates an incremental batch by slicing each
      table at the batch's lower bound, a range scan of this index, not of the table
      (20M audit rows at scale 100: 6.2 s a scan).

    Index names are per schema, hence the table's name in each.
    """
    indexed = [(columns, "fkey_idx") for columns in source.foreign_keys]
    if source.cursor_column is not None and source.primary_key:
        indexed.append(((source.cursor_column,), "cursor_idx"))
    indexes = {}
    for columns, suffix in indexed:
        name = "_".join((source.name, *columns, suffix))
        indexes[name] = sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
            sql.Identifier(name),
            sql.Identifier(raw_schema, source.name),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
        )
    return indexes


def clickhouse_table_ddl(
    raw_database: str, table_name: str, source: SourceTable, cluster: str | None = None
) -> str:
    """CREATE TABLE for the ClickHouse copy: ReplacingMergeTree versioned by load time
    (on a ``cluster``: created ON CLUSTER, ReplicatedReplacingMergeTree)."""
    columns = [f"{ch_name(column.name)} {column.clickhouse_type}" for column in source.columns]
    columns.append(f"{ch_name(CLICKHOUSE_LOADED_AT)} DateTime64(6, 'UTC') DEFAULT now64(6)")
    if source.primary_key:
        order_by = ", ".join(ch_name(name) for name in source.primary_key)
        # The block columns let an hour's hard deletes be a lightweight update (a patch
        # part, written like an insert), not a mutation (ingest/extract/deletes.py).
        engine = (
            f"ReplacingMergeTree({ch_name(CLICKHOUSE_LOADED_AT)}) ORDER BY ({order_by})"
            " SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1"
        )
    else:
        # Without a key nothing can be deduplicated: such tables are always reloaded whole.
        engine = "MergeTree ORDER BY tuple()"
    return (
        f"CREATE TABLE {ch_name(raw_database, table_name)}{on_cluster(cluster)} "
        f"({', '.join(columns)}) ENGINE = {table_engine(engine, cluster)}"
    )


def create_raw_table(
    raw: str,
    warehouse: psycopg.Connection,
    clickhouse: ClickHouseClient | None,
    source: SourceTable,
    engine: Engine,
    cluster: str | None,
) -> None:
    """Create ``source``'s raw copy in ``engine`` (it does not exist yet)."""
    if engine == "postgres":
        warehouse.execute(postgres_table_ddl(raw, source))
        for statement in postgres_secondary_indexes(raw, source).values():
            warehouse.execute(statement)
    elif clickhouse is not None:
        clickhouse.command(clickhouse_table_ddl(raw, source.name, source, cluster))
