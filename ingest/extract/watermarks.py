"""The watermarks table: per table and engine, how far the last load read (raw._watermarks).

An incremental load reads the rows whose cursor is at or after the stored watermark
(less the safety margin); each load writes its own row after its data (in the same
transaction for the warehouse), so a crash in between only reloads rows. The row also
keeps what the next run compares to see whether anything changed
(:mod:`ingest.extract.probe`): the window of rows the next run would read, and the
delete counter as of the last delete reconciliation.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from core.vocabulary import Engine
from ingest.extract.probe import TableCounters, Window
from ingest.extract.report import LoadReport

WATERMARKS_TABLE = "_watermarks"

# Columns added after the table's first version: added to an older table once.
_LATER_COLUMNS = {
    "window_since": "timestamptz",
    "window_rows": "bigint",
    "window_cursor_sum": "numeric",
    "window_cursor_max": "timestamptz",
    "shop_counters": "text",
}


@dataclass(frozen=True)
class StoredWatermark:
    """One (table, engine) row of raw._watermarks, as the next run needs it."""

    cursor_column: str | None
    watermark: datetime | None
    snapshot_at: datetime  # when the load's snapshot was taken
    window: Window | None  # the next run's window as the last load's snapshot saw it
    # The shop's counters read before the snapshot raw was made equal to (None: unknown).
    shop_counters: TableCounters | None


StoredWatermarks = dict[tuple[str, Engine], StoredWatermark]


def ensure_watermarks_table(warehouse: psycopg.Connection, raw: str) -> None:
    """Create ``raw._watermarks`` if it does not exist, add the columns an older one lacks.

    The catalog is read first: a run that finds the table as it should be runs no DDL.
    """
    present = {
        name
        for (name,) in warehouse.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s)"
            " AND attnum > 0 AND NOT attisdropped",
            (sql.Identifier(raw, WATERMARKS_TABLE).as_string(warehouse),),
        )
    }
    table = sql.Identifier(raw, WATERMARKS_TABLE)
    if not present:
        warehouse.execute(
            sql.SQL(
                """
                CREATE TABLE IF NOT EXISTS {} (
                    table_name text NOT NULL,
                    engine text NOT NULL,
                    cursor_column text,
                    watermark timestamptz,
                    snapshot_at timestamptz NOT NULL,
                    mode text NOT NULL,
                    rows bigint NOT NULL,
                    bytes bigint NOT NULL,
                    seconds double precision NOT NULL,
                    loaded_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (table_name, engine)
                )
                """
            ).format(table)
        )
    for name, type_name in _LATER_COLUMNS.items():
        if name not in present:
            warehouse.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    table, sql.Identifier(name), sql.SQL(type_name)
                )
            )


def read_watermarks(warehouse: psycopg.Connection, raw: str) -> StoredWatermarks:
    """{(table, engine): stored watermark} of every earlier load."""
    stored: StoredWatermarks = {}
    for (
        table,
        engine,
        cursor,
        watermark,
        snapshot_at,
        since,
        rows,
        cursor_sum,
        cursor_max,
        shop_counters,
    ) in warehouse.execute(
        sql.SQL(
            "SELECT table_name, engine, cursor_column, watermark, snapshot_at, window_since,"
            " window_rows, window_cursor_sum, window_cursor_max, shop_counters FROM {}"
        ).format(sql.Identifier(raw, WATERMARKS_TABLE))
    ):
        window = (
            None
            if since is None or rows is None or cursor_sum is None
            else Window(since, int(rows), int(cursor_sum), cursor_max)
        )
        stored[table, engine] = StoredWatermark(
            cursor, watermark, snapshot_at, window, TableCounters.parse(shop_counters)
        )
    return stored


def store_watermark(
    conn: psycopg.Connection,
    raw: str,
    report: LoadReport,
    snapshot_at: datetime,
    next_window: Window | None = None,
    shop_counters: TableCounters | None = None,
) -> None:
    """Write ``report``'s watermark and figures, replacing the table's earlier row.

    ``next_window``: the next run's window in this load's snapshot; ``shop_counters``:
    the table's counters read before that snapshot, if raw now holds none of the rows
    the snapshot lacks (None: the next run reconciles deletes).
    """
    conn.execute(
        sql.SQL(
            """
            INSERT INTO {} (table_name, engine, cursor_column, watermark, snapshot_at,
                            mode, rows, bytes, seconds, loaded_at, window_since, window_rows,
                            window_cursor_sum, window_cursor_max, shop_counters)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now(), %s, %s, %s, %s, %s)
            ON CONFLICT (table_name, engine) DO UPDATE SET
                cursor_column = EXCLUDED.cursor_column, watermark = EXCLUDED.watermark,
                snapshot_at = EXCLUDED.snapshot_at, mode = EXCLUDED.mode,
                rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, seconds = EXCLUDED.seconds,
                loaded_at = EXCLUDED.loaded_at, window_since = EXCLUDED.window_since,
                window_rows = EXCLUDED.window_rows,
                window_cursor_sum = EXCLUDED.window_cursor_sum,
                window_cursor_max = EXCLUDED.window_cursor_max,
                shop_counters = EXCLUDED.shop_counters
            """
        ).format(sql.Identifier(raw, WATERMARKS_TABLE)),
        (
            report.table,
            report.engine,
            report.cursor_column,
            report.watermark,
            snapshot_at,
            report.mode,
            report.rows,
            report.bytes,
            report.seconds,
            None if next_window is None else next_window.since,
            None if next_window is None else next_window.rows,
            None if next_window is None else next_window.cursor_sum,
            None if next_window is None else next_window.cursor_max,
            None if shop_counters is None else shop_counters.text(),
        ),
    )


def mark_current(
    warehouse: psycopg.Connection, raw: str, loads: Collection[tuple[str, Engine]]
) -> None:
    """Record that ``loads`` (table, engine) were found current now, though not loaded.

    `loaded_at` is what raw's freshness reads (dbt's source freshness on PostgreSQL): a
    table no one wrote to is as fresh as one just loaded. One statement for all of them;
    the watermark and the window stay, so the next run compares with the same figures.
    """
    if not loads:
        return
    tables, engines = zip(*sorted(loads), strict=True)
    warehouse.execute(
        sql.SQL(
            "UPDATE {} SET loaded_at = now() WHERE (table_name, engine) IN"
            " (SELECT * FROM unnest(%s::text[], %s::text[]))"
        ).format(sql.Identifier(raw, WATERMARKS_TABLE)),
        (list(tables), list(engines)),
    )
