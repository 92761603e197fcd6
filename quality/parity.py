"""Cross-engine parity: every mart holds the same rows in the warehouse and in ClickHouse.

The marts are built twice from the same SQL; this check proves the two builds agree,
row for row and value for value (integers, dates, decimals and text exactly). It runs
on every refresh, before publishing.

How: the marts of a schema are listed in both engines; for each, the column names and
types must match. Then each engine computes the mart's fingerprint where the rows are:
its row count and two sums of 60-bit pieces of each row's MD5 over one canonical text of
the row, which both engines print alike (integers, trimmed decimals, ISO dates, text,
lower-case UUIDs, NULL as the control character 30). Equal fingerprints: the engines hold
the same multiset of rows, and only three numbers crossed the wire. Different
fingerprints (or a column type without a shared text, such as floats): both engines
stream the rows sorted by the mart's grain (the ClickHouse table's ORDER BY key) and then
by every other column, a chunk at a time, and the two streams are merged on the grain.
Memory stays bounded by the chunk size. The report names each failing mart with its
first differing rows: grain key, column, and both values. Two marts are compared at once.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient
from psycopg import sql

from core.clients import clickhouse_client
from core.settings import Environment
from quality.workers import map_on_connections

# Marts compared at once. A mart's fingerprint is one query per engine, each on one core:
# two marts at a time keep both cores of a small machine busy (the hourly's parity at
# scale 100: 3.2 s one mart at a time, the warehouse's fingerprints 1.5 s, 1.0 s, ...).
PARITY_WORKERS = 2
# dbt's temporary relations (x__dbt_tmp, x__dbt_backup) are not marts.
_DBT_TEMPORARY = re.compile(r"__dbt_(tmp|backup)")
_MISSING = object()


@dataclass(frozen=True)
class Difference:
    """One way a mart differs between the engines."""

    kind: str  # "value", "only in warehouse", "only in clickhouse", "columns", "types"
    key: tuple[Any, ...] | None = None  # the row's grain values
    column: str | None = None
    warehouse: Any = None
    clickhouse: Any = None

    def describe(self, grain: Sequence[str]) -> str:
        where = ""
        if self.key is not None:
            pairs = zip(grain, self.key, strict=False)
            where = ", ".join(f"{name}={show(value)}" for name, value in pairs)
        if self.kind == "value":
            return (
                f"row ({where}) column {self.column}: "
                f"warehouse={show(self.warehouse)} clickhouse={show(self.clickhouse)}"
            )
        if self.kind in ("only in warehouse", "only in clickhouse"):
            return f"row ({where}) is {self.kind}"
        return f"{self.kind}: warehouse={self.warehouse!r} clickhouse={self.clickhouse!r}"


def show(value: Any) -> str:
    """A value as SQL would print it: NULL, 'text', 2024-01-31, 12.50."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


@dataclass
class MartParity:
    """The comparison of one mart."""

    mart: str
    grain: tuple[str, ...] = ()
    warehouse_rows: int | None = None
    clickhouse_rows: int | None = None
    differing_rows: int = 0
    differences: list[Difference] = field(default_factory=list)
    problem: str | None = None  # the mart cannot be compared row by row (missing, columns)
    seconds: float = 0.0
    # How the rows were compared: "fingerprint" (equal in-engine fingerprints) or "rows"
    # (the sorted streams merged; fingerprints differed or a column type has no shared text).
    method: str = ""

    @property
    def passed(self) -> bool:
        return self.problem is None and self.differing_rows == 0

    def describe(self) -> str:
        if self.passed:
            return f"{self.mart}: {self.warehouse_rows} rows identical in both engines"
        lines = [f"{self.mart}: {self.problem or f'{self.differing_rows} differing rows'}"]
        if self.warehouse_rows is not None or self.clickhouse_rows is not None:
            lines[0] += (
                f" (warehouse {self.warehouse_rows} rows, clickhouse {self.clickhouse_rows} rows)"
            )
        lines += [f"  {difference.describe(self.grain)}" for difference in self.differences]
        return "\n".join(lines)


