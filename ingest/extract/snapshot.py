"""One consistent snapshot of the shop, and every read of it during a run.

A repeatable-read transaction exports its snapshot (`pg_export_snapshot()`) and every
reader imports it, so parallel workers see the same instant. Every read of the shop's
rows is one `COPY ... TO STDOUT` run by psql inside the snapshot
(:mod:`ingest.extract.copy`); this process moves its output on in blocks of
``chunk_bytes``, nothing parsed in Python: into the warehouse's `COPY FROM STDIN`, or
into a ClickHouse insert as TabSeparated.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient
from psycopg import sql

from ingest.extract.catalog import SourceTable
from ingest.extract.copy import APPLICATION_NAME, SnapshotCopy

# Session settings that make the shop's text COPY output parse unchanged as
# ClickHouse TabSeparated (UTC offsets, ISO dates, round-trip floats).
SHOP_SESSION = "-c timezone=UTC -c datestyle=ISO -c extra_float_digits=3"
# How ClickHouse takes the shop's rows. best_effort: PostgreSQL writes timestamps with
# their UTC offset ("2024-05-01 12:00:00+00"). optimize_on_insert=0: a
# ReplacingMergeTree would otherwise run its replacing merge over every inserted
# block, but one COPY holds each key once (the shop's primary key) and readers use
# FINAL across loads anyway; measured 15-20% less ClickHouse CPU per insert.
_CLICKHOUSE_INSERT_SETTINGS = {"date_time_input_format": "best_effort", "optimize_on_insert": 0}


@dataclass(frozen=True)
class ShopSnapshot:
    """The exported snapshot every worker reads, and the watermark it guarantees."""

    snapshot_id: str
    taken_at: datetime
    # Every row whose cursor is older than this was committed before the snapshot,
    # as far as the shop can tell: the snapshot's clock, moved back to the start of
    # the oldest transaction still open then (its rows carry that start time).
    watermark: datetime


def connect_shop(url: str) -> psycopg.Connection:
    """A shop connection whose text output ClickHouse parses unchanged."""
    return psycopg.connect(url, options=SHOP_SESSION, application_name=APPLICATION_NAME)


def take_snapshot(shop: psycopg.Connection) -> ShopSnapshot:
    """Export a snapshot from ``shop`` (kept open read-only until the run ends)."""
    shop.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    shop.read_only = True
    row = shop.execute(
        """
        SELECT pg_export_snapshot(), now(),
               (SELECT min(xact_start) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND backend_type = 'client backend' AND xact_start IS NOT NULL)
        """
    ).fetchone()
    assert row is not None
    # now() is this transaction's start, just before the snapshot: a writer that
    # started earlier and was still open is either in pg_stat_activity (its rows
    # carry its start time) or, if it committed in the instant between, within the
    # safety margin. Without the right to see other users' sessions, the margin alone.
    snapshot_id, taken_at, oldest_open = row
    watermark = min(taken_at, oldest_open) if oldest_open else taken_at
    return ShopSnapshot(snapshot_id, taken_at, watermark)


def scalar(conn: psycopg.Connection, query: sql.Composed) -> Any:
    """The one value ``query`` returns."""
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


class SnapshotReads:
    """Every read of one run's snapshot, shared by the run's worker threads."""

    def __init__(self, shop_url: str, snapshot: ShopSnapshot, chunk_bytes: int) -> None:
        self.shop_url = shop_url
        self.snapshot = snapshot
        self.chunk_bytes = chunk_bytes
        self._lock = threading.Lock()
        # Facts of the snapshot both engines' loads need (row counts, key buckets).
        self._answers: dict[tuple[str, ...], Future[Any]] = {}

    @contextlib.contextmanager
    def reader(self) -> Iterator[psycopg.Connection]:
        """A shop connection inside the run's exported snapshot."""
        with connect_shop(self.shop_url) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            conn.execute(
                sql.SQL("SET TRANSACTION SNAPSHOT {}").format(
                    sql.Literal(self.snapshot.snapshot_id)
                )
            )
            yield conn
            conn.rollback()

    def copy(self, copy_out: sql.Composable, table: str) -> SnapshotCopy:
        """The blocks of one COPY out of the shop, in the run's snapshot (psql reads it)."""
        return SnapshotCopy(
            self.shop_url,
            self.snapshot.snapshot_id,
            copy_out,
            session_options=SHOP_SESSION,
            chunk_bytes=self.chunk_bytes,
            what=f"public.{table}",
        )

    def into_warehouse(
        self,
        copy_out: sql.Composable,
        table: str,
        warehouse: psycopg.Connection,
        copy_in: sql.Composed,
    ) -> tuple[int, int]:
        """Stream one COPY out of the shop into one into the warehouse; rows and bytes moved."""
        size = 0
        with self.copy(copy_out, table) as blocks, warehouse.cursor() as cursor:
            with cursor.copy(copy_in) as target:
                for block in blocks:
                    target.write(block)
                    size += len(block)
            rows = cursor.rowcount
        return rows, size

    def into_clickhouse(
        self,
        client: ClickHouseClient,
        copy_out: sql.Composed,
        table: str,
        column_names: Sequence[str],
        insert_into: str,
    ) -> tuple[int, int]:
        """Pass the snapshot's text COPY through to ClickHouse as TabSeparated."""
        counts = {"rows": 0, "bytes": 0}

        def counted(blocks: SnapshotCopy) -> Generator[bytes, None, None]:
            for block in blocks:
                # Text COPY escapes newlines inside values: one newline ends one row.
                counts["rows"] += block.count(b"\n")
                counts["bytes"] += len(block)
                yield block

        with self.copy(copy_out, table) as blocks:
            client.raw_insert(
                insert_into,
                column_names=list(column_names),
                insert_block=counted(blocks),
                fmt="TabSeparated",
                settings=_CLICKHOUSE_INSERT_SETTINGS,
            )
        return counts["rows"], counts["bytes"]

    def answer_once(
        self,
        key: tuple[str, ...],
        query: sql.Composed,
        read: Callable[[psycopg.Connection, sql.Composed], Any],
    ) -> Any:
        """``read(query)`` in the snapshot, once per run: both engines' loads of a table
        ask the same questions of the same snapshot, and the second waits for the first."""
        with self._lock:
            answer = self._answers.get(key)
            asking = answer is None
            if answer is None:
                answer = self._answers[key] = Future()
        if asking:
            try:
                with self.reader() as reader:
                    answer.set_result(read(reader, query))
            except BaseException as error:
                answer.set_exception(error)
                raise
        return answer.result()

    def rows(self, source: SourceTable) -> int:
        """Rows of the table in the snapshot.

        Raw holds every key the shop has (each run adds what changed since the last),
        so when raw has as many rows as the snapshot nothing was deleted, and the scan
        of every key can be skipped: most tables, most hours.
        """
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", source.name))
        return int(self.answer_once(("rows", source.name), query, scalar))
