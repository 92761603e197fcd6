"""The watermarks table: per table and engine, how far the last load read (raw._watermarks).

An incremental load reads the rows whose cursor is at or after the stored watermark
(less the safety margin); each load writes its own row after its data (in the same
transaction for the warehouse), so a crash in between only reloads rows.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from core.vocabulary import Engine
from ingest.extract.report import LoadReport

WATERMARKS_TABLE = "_watermarks"

StoredWatermarks = dict[tuple[str, Engine], tuple[str | None, datetime | None]]


def ensure_watermarks_table(warehouse: psycopg.Connection, raw: str) -> None:
    """Create ``raw._watermarks`` if it does not exist."""
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
        ).format(sql.Identifier(raw, WATERMARKS_TABLE))
    )


def read_watermarks(warehouse: psycopg.Connection, raw: str) -> StoredWatermarks:
    """{(table, engine): (cursor column, watermark)} of every earlier load."""
    return {
        (table, engine): (cursor, watermark)
        for table, engine, cursor, watermark in warehouse.execute(
            sql.SQL("SELECT table_name, engine, cursor_column, watermark FROM {}").format(
                sql.Identifier(raw, WATERMARKS_TABLE)
            )
        )
    }


def store_watermark(
    conn: psycopg.Connection, raw: str, report: LoadReport, snapshot_at: datetime
) -> None:
    """Write ``report``'s watermark and figures, replacing the table's earlier row."""
    conn.execute(
        sql.SQL(
            """
            INSERT INTO {} (table_name, engine, cursor_column, watermark, snapshot_at,
                            mode, rows, bytes, seconds, loaded_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (table_name, engine) DO UPDATE SET
                cursor_column = EXCLUDED.cursor_column, watermark = EXCLUDED.watermark,
                snapshot_at = EXCLUDED.snapshot_at, mode = EXCLUDED.mode,
                rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, seconds = EXCLUDED.seconds,
                loaded_at = EXCLUDED.loaded_at
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
        ),
    )