@dataclass
class ParityReport:
    """Parity of every compared mart of one schema."""

    schema: str
    marts: list[MartParity]

    @property
    def passed(self) -> bool:
        return bool(self.marts) and all(mart.passed for mart in self.marts)

    @property
    def failures(self) -> list[MartParity]:
        return [mart for mart in self.marts if not mart.passed]

    def summary(self) -> str:
        if not self.marts:
            return f"parity of {self.schema}: no mart found in either engine"
        failed = len(self.failures)
        verdict = "identical" if self.passed else f"{failed} of {len(self.marts)} differ"
        lines = [f"parity of {self.schema} (warehouse vs clickhouse): {verdict}"]
        lines += [mart.describe() for mart in self.marts]
        return "\n".join(lines)


def check_parity(
    environment: Environment,
    schema: str = "marts",
    marts: Sequence[str] | None = None,
    *,
    max_differences: int = 5,
    chunk_rows: int = 20_000,
) -> ParityReport:
    """Compare ``marts`` (default: every mart found in ``schema`` of either engine).

    A mart passes when it exists in both engines with the same columns and types and
    the same rows. At most ``max_differences`` differences are kept per mart; every
    differing row is counted.
    """
    with _connections(environment) as (warehouse, clickhouse):
        warehouse_columns = _warehouse_relations(warehouse, schema)
        clickhouse_columns, sorting_keys = _clickhouse_relations(clickhouse, schema)
    names = (
        list(marts)
        if marts is not None
        else sorted(set(warehouse_columns) | set(clickhouse_columns))
    )

    def compare(connections: tuple[psycopg.Connection, ClickHouseClient], name: str) -> MartParity:
        started = time.perf_counter()
        result = _compare_mart(
            *connections,
            schema,
            name,
            warehouse_columns.get(name),
            clickhouse_columns.get(name),
            sorting_keys.get(name, ()),
            max_differences,
            chunk_rows,
        )
        result.seconds = time.perf_counter() - started
        return result

    results = map_on_connections(lambda: _connections(environment), compare, names, PARITY_WORKERS)
    return ParityReport(schema, results)


@contextlib.contextmanager
def _connections(
    environment: Environment,
) -> Iterator[tuple[psycopg.Connection, ClickHouseClient]]:
    """A connection to the warehouse and a client of ClickHouse, closed after the block."""
    with (
        psycopg.connect(environment.warehouse_url) as warehouse,
        clickhouse_client(environment.clickhouse_url) as clickhouse,
    ):
        yield warehouse, clickhouse


def _warehouse_relations(conn: psycopg.Connection, schema: str) -> dict[str, list[tuple[str, str]]]:
    """Tables, views and materialized views of ``schema`` with their (column, type)s.

    pg_attribute rather than information_schema, which leaves materialized views out.
    """
    rows = conn.execute(
        """
        select c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p', 'f')
        order by c.relname, a.attnum
        """,
        (schema,),
    ).fetchall()
    conn.rollback()
    relations: dict[str, list[tuple[str, str]]] = {}
    for relation, column, column_type in rows:
        if not _DBT_TEMPORARY.search(relation):
            relations.setdefault(relation, []).append((column, column_type))
    return relations


