"""What changed in the shop since a table's last load, known without reading the table.

An hourly run mostly finds nothing to do for most tables; reading a table (or counting
it, to find hard deletes) costs time in proportion to its size. Two signals answer
"did anything change?" in time proportional to what changed:

- The **window** of a table with a cursor column: the rows whose cursor is at or after
  the next run's lower bound (the watermark less the safety margin). Each load stores
  the window's count, sum of cursor values and greatest cursor as its snapshot saw
  them; the next run reads the same figures from its own snapshot, through the
  cursor's index. Every insert or update since then lands in the window with a new
  cursor value (the shop's trigger sets it to the writing transaction's start, after
  the last snapshot's watermark), so equal figures mean no row was written. A delete
  inside the window changes them too; one outside it does not, hence:
- The **delete counter**: `pg_stat_user_tables.n_tup_del` of the table (with its
  relfilenode, which TRUNCATE changes, and the statistics' lifetime: server start and
  the database's last reset). Read *before* the snapshot is taken, so every delete it
  counts is in the snapshot; stored by the load that reconciled deletes. A delete is
  counted when its session flushes its statistics: at its commit unless that session
  flushed less than a second earlier, else within about ten seconds. A delete whose
  count is not flushed yet when a run starts is therefore reconciled by the next run,
  never lost. Without statistics (`track_counts` off, partitioned tables) every run
  reconciles, as before.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from ingest.extract.catalog import SourceTable


@dataclass(frozen=True)
class Window:
    """The rows whose cursor is at or after ``since``, as one snapshot saw them."""

    since: datetime
    rows: int
    cursor_sum: int  # of the cursor values in microseconds since the epoch
    cursor_max: datetime | None


_DELETE_COUNTERS_SQL = """
SELECT c.relname,
       CASE WHEN c.relkind = 'r' AND current_setting('track_counts') = 'on'
                 AND s.n_tup_del IS NOT NULL
            THEN concat_ws(':', s.n_tup_del, c.relfilenode,
                           extract(epoch FROM pg_postmaster_start_time()),
                           extract(epoch FROM d.stats_reset))
       END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
LEFT JOIN pg_stat_database d ON d.datname = current_database()
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
"""


def read_delete_counters(shop: psycopg.Connection, schema: str = "public") -> dict[str, str | None]:
    """Per shop table, its delete counter as one comparable string (None: no statistics).

    Call it before the run's snapshot is taken, outside any transaction: a counter read
    after the snapshot could count a delete the snapshot does not hold.
    """
    rows = shop.execute(_DELETE_COUNTERS_SQL, {"schema": schema}).fetchall()
    shop.rollback()  # the statistics snapshot ends with this transaction
    return {str(name): (None if counter is None else str(counter)) for name, counter in rows}


def read_windows(
    shop: psycopg.Connection, asked: Collection[tuple[SourceTable, datetime]]
) -> dict[tuple[str, datetime], Window]:
    """The window of each (table, since) in ``asked``, in one query, in ``shop``'s snapshot.

    Each part is a range scan of the cursor's index (the rows changed lately), not a
    scan of the table.
    """
    asked = sorted(set(asked), key=lambda item: (item[0].name, item[1]))
    if not asked:
        return {}
    parts = []
    for source, since in asked:
        assert source.cursor_column is not None
        cursor = sql.Identifier(source.cursor_column)
        parts.append(
            sql.SQL(
                "SELECT {name}::text, {since}::timestamptz, count(*),"
                " coalesce(sum((extract(epoch FROM {c}) * 1000000)::bigint), 0),"
                " max({c})::timestamptz FROM {t} WHERE {c} >= {since}"
            ).format(
                name=sql.Literal(source.name),
                since=sql.Literal(since),
                c=cursor,
                t=sql.Identifier("public", source.name),
            )
        )
    rows = shop.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()
    return {
        (str(name), since): Window(since, int(count), int(total), latest)
        for name, since, count, total, latest in rows
    }


def windows_asked(
    sources: Iterable[SourceTable], *bounds: datetime | None
) -> list[tuple[SourceTable, datetime]]:
    """(table, since) for every table with a cursor and a key, at each bound given."""
    return [
        (source, bound)
        for source in sources
        if source.cursor_column is not None and source.primary_key
        for bound in bounds
        if bound is not None
    ]
