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
- The **counters** of the table in `pg_stat_user_tables` (rows inserted, updated,
  deleted; with its relfilenode, which TRUNCATE changes, and the statistics' lifetime:
  server start and the database's last reset). Read *before* the snapshot is taken, so
  every write they count is in the snapshot; stored by the load that made raw equal
  to that snapshot. Unmoved delete counts spare a table's delete reconciliation; for a
  table without a cursor, unmoved counts of every kind spare its reload.

A session's counts reach the shared statistics when it goes idle, unless it did so less
than a second before (then after ten seconds idle, or when it ends: before it leaves
`pg_stat_activity`). So the counters are
trusted only while no other session of the shop database has been busy or become idle
in the last :data:`STATISTICS_SETTLE` seconds (a session the extract's user may not see
counts as busy; the extract's own sessions, which only read, do not count). Otherwise,
and without statistics (`track_counts` off, partitioned tables), the run reconciles and
reloads as it would without them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from ingest.extract.catalog import SourceTable
from ingest.extract.copy import APPLICATION_NAME


@dataclass(frozen=True)
class Window:
    """The rows whose cursor is at or after ``since``, as one snapshot saw them."""

    since: datetime
    rows: int
    cursor_sum: int  # of the cursor values in microseconds since the epoch
    cursor_max: datetime | None


# PostgreSQL's PGSTAT_IDLE_INTERVAL (10 s), with room for a busy machine to be late
# waking the session: a session idle this long has handed its counts over.
STATISTICS_SETTLE = 30


@dataclass(frozen=True)
class TableCounters:
    """A table's write counters and what they count since (relfilenode, statistics' lifetime)."""

    inserted: int
    updated: int
    deleted: int
    since: str

    def text(self) -> str:
        """The form stored with the watermark."""
        return f"{self.inserted} {self.updated} {self.deleted} {self.since}"

    @classmethod
    def parse(cls, text: str | None) -> TableCounters | None:
        """The counters :meth:`text` stored (None: none stored, or not in this form)."""
        parts = (text or "").split(" ", 3)
        if len(parts) != 4 or not all(part.isdigit() for part in parts[:3]):
            return None
        return cls(int(parts[0]), int(parts[1]), int(parts[2]), parts[3])

    def no_delete_since(self, earlier: TableCounters | None) -> bool:
        """No row deleted (nor the table truncated) since ``earlier`` was read."""
        return earlier is not None and (self.deleted, self.since) == (
            earlier.deleted,
            earlier.since,
        )

    def deleted_since(self, earlier: TableCounters | None) -> bool:
        """Rows were deleted since ``earlier`` was read (same table file and statistics)."""
        return (
            earlier is not None and self.since == earlier.since and self.deleted > earlier.deleted
        )

    def no_write_since(self, earlier: TableCounters | None) -> bool:
        """No row inserted, updated or deleted since ``earlier`` was read."""
        return self == earlier


_COUNTERS_SQL = """
SELECT c.relname, s.n_tup_ins, s.n_tup_upd, s.n_tup_del,
       concat_ws(':', c.relfilenode, extract(epoch FROM pg_postmaster_start_time()),
                 extract(epoch FROM d.stats_reset)),
       c.relkind = 'r' AND current_setting('track_counts') = 'on'
           AND NOT EXISTS (
               SELECT FROM pg_stat_activity a
               WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
                 AND a.backend_type = 'client backend'
                 AND a.application_name IS DISTINCT FROM %(ours)s
                 AND (a.state IS DISTINCT FROM 'idle'
                      OR a.state_change > clock_timestamp() - make_interval(secs => %(settle)s)))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
LEFT JOIN pg_stat_database d ON d.datname = current_database()
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
"""


def read_counters(
    shop: psycopg.Connection, schema: str = "public"
) -> dict[str, TableCounters | None]:
    """Per shop table, its write counters (None: not to be trusted now, or none).

    Call it before the run's snapshot is taken, outside any transaction: counters read
    after the snapshot could count a write the snapshot does not hold.
    """
    rows = shop.execute(
        _COUNTERS_SQL, {"schema": schema, "settle": STATISTICS_SETTLE, "ours": APPLICATION_NAME}
    ).fetchall()
    shop.rollback()  # the statistics snapshot ends with this transaction
    return {
        str(name): (
            TableCounters(int(inserted), int(updated), int(deleted), str(since))
            if trusted and deleted is not None
            else None
        )
        for name, inserted, updated, deleted, since, trusted in rows
    }


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