def _clickhouse_relations(
    client: ClickHouseClient, schema: str
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, tuple[str, ...]]]:
    """Tables of database ``schema`` with their (column, type)s and their ORDER BY columns."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, column_type in client.query(
        "SELECT table, name, type FROM system.columns WHERE database = {db:String} "
        "ORDER BY table, position",
        parameters={"db": schema},
    ).result_rows:
        if not _DBT_TEMPORARY.search(table):
            columns.setdefault(table, []).append((column, column_type))
    sorting_keys = {
        table: tuple(
            part.strip().strip("`") for part in key.strip().strip("()").split(",") if part.strip()
        )
        for table, key in client.query(
            "SELECT name, sorting_key FROM system.tables WHERE database = {db:String}",
            parameters={"db": schema},
        ).result_rows
    }
    return columns, sorting_keys


def canonical_type(column_type: str) -> str:
    """A column type in words both engines share: bigint, integer, numeric(18,2), date, text."""
    text = column_type.strip()
    while True:
        match = re.fullmatch(r"(?:Nullable|LowCardinality)\((.*)\)", text)
        if not match:
            break
        text = match.group(1)
    # A source profile's keys and names keep the shop's types (uuid, varchar(n)).
    if text.lower() == "uuid":
        return "uuid"
    if re.fullmatch(r"character varying\(\d+\)", text):
        return "text"
    decimal = re.fullmatch(r"(?:Decimal|numeric)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", text, re.I)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    sized = re.fullmatch(r"Decimal(32|64|128|256)\((\d+)\)", text)
    if sized:
        precision = {"32": 9, "64": 18, "128": 38, "256": 76}[sized.group(1)]
        return f"numeric({precision},{sized.group(2)})"
    names = {
        "Int16": "smallint",
        "Int32": "integer",
        "Int64": "bigint",
        "Float32": "real",
        "Float64": "double precision",
        "Bool": "boolean",
        "String": "text",
        "character varying": "text",
        "Date": "date",
        "Date32": "date",
    }
    if text.startswith("DateTime64") or text.startswith("DateTime"):
        return "timestamp with time zone"
    return names.get(text, text)


def _compare_mart(
    warehouse: psycopg.Connection,
    clickhouse: ClickHouseClient,
    schema: str,
    mart: str,
    warehouse_columns: list[tuple[str, str]] | None,
    clickhouse_columns: list[tuple[str, str]] | None,
    sorting_key: tuple[str, ...],
    max_differences: int,
    chunk_rows: int,
) -> MartParity:
    result = MartParity(mart)
    if warehouse_columns is None or clickhouse_columns is None:
        result.problem = (
            "missing in both engines"
            if warehouse_columns is None and clickhouse_columns is None
            else f"missing in {'the warehouse' if warehouse_columns is None else 'clickhouse'}"
        )
        return result

    warehouse_names = [name for name, _ in warehouse_columns]
    clickhouse_names = [name for name, _ in clickhouse_columns]
    if warehouse_names != clickhouse_names:
        result.problem = "different columns"
        result.differences.append(
            Difference("columns", warehouse=warehouse_names, clickhouse=clickhouse_names)
        )
        return result
    types = [
        (name, canonical_type(wh_type), canonical_type(ch_type))
        for (name, wh_type), (_, ch_type) in zip(warehouse_columns, clickhouse_columns, strict=True)
    ]
    mismatched = [(name, wh, ch) for name, wh, ch in types if wh != ch]
    if mismatched:
        result.problem = "different column types"
        for name, wh, ch in mismatched[:max_differences]:
            result.differences.append(Difference("types", column=name, warehouse=wh, clickhouse=ch))
        return result

    columns = warehouse_names
    grain = tuple(name for name in sorting_key if name in columns) or tuple(columns)
    result.grain = grain
    kinds = [wh for _, wh, _ in types]
    if all(_fingerprintable(kind) for kind in kinds):
        # Both engines at once: ClickHouse's in a thread while the warehouse computes its own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            theirs = pool.submit(_clickhouse_fingerprint, clickhouse, schema, mart, columns)
            ours = _warehouse_fingerprint(warehouse, schema, mart, columns, kinds)
            fingerprints = (ours, theirs.result())
        result.warehouse_rows, result.clickhouse_rows = fingerprints[0][0], fingerprints[1][0]
        if fingerprints[0] == fingerprints[1]:
            result.method = "fingerprint"
            return result
    else:
        count_query = sql.SQL("select count(*) from {}.{}").format(
            sql.Identifier(schema), sql.Identifier(mart)
        )
        result.warehouse_rows = int(warehouse.execute(count_query).fetchone()[0])  # type: ignore[index]
        warehouse.rollback()
        result.clickhouse_rows = int(
            clickhouse.command(f"SELECT count() FROM {_ch_name(schema)}.{_ch_name(mart)}")  # type: ignore[arg-type]
        )
    result.method = "rows"

    # Sorted by the grain, then by every other column, so even a grain that is not
    # unique gives both engines the same order. Text sorts bytewise (COLLATE "C") in
    # Postgres, as in ClickHouse and in Python.
    order = list(grain) + [name for name in columns if name not in grain]
    text_columns = {name for name, wh, _ in types if wh == "text"}
    key_positions = [columns.index(name) for name in grain]
    warehouse_rows = _warehouse_rows(
        warehouse, schema, mart, columns, order, text_columns, chunk_rows
    )
    # UUIDs: Postgres orders them bytewise, as their text and Python do; ClickHouse by its
    # two 64-bit halves, so it sorts them by their text.
    uuid_columns = {name for name, wh, _ in types if wh == "uuid"}
    clickhouse_rows = _clickhouse_rows(clickhouse, schema, mart, columns, order, uuid_columns)
    try:
        _merge(result, columns, key_positions, warehouse_rows, clickhouse_rows, max_differences)
    finally:
        warehouse_rows.close()
        clickhouse_rows.close()
        warehouse.rollback()
    if result.differing_rows and result.problem is None:
        result.problem = f"{result.differing_rows} differing rows"
    return result


# Column types (canonical_type) whose values both engines print alike as text (decimals
# once the warehouse trims their scale): the ones a fingerprint can read.
_PRINTED_ALIKE = ("smallint", "integer", "bigint", "text", "date", "boolean", "uuid")


def _fingerprintable(kind: str) -> bool:
    return kind in _PRINTED_ALIKE or bool(re.fullmatch(r"numeric\(\d+,\d+\)", kind))


def _warehouse_text(name: str, kind: str) -> sql.Composable:
    column = sql.Identifier(name)
    if kind.startswith("numeric"):
        # 12.50 prints 12.5 and 12.00 prints 12, as ClickHouse prints its decimals.
        return sql.SQL("trim_scale({})::text").format(column)
    return sql.SQL("{}::text").format(column)


def _warehouse_fingerprint(
    conn: psycopg.Connection, schema: str, mart: str, columns: list[str], kinds: list[str]
) -> tuple[int, int, int]:
    """(rows, sum of hash piece 1, sum of hash piece 2) of the mart, in the warehouse."""
    row_text = sql.SQL(" || chr(31) || ").join(
        sql.SQL("coalesce({}, chr(30))").format(_warehouse_text(name, kind))
        for name, kind in zip(columns, kinds, strict=True)
    )
    # OFFSET 0 keeps the subquery whole: flattened, each piece would build the row's text
    # and hash it again (customer_analytics at scale 100: 2.2 -> 1.4 s, in one process
    # instead of a parallel plan's three).
    query = sql.SQL(
        "select count(*), coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint), 0),"
        " coalesce(sum(('x' || substr(h, 17, 15))::bit(60)::bigint), 0)"
        " from (select md5({}) as h from {}.{} offset 0) as hashed"
    ).format(row_text, sql.Identifier(schema), sql.Identifier(mart))
    row = conn.execute(query).fetchone()
    conn.rollback()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def _clickhouse_fingerprint(
    client: ClickHouseClient, schema: str, mart: str, columns: list[str]
) -> tuple[int, int, int]:
    """The mart's fingerprint as :func:`_warehouse_fingerprint` computes it, in ClickHouse."""
    row_text = ", char(31), ".join(
        f"ifNull(toString({_ch_name(name)}), char(30))" for name in columns
    )
    piece = "toUInt128(bitShiftRight(reinterpretAsUInt64(reverse(substring(h, {}, 8))), 4))"
    query = (
        f"SELECT count(), sum({piece.format(1)}), sum({piece.format(9)}) "
        f"FROM (SELECT MD5(concat({row_text}, '')) AS h "
        f"FROM {_ch_name(schema)}.{_ch_name(mart)})"
    )
    rows, first, second = client.query(
        query, settings={"output_format_decimal_trailing_zeros": 0}
    ).result_rows[0]
    return int(rows), int(first), int(second)


