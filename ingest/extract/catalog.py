"""What the shop's tables look like, read from the catalog, and how each maps into raw.

The extract hard-codes no table: names, columns, types, primary and foreign keys and
row estimates come from `pg_catalog` of the shop, and this module decides each
column's type in the warehouse's `raw` schema and in ClickHouse's `raw` database.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from core.errors import ShopmartsError

# Metadata column every ClickHouse raw table carries after the source's columns:
# when the row was loaded. It is the ReplacingMergeTree version, so the newest
# load of a primary key wins and `FINAL` returns exactly one row per key.
CLICKHOUSE_LOADED_AT = "_loaded_at"

# Columns that say when a row last changed, in order of preference. `changed_at`
# is the audit log's insert time (the table is append-only). A table with
# neither is reloaded whole on every incremental run.
CURSOR_COLUMNS = ("updated_at", "changed_at")

# PostgreSQL base type (pg_type.typname) -> ClickHouse type, before Nullable().
_CLICKHOUSE_TYPES = {
    "int2": "Int16",
    "int4": "Int32",
    "int8": "Int64",
    "float4": "Float32",
    "float8": "Float64",
    "bool": "Bool",
    "text": "String",
    "varchar": "String",
    "bpchar": "String",
    "name": "String",
    "citext": "String",
    "json": "String",
    "jsonb": "String",
    "uuid": "UUID",
    "date": "Date",
    "timestamptz": "DateTime64(6, 'UTC')",
    "timestamp": "DateTime64(6, 'UTC')",
    # Kept as PostgreSQL's text form: ClickHouse has no such type, and nothing downstream
    # computes on them (TechAlly's product search vector, addresses of sessions).
    "tsvector": "String",
    "tsquery": "String",
    "inet": "String",
    "cidr": "String",
    "macaddr": "String",
    "xml": "String",
}

# Unconstrained `numeric` has no fixed scale; this is the widest decimal that
# keeps cents and sub-cent rates exact.
_UNCONSTRAINED_NUMERIC = "Decimal(38, 10)"


@dataclass(frozen=True)
class SourceColumn:
    """One column of a shop table, with its types in both raws."""

    name: str
    postgres_type: str  # as `format_type()` spells it, e.g. numeric(10,2)
    clickhouse_type: str  # e.g. Nullable(Decimal(10, 2))
    not_null: bool
    generated: bool


@dataclass(frozen=True)
class SourceTable:
    """One shop table as the catalog describes it."""

    name: str
    columns: tuple[SourceColumn, ...]
    primary_key: tuple[str, ...]
    estimated_bytes: int
    # The columns of each foreign key the primary key does not already lead with: raw
    # indexes them in the warehouse, as the shop does, so that the incremental marts
    # find an order's lines (or a customer's orders) by probing, not by a scan.
    foreign_keys: tuple[tuple[str, ...], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def cursor_column(self) -> str | None:
        """The column incremental loads filter on, or None: reload whole."""
        names = set(self.column_names)
        return next((name for name in CURSOR_COLUMNS if name in names), None)

    @property
    def has_generated_columns(self) -> bool:
        return any(column.generated for column in self.columns)

    def column(self, name: str) -> SourceColumn:
        return next(column for column in self.columns if column.name == name)


_COLUMNS_SQL = """
SELECT c.relname,
       a.attname,
       a.attnotnull,
       a.attgenerated <> '' AS generated,
       t.typtype,
       n_t.nspname = 'pg_catalog' AS builtin,
       -- domains are stored (and sent) as their base type
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
            ELSE format_type(a.atttypid, a.atttypmod) END AS postgres_type,
       CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END AS base_name,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       coalesce(CASE WHEN t.typtype = 'd' THEN bt.typcategory ELSE t.typcategory END, '')
           AS category,
       pg_total_relation_size(c.oid) AS bytes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace n_t ON n_t.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname, a.attnum
