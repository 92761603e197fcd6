"""Schema drift between a shop table and its raw copies.

A column added in the shop is added to raw (the extract then reloads that table
whole, so the new column is filled for every row). A column whose type changed,
or that the shop dropped, stops the extract: silently retyping or dropping
analysts' data is a decision for a person, so the error says which table and
column, and how to accept the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from core.errors import ShopmartsError
from ingest.extract.catalog import CLICKHOUSE_LOADED_AT, SourceTable

# name -> (type, not null) in the warehouse; name -> type in ClickHouse.
PostgresRawColumns = dict[str, tuple[str, bool]]
ClickHouseRawColumns = dict[str, str]

_METADATA_COLUMNS = {CLICKHOUSE_LOADED_AT}


@dataclass
class TableDrift:
    """How one raw table differs from its shop table."""

    table: str
    engine: str
    exists: bool
    added_columns: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _describe_postgres(type_name: str, not_null: bool) -> str:
    return f"{type_name} NOT NULL" if not_null else type_name


def postgres_drift(source: SourceTable, raw: PostgresRawColumns | None) -> TableDrift:
    """Compare a shop table with its warehouse raw table (None: raw does not exist)."""
    drift = TableDrift(source.name, "postgres", exists=raw is not None)
    if raw is None:
        return drift
    for column in source.columns:
        if column.name not in raw:
            drift.added_columns.append(column.name)
            continue
        expected = (column.postgres_type, column.not_null)
        if raw[column.name] != expected:
            drift.problems.append(
                f"column {column.name} changed type from {_describe_postgres(*raw[column.name])} "
                f"to {_describe_postgres(*expected)}"
            )
    for name in raw:
        if name not in source.column_names:
            drift.problems.append(f"column {name} was dropped from the shop")
    return drift


def clickhouse_drift(source: SourceTable, raw: ClickHouseRawColumns | None) -> TableDrift:
    """Compare a shop table with its ClickHouse raw table (None: raw does not exist)."""
    drift = TableDrift(source.name, "clickhouse", exists=raw is not None)
    if raw is None:
        return drift
    for column in source.columns:
        if column.name not in raw:
            drift.added_columns.append(column.name)
        elif raw[column.name] != column.clickhouse_type:
            drift.problems.append(
                f"column {column.name} changed type from {raw[column.name]} "
                f"to {column.clickhouse_type}"
            )
    for name in raw:
        if name not in source.column_names and name not in _METADATA_COLUMNS:
            drift.problems.append(f"column {name} was dropped from the shop")
    return drift


def raise_on_breaking_drift(drifts: list[TableDrift], raw_schema: str) -> None:
    """One error naming every table and column whose type changed or that was dropped."""
    breaking = [drift for drift in drifts if drift.problems]
    if not breaking:
        return
    where = {"postgres": "the warehouse", "clickhouse": "ClickHouse"}
    details = "; ".join(
        f"shop table {drift.table}: {problem} (raw.{drift.table} in {where[drift.engine]})"
        for drift in breaking
        for problem in drift.problems
    )
    raise ShopmartsError(
        f"schema drift stops the extract: {details}. To accept the new schema, drop "
        f"{raw_schema}.<table> in that engine; the next extract recreates and reloads it"
    )


def read_postgres_raw_columns(
    conn: psycopg.Connection, raw_schema: str
) -> dict[str, PostgresRawColumns]:
    """Columns of every table in the warehouse's raw schema."""
    tables: dict[str, PostgresRawColumns] = {}
    rows = conn.execute(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
        ORDER BY c.relname, a.attnum
        """,
        (raw_schema,),
    )
    for table, name, type_name, not_null in rows:
        tables.setdefault(table, {})[name] = (type_name, not_null)
    return tables


def read_clickhouse_raw_columns(client, raw_database: str) -> dict[str, ClickHouseRawColumns]:  # noqa: ANN001 - clickhouse_connect Client
    """Columns of every table in ClickHouse's raw database."""
    tables: dict[str, ClickHouseRawColumns] = {}
    result = client.query(
        "SELECT table, name, type FROM system.columns WHERE database = {db:String} "
        "ORDER BY table, position",
        parameters={"db": raw_database},
    )
    for table, name, type_name in result.result_rows:
        tables.setdefault(table, {})[name] = type_name
    return tables