def _merge(
    result: MartParity,
    columns: list[str],
    key_positions: list[int],
    warehouse_rows: Iterator[tuple[Any, ...]],
    clickhouse_rows: Iterator[tuple[Any, ...]],
    max_differences: int,
) -> None:
    """Walk both sorted streams together, matching rows on the grain."""

    def key_of(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[position] for position in key_positions)

    def note(difference: Difference) -> None:
        if len(result.differences) < max_differences:
            result.differences.append(difference)

    def sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
        # NULLs last, as both engines sort them.
        return tuple((value is None, value if value is not None else 0) for value in key)

    warehouse_row = next(warehouse_rows, _MISSING)
    clickhouse_row = next(clickhouse_rows, _MISSING)
    while warehouse_row is not _MISSING or clickhouse_row is not _MISSING:
        if clickhouse_row is _MISSING or (
            warehouse_row is not _MISSING
            and sort_key(key_of(warehouse_row)) < sort_key(key_of(clickhouse_row))  # type: ignore[arg-type]
        ):
            result.differing_rows += 1
            note(Difference("only in warehouse", key=key_of(warehouse_row)))  # type: ignore[arg-type]
            warehouse_row = next(warehouse_rows, _MISSING)
            continue
        if warehouse_row is _MISSING or sort_key(key_of(clickhouse_row)) < sort_key(  # type: ignore[arg-type]
            key_of(warehouse_row)  # type: ignore[arg-type]
        ):
            result.differing_rows += 1
            note(Difference("only in clickhouse", key=key_of(clickhouse_row)))  # type: ignore[arg-type]
            clickhouse_row = next(clickhouse_rows, _MISSING)
            continue
        row_differs = False
        for position, name in enumerate(columns):
            warehouse_value = warehouse_row[position]  # type: ignore[index]
            clickhouse_value = clickhouse_row[position]  # type: ignore[index]
            if not _same(warehouse_value, clickhouse_value):
                row_differs = True
                note(
                    Difference(
                        "value",
                        key=key_of(warehouse_row),  # type: ignore[arg-type]
                        column=name,
                        warehouse=warehouse_value,
                        clickhouse=clickhouse_value,
                    )
                )
        result.differing_rows += row_differs
        warehouse_row = next(warehouse_rows, _MISSING)
        clickhouse_row = next(clickhouse_rows, _MISSING)