"""

_KEYS_SQL = """
SELECT c.relname, con.contype, array_agg(a.attname ORDER BY k.ordinality)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ordinality)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE n.nspname = %(schema)s AND con.contype IN ('p', 'f')
GROUP BY c.relname, con.contype, con.oid
ORDER BY c.relname, min(con.conname)
"""


def _indexed_foreign_keys(
    primary_key: tuple[str, ...], foreign_keys: list[tuple[str, ...]]
) -> tuple[tuple[str, ...], ...]:
    """``foreign_keys`` without repeats and without those the primary key leads with."""
    kept: list[tuple[str, ...]] = []
    for columns in foreign_keys:
        if primary_key[: len(columns)] != columns and columns not in kept:
            kept.append(columns)
    return tuple(kept)


def _numeric_clickhouse_type(typmod: int) -> str:
    if typmod < 0:
        return _UNCONSTRAINED_NUMERIC
    precision = ((typmod - 4) >> 16) & 0xFFFF
    scale = (typmod - 4) & 0xFFFF
    return f"Decimal({precision}, {scale})"


def clickhouse_type_for(
    table: str, column: str, base_name: str, typmod: int, category: str, not_null: bool
) -> str:
    """The ClickHouse type of a shop column: faithful, Nullable() unless NOT NULL."""
    if base_name == "numeric":
        mapped = _numeric_clickhouse_type(typmod)
    elif category == "A" or category == "E":  # arrays and enums keep their text form
        mapped = "String"
    elif base_name in _CLICKHOUSE_TYPES:
        mapped = _CLICKHOUSE_TYPES[base_name]
    else:
        raise ShopmartsError(
            f"shop table {table}: column {column} has type {base_name}, "
            "which the extract does not map to ClickHouse"
        )
    return mapped if not_null else f"Nullable({mapped})"


def _postgres_raw_type(
    table: str, column: str, postgres_type: str, typtype: str, builtin: bool, category: str
) -> str:
    """The column's type in the warehouse: the same, except enums (stored as their labels)."""
    if typtype == "e":
        return "text"
    if not builtin and typtype != "d" and category != "A":
        raise ShopmartsError(
            f"shop table {table}: column {column} has user-defined type {postgres_type}, "
            "which the extract does not copy"
        )
    return postgres_type


def discover_source_tables(
    conn: psycopg.Connection, schema: str = "public"
) -> dict[str, SourceTable]:
    """Every table of ``schema`` in the shop, by name, with columns and keys."""
    columns: dict[str, list[SourceColumn]] = {}
    sizes: dict[str, int] = {}
    for (
        table,
        name,
        not_null,
        generated,
        typtype,
        builtin,
        postgres_type,
        base_name,
        typmod,
        category,
        size,
    ) in conn.execute(_COLUMNS_SQL, {"schema": schema}):
        if typtype == "e":
            category = "E"
        columns.setdefault(table, []).append(
            SourceColumn(
                name=name,
                postgres_type=_postgres_raw_type(
                    table, name, postgres_type, typtype, builtin, category
                ),
                clickhouse_type=clickhouse_type_for(
                    table, name, base_name, typmod, category, not_null
                ),
                not_null=not_null,
                generated=generated,
            )
        )
        sizes[table] = size
    primary_keys: dict[str, tuple[str, ...]] = {}
    foreign_keys: dict[str, list[tuple[str, ...]]] = {}
    for table, kind, key_columns in conn.execute(_KEYS_SQL, {"schema": schema}):
        if kind == "p":
            primary_keys[table] = tuple(key_columns)
        else:
            foreign_keys.setdefault(table, []).append(tuple(key_columns))
    return {
        table: SourceTable(
            name=table,
            columns=tuple(table_columns),
            primary_key=primary_keys.get(table, ()),
            estimated_bytes=sizes[table],
            foreign_keys=_indexed_foreign_keys(
                primary_keys.get(table, ()), foreign_keys.get(table, [])
            ),
        )
        for table, table_columns in columns.items()
    }