def _same(warehouse_value: Any, clickhouse_value: Any) -> bool:
    """Exact equality; NULL equals only NULL. Decimal('1.50') equals Decimal('1.5')."""
    if warehouse_value is None or clickhouse_value is None:
        return warehouse_value is None and clickhouse_value is None
    return bool(warehouse_value == clickhouse_value)


class _Rows:
    """An iterator over a query's rows that can be closed early."""

    def __init__(self, iterator: Iterator[tuple[Any, ...]], close: Any) -> None:
        self._iterator = iterator
        self._close = close

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self

    def __next__(self) -> tuple[Any, ...]:
        return next(self._iterator)

    def close(self) -> None:
        self._close()


def _warehouse_rows(
    conn: psycopg.Connection,
    schema: str,
    mart: str,
    columns: list[str],
    order: list[str],
    text_columns: set[str],
    chunk_rows: int,
) -> _Rows:
    order_items = [
        sql.SQL('{} collate "C" nulls last' if name in text_columns else "{} nulls last").format(
            sql.Identifier(name)
        )
        for name in order
    ]
    query = sql.SQL("select {} from {}.{} order by {}").format(
        sql.SQL(", ").join(sql.Identifier(name) for name in columns),
        sql.Identifier(schema),
        sql.Identifier(mart),
        sql.SQL(", ").join(order_items),
    )
    cursor = conn.cursor(name=f"parity_{mart}")  # server side: fetched chunk by chunk
    cursor.itersize = chunk_rows
    cursor.execute(query)
    return _Rows(iter(cursor), cursor.close)


def _clickhouse_rows(
    client: ClickHouseClient,
    schema: str,
    mart: str,
    columns: list[str],
    order: list[str],
    uuid_columns: set[str],
) -> _Rows:
    order_items = [
        f"toString({_ch_name(name)}) NULLS LAST"
        if name in uuid_columns
        else f"{_ch_name(name)} NULLS LAST"
        for name in order
    ]
    query = "SELECT {} FROM {}.{} ORDER BY {}".format(
        ", ".join(_ch_name(name) for name in columns),
        _ch_name(schema),
        _ch_name(mart),
        ", ".join(order_items),
    )
    stream = client.query_rows_stream(query)
    context = stream.__enter__()

    def rows() -> Iterator[tuple[Any, ...]]:
        for row in context:
            yield tuple(row)

    return _Rows(rows(), lambda: stream.__exit__(None, None, None))


def _ch_name(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
