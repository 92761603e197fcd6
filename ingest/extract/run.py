"""Extract the shop's tables into `raw`, in the warehouse and in ClickHouse, full or incremental.

One run reads every table from one consistent snapshot of the shop: a
repeatable-read transaction exports its snapshot (`pg_export_snapshot()`) and
every worker connection imports it, so parallel workers see the same instant.

Every read of the shop's rows is one `COPY ... TO STDOUT` run by psql inside the
snapshot (:mod:`ingest.extract.copy`); this process moves its output on in blocks
of ``chunk_bytes``, nothing parsed in Python.

Warehouse (PostgreSQL): the shop's `COPY ... TO STDOUT (FORMAT binary)` goes
straight into `COPY raw.t FROM STDIN (FORMAT binary)`. Full: TRUNCATE, drop the
primary key, COPY FREEZE, add the key back (one sort instead of an index insertion
per row), all in one transaction (views on raw stay valid; with wal_level=minimal
the COPY skips WAL). Incremental: the
changed rows into a temporary table, then `INSERT ... ON CONFLICT DO UPDATE`. When
raw holds more rows than the snapshot, the shop hard-deleted some: per-bucket key
counts and sums on both sides find the buckets that differ, their keys go into
another temporary table, and an anti-join deletes what is gone. The table's
watermark is written in the same transaction.

ClickHouse: raw tables are ReplacingMergeTree(`_loaded_at`) ordered by the
primary key, so `FINAL` returns the newest load of every key. Full: load a new
table, then `EXCHANGE TABLES` it with raw.t (readers never see a half-loaded
table). Rows arrive as the shop's text COPY passed through unchanged as
TabSeparated (ClickHouse parses it; Python only moves bytes). Optionally
ClickHouse pulls full loads itself from the warehouse table just loaded, through
`postgresql()` (same snapshot); measured slower here, so streaming is the default.
Incremental: the changed rows are inserted into raw.t, then a lightweight DELETE
removes keys the snapshot no longer has; a crash before the watermark is written
only means rows are loaded again, and FINAL dedupes.

Memory is bounded by ``chunk_bytes`` per worker: no table is ever held whole.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Collection, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import clickhouse_connect
import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient
from psycopg import sql

from core.clickhouse_cluster import clickhouse_cluster, on_cluster, table_engine
from core.errors import ShopmartsError
from core.settings import Environment
from core.vocabulary import ENGINES, Engine
from ingest.extract.catalog import (
    CLICKHOUSE_LOADED_AT,
    SourceTable,
    discover_source_tables,
)
from ingest.extract.copy import SnapshotCopy
from ingest.extract.drift import (
    TableDrift,
    clickhouse_drift,
    postgres_drift,
    raise_on_breaking_drift,
    read_clickhouse_raw_columns,
    read_postgres_raw_columns,
)

Mode = Literal["full", "incremental"]

# Environment variable: host:port of the warehouse PostgreSQL as ClickHouse sees it,
# for clickhouse_method="pull" against a real ClickHouse server.
CLICKHOUSE_PULL_HOST_VAR = "CLICKHOUSE_WAREHOUSE_HOST"

# Session settings that make the shop's text COPY output parse unchanged as
# ClickHouse TabSeparated (UTC offsets, ISO dates, round-trip floats).
_SHOP_SESSION = "-c timezone=UTC -c datestyle=ISO -c extra_float_digits=3"
# How ClickHouse takes the shop's rows. best_effort: PostgreSQL writes timestamps with
# their UTC offset ("2024-05-01 12:00:00+00"). optimize_on_insert=0: a
# ReplacingMergeTree would otherwise run its replacing merge over every inserted
# block, but one COPY holds each key once (the shop's primary key) and readers use
# FINAL across loads anyway; measured 15-20% less ClickHouse CPU per insert.
_CLICKHOUSE_INSERT_SETTINGS = {"date_time_input_format": "best_effort", "optimize_on_insert": 0}
_WATERMARKS_TABLE = "_watermarks"
_LOADING_SUFFIX = "__loading"  # ClickHouse: a full load before EXCHANGE
_KEYS_SUFFIX = "__keys"  # ClickHouse: the shop's keys, to find hard deletes
_DELETE_BATCH = 10_000  # ClickHouse: gone keys per DELETE (a literal list each)
# Hard deletes are narrowed down first: per bucket of this many consecutive values of an
# integer first key column, the count and the sum of the keys on both sides. Only the
# keys of the buckets that differ are read and anti-joined: an hour's deletes touch a
# few buckets, not the whole table.
KEY_BUCKET = 4096
_INTEGER_TYPES = {"smallint", "integer", "bigint"}
_ADVISORY_LOCK_KEY = 0x5EED_E7AC  # one extract per warehouse at a time


@dataclass(frozen=True)
class ExtractOptions:
    """Knobs of one extract; the defaults are the measured best on a small machine."""

    raw_schema: str = "raw"  # warehouse schema and ClickHouse database
    chunk_bytes: int = 1 << 20
    # Rows whose cursor is up to this much older than the stored watermark are read
    # again: covers writers whose clock or transaction start the snapshot could not see.
    safety_margin: timedelta = timedelta(minutes=5)
    workers: int = 2  # loads at once (each a pipeline of 3 processes: measured best on 2 cores)
    # "stream": the shop's text COPY passes through this process into ClickHouse
    # (measured fastest here); "pull": ClickHouse copies full loads from the
    # warehouse table just loaded, through postgresql() (needs the warehouse host
    # as ClickHouse sees it: clickhouse_pull_host or CLICKHOUSE_WAREHOUSE_HOST).
    clickhouse_method: Literal["stream", "pull"] = "stream"
    clickhouse_pull_host: str | None = None  # host:port; default CLICKHOUSE_WAREHOUSE_HOST
    # Incremental: also remove raw rows whose key the shop no longer has (a scan of
    # the key columns per table). Off, hard deletes wait for the next full extract.
    reconcile_deletes: bool = True
    # ClickHouse cluster every DDL runs ON CLUSTER (replicated engines); default: the
    # CLICKHOUSE_CLUSTER setting, read when the options are made (None: one server).
    clickhouse_cluster: str | None = field(default_factory=clickhouse_cluster)


@dataclass(frozen=True)
class LoadReport:
    """What one load of one table into one engine did."""

    table: str
    engine: Engine
    mode: Mode
    reason: str  # why this mode, e.g. "requested", "first load", "column added: x"
    method: str
    rows: int
    bytes: int  # bytes read from the shop (or from the warehouse, for a pull)
    seconds: float
    watermark: datetime | None  # stored for the next incremental run
    lower_bound: datetime | None  # incremental: rows with cursor >= this were read
    cursor_column: str | None
    # Incremental: rows whose key is gone from the shop (hard deletes), removed from raw.
    deleted: int | None = None


@dataclass(frozen=True)
class ShopSnapshot:
    """The exported snapshot every worker reads, and the watermark it guarantees."""

    snapshot_id: str
    taken_at: datetime
    # Every row whose cursor is older than this was committed before the snapshot,
    # as far as the shop can tell: the snapshot's clock, moved back to the start of
    # the oldest transaction still open then (its rows carry that start time).
    watermark: datetime


@dataclass
class _LoadPlan:
    table: SourceTable
    engine: Engine
    mode: Mode
    reason: str
    lower_bound: datetime | None = None
    added_columns: list[str] = field(default_factory=list)
    pull_after_postgres: bool = False


ProgressCallback = Callable[[LoadReport], None]


def extract(
    environment: Environment,
    mode: Mode,
    tables: Sequence[str] | None = None,
    engines: Sequence[Engine] = ENGINES,
    *,
    options: ExtractOptions | None = None,
    progress: ProgressCallback | None = None,
) -> list[LoadReport]:
    """Load ``tables`` (default: every shop table) into raw in each of ``engines``.

    Returns one report per table per engine. ``progress`` is called from worker
    threads as each load commits. Raises :class:`ShopmartsError` on schema drift,
    unknown tables or a concurrent extract; connection errors propagate as they are.
    """
    for engine in engines:
        if engine not in ENGINES:
            raise ShopmartsError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    return extract_loads(
        environment,
        mode,
        targets=None if tables is None else [(t, e) for t in tables for e in engines],
        engines=engines,
        options=options,
        progress=progress,
    )


def extract_loads(
    environment: Environment,
    mode: Mode,
    targets: Collection[tuple[str, Engine]] | None,
    engines: Sequence[Engine] = ENGINES,
    *,
    options: ExtractOptions | None = None,
    progress: ProgressCallback | None = None,
) -> list[LoadReport]:
    """Like :func:`extract` for an explicit set of (table, engine) pairs (None: all tables)."""
    if mode not in ("full", "incremental"):
        raise ShopmartsError(f"unknown extract mode {mode!r}: expected full or incremental")
    run = _ExtractRun(environment, mode, options or ExtractOptions(), progress)
    return run.execute(targets, engines)


def _connect_shop(url: str) -> psycopg.Connection:
    return psycopg.connect(url, options=_SHOP_SESSION)


def _connect_clickhouse(url: str) -> ClickHouseClient:
    return clickhouse_connect.get_client(
        dsn=url, autogenerate_session_id=False, send_receive_timeout=3600
    )


def _ch_name(*parts: str) -> str:
    return ".".join("`" + part.replace("\\", "\\\\").replace("`", "\\`") + "`" for part in parts)


def _ch_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _ExtractRun:
    def __init__(
        self,
        environment: Environment,
        mode: Mode,
        options: ExtractOptions,
        progress: ProgressCallback | None,
    ) -> None:
        self.environment = environment
        self.mode = mode
        self.options = options
        self.progress = progress
        self.raw = options.raw_schema
        self.on_cluster = on_cluster(options.clickhouse_cluster)
        self.reports: list[LoadReport] = []
        self._lock = threading.Lock()
        self._failed = threading.Event()
        self._errors: list[BaseException] = []
        self._futures: list[Future[None]] = []
        # Facts of the snapshot both engines' loads need (row counts, key buckets).
        self._snapshot_answers: dict[tuple[str, ...], Future[Any]] = {}

    # -- planning -------------------------------------------------------------------

    def execute(
        self, targets: Collection[tuple[str, Engine]] | None, engines: Sequence[Engine]
    ) -> list[LoadReport]:
        with contextlib.ExitStack() as stack:
            warehouse = stack.enter_context(
                psycopg.connect(self.environment.warehouse_url, autocommit=True)
            )
            locked = warehouse.execute(
                "SELECT pg_try_advisory_lock(%s)", (_ADVISORY_LOCK_KEY,)
            ).fetchone()
            if not (locked and locked[0]):
                raise ShopmartsError("another extract is running against this warehouse")
            shop = stack.enter_context(_connect_shop(self.environment.shop_url))
            snapshot = self._take_snapshot(shop)
            sources = discover_source_tables(shop)
            if targets is None:
                targets = [(name, engine) for name in sorted(sources) for engine in engines]
            unknown = sorted({table for table, _ in targets if table not in sources})
            if unknown:
                raise ShopmartsError(f"no such table in the shop: {', '.join(unknown)}")
            wanted_engines = {engine for _, engine in targets}
            clickhouse = None
            if "clickhouse" in wanted_engines:
                clickhouse = _connect_clickhouse(self.environment.clickhouse_url)
                stack.callback(clickhouse.close)
            plans = self._plan(warehouse, clickhouse, sources, targets)
            self.snapshot = snapshot
            self._run_plans(plans)
            shop.rollback()  # the snapshot is no longer needed
        if self._errors:
            shopmarts = [e for e in self._errors if isinstance(e, ShopmartsError)]
            raise (shopmarts or self._errors)[0]
        return sorted(self.reports, key=lambda report: (report.table, report.engine))

    def _take_snapshot(self, shop: psycopg.Connection) -> ShopSnapshot:
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

    def _plan(
        self,
        warehouse: psycopg.Connection,
        clickhouse: ClickHouseClient | None,
        sources: dict[str, SourceTable],
        targets: Collection[tuple[str, Engine]],
    ) -> list[_LoadPlan]:
        warehouse.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.raw))
        )
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
            ).format(sql.Identifier(self.raw, _WATERMARKS_TABLE))
        )
        postgres_raw = read_postgres_raw_columns(warehouse, self.raw)
        clickhouse_raw = {}
        if clickhouse is not None:
            clickhouse.command(
                f"CREATE DATABASE IF NOT EXISTS {_ch_name(self.raw)}{self.on_cluster}"
            )
            clickhouse_raw = read_clickhouse_raw_columns(clickhouse, self.raw)
            # Scratch tables of crashed runs (a loading table was never exchanged, so
            # never seen). The advisory lock above: no other extract is filling one now.
            for name in list(clickhouse_raw):
                if name.endswith((_LOADING_SUFFIX, _KEYS_SUFFIX)):
                    clickhouse.command(
                        f"DROP TABLE IF EXISTS {_ch_name(self.raw, name)}{self.on_cluster} SYNC"
                    )
                    del clickhouse_raw[name]
        watermarks = {
            (table, engine): (cursor, watermark)
            for table, engine, cursor, watermark in warehouse.execute(
                sql.SQL("SELECT table_name, engine, cursor_column, watermark FROM {}").format(
                    sql.Identifier(self.raw, _WATERMARKS_TABLE)
                )
            )
        }

        drifts: dict[tuple[str, Engine], TableDrift] = {}
        for table, engine in targets:
            source = sources[table]
            if engine == "postgres":
                drifts[table, engine] = postgres_drift(source, postgres_raw.get(table))
            else:
                drifts[table, engine] = clickhouse_drift(source, clickhouse_raw.get(table))
        raise_on_breaking_drift(list(drifts.values()), self.raw)

        pull_host = self._clickhouse_pull_host()
        plans = []
        for (table, engine), drift in drifts.items():
            source = sources[table]
            if not drift.exists:
                self._create_raw_table(warehouse, clickhouse, source, engine)
            plan = _LoadPlan(
                source, engine, self.mode, "requested", added_columns=drift.added_columns
            )
            stored = watermarks.get((table, engine))
            if self.mode == "incremental":
                if not drift.exists:
                    plan.mode, plan.reason = "full", "first load"
                elif drift.added_columns:
                    plan.mode, plan.reason = (
                        "full",
                        "column added: " + ", ".join(drift.added_columns),
                    )
                elif source.cursor_column is None or not source.primary_key:
                    plan.mode, plan.reason = "full", "no cursor column or primary key"
                elif stored is None or stored[1] is None or stored[0] != source.cursor_column:
                    plan.mode, plan.reason = "full", "no watermark"
                else:
                    plan.lower_bound = stored[1] - self.options.safety_margin
            plans.append(plan)
        # ClickHouse may copy the warehouse table only when that is a full load of the
        # same snapshot (an incremental warehouse table still holds hard-deleted rows).
        full_in_postgres = {
            plan.table.name for plan in plans if plan.engine == "postgres" and plan.mode == "full"
        }
        for plan in plans:
            plan.pull_after_postgres = (
                plan.engine == "clickhouse"
                and plan.mode == "full"
                and plan.table.name in full_in_postgres
                and pull_host is not None
            )
        self.pull_host = pull_host
        return plans

    def _clickhouse_pull_host(self) -> str | None:
        """host:port of the warehouse as ClickHouse reaches it, when pulling."""
        if self.options.clickhouse_method != "pull":
            return None
        configured = self.options.clickhouse_pull_host or os.environ.get(CLICKHOUSE_PULL_HOST_VAR)
        if configured:
            return configured
        parts = urlsplit(self.environment.warehouse_url)
        if self.environment.embedded_clickhouse and parts.hostname in ("127.0.0.1", "localhost"):
            # The embedded ClickHouse runs on this machine: it sees the same address.
            return f"{parts.hostname}:{parts.port or 5432}"
        # A real ClickHouse may not reach the warehouse at our address: stream instead.
        return None

    def _create_raw_table(
        self,
        warehouse: psycopg.Connection,
        clickhouse: ClickHouseClient | None,
        source: SourceTable,
        engine: Engine,
    ) -> None:
        if engine == "postgres":
            warehouse.execute(postgres_table_ddl(self.raw, source))
        elif clickhouse is not None:
            clickhouse.command(
                clickhouse_table_ddl(self.raw, source.name, source, self.options.clickhouse_cluster)
            )

    # -- running ----------------------------------------------------------------------

    def _run_plans(self, plans: list[_LoadPlan]) -> None:
        pool = ThreadPoolExecutor(self.options.workers, "extract")
        self._pool = pool
        # Biggest tables first, both engines of a table side by side: the long loads
        # start early and the pool never ends on one big table alone.
        by_size = sorted(plans, key=lambda plan: (-plan.table.estimated_bytes, plan.engine))
        pulls = {plan.table.name: plan for plan in by_size if plan.pull_after_postgres}
        try:
            for plan in by_size:
                if not plan.pull_after_postgres:
                    follow_up = pulls.get(plan.table.name) if plan.engine == "postgres" else None
                    self._submit(plan, follow_up)
            # Pull loads are submitted by their warehouse load: wait until none is left.
            while True:
                with self._lock:
                    pending = [future for future in self._futures if not future.done()]
                if not pending:
                    break
                for future in pending:
                    with contextlib.suppress(Exception):
                        future.result()
        finally:
            pool.shutdown(wait=True)

    def _submit(self, plan: _LoadPlan, follow_up: _LoadPlan | None) -> None:
        future = self._pool.submit(self._run_one, plan, follow_up)
        with self._lock:
            self._futures.append(future)

    def _run_one(self, plan: _LoadPlan, follow_up: _LoadPlan | None) -> None:
        if self._failed.is_set():
            return
        try:
            if plan.engine == "postgres":
                report = self._load_postgres(plan)
            else:
                report = self._load_clickhouse(plan, pull=plan.pull_after_postgres)
        except BaseException as error:
            with self._lock:
                self._errors.append(error)
            self._failed.set()
            raise
        with self._lock:
            self.reports.append(report)
        if self.progress is not None:
            self.progress(report)
        if follow_up is not None:
            self._submit(follow_up, None)

    @contextlib.contextmanager
    def _snapshot_reader(self) -> Iterator[psycopg.Connection]:
        """A shop connection inside the run's exported snapshot."""
        with _connect_shop(self.environment.shop_url) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            conn.execute(
                sql.SQL("SET TRANSACTION SNAPSHOT {}").format(
                    sql.Literal(self.snapshot.snapshot_id)
                )
            )
            yield conn
            conn.rollback()

    def _source_query(self, plan: _LoadPlan, binary: bool) -> sql.Composed:
        source = plan.table
        columns = sql.SQL(", ").join(map(sql.Identifier, source.column_names))
        table = sql.Identifier("public", source.name)
        options = sql.SQL(" (FORMAT binary)" if binary else "")
        if plan.mode == "incremental":
            assert plan.lower_bound is not None and source.cursor_column is not None
            return sql.SQL("COPY (SELECT {} FROM {} WHERE {} >= {}) TO STDOUT{}").format(
                columns,
                table,
                sql.Identifier(source.cursor_column),
                sql.Literal(plan.lower_bound),
                options,
            )
        if source.has_generated_columns:  # COPY table (...) refuses generated columns
            return sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT{}").format(columns, table, options)
        return sql.SQL("COPY {} ({}) TO STDOUT{}").format(table, columns, options)

    def _report(
        self,
        plan: _LoadPlan,
        method: str,
        rows: int,
        size: int,
        started: float,
        deleted: int | None = None,
    ) -> LoadReport:
        has_cursor = plan.table.cursor_column is not None and bool(plan.table.primary_key)
        return LoadReport(
            table=plan.table.name,
            engine=plan.engine,
            mode=plan.mode,
            reason=plan.reason,
            method=method,
            rows=rows,
            bytes=size,
            seconds=time.perf_counter() - started,
            watermark=self.snapshot.watermark if has_cursor else None,
            lower_bound=plan.lower_bound,
            cursor_column=plan.table.cursor_column,
            deleted=deleted,
        )

    def _store_watermark(self, conn: psycopg.Connection, report: LoadReport) -> None:
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
            ).format(sql.Identifier(self.raw, _WATERMARKS_TABLE)),
            (
                report.table,
                report.engine,
                report.cursor_column,
                report.watermark,
                self.snapshot.taken_at,
                report.mode,
                report.rows,
                report.bytes,
                report.seconds,
            ),
        )

    # -- warehouse ----------------------------------------------------------------------

    def _load_postgres(self, plan: _LoadPlan) -> LoadReport:
        started = time.perf_counter()
        source = plan.table
        target = sql.Identifier(self.raw, source.name)
        columns = sql.SQL(", ").join(map(sql.Identifier, source.column_names))
        incremental = plan.mode == "incremental"
        with (
            psycopg.connect(self.environment.warehouse_url) as warehouse,
            warehouse.transaction(),
        ):
            primary_key = None
            if not incremental:
                # TRUNCATE, not DROP: views on raw stay valid, and the COPY into a
                # table truncated in this transaction skips WAL (wal_level=minimal).
                warehouse.execute(sql.SQL("TRUNCATE {}").format(target))
                for name in plan.added_columns:
                    column = source.column(name)
                    warehouse.execute(
                        sql.SQL("ALTER TABLE {} ADD COLUMN {} {}{}").format(
                            target,
                            sql.Identifier(name),
                            sql.SQL(column.postgres_type),
                            sql.SQL(" NOT NULL" if column.not_null else ""),
                        )
                    )
                # The primary key is built once after the COPY, by a sort: keeping it
                # during the COPY costs an index insertion per row (3M order items:
                # 4.4 s with the key against 2.7 s for COPY and build).
                primary_key = _replace_primary_key(warehouse, target, source)
                load_into = target
            else:
                load_into = sql.Identifier(f"_delta_{source.name}")
                warehouse.execute(
                    sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {}) ON COMMIT DROP").format(
                        load_into, target
                    )
                )
            # FREEZE (full loads, into the table truncated above): rows land already
            # frozen, so the first reader (the raw gate, dbt, the next incremental's key
            # scan) does not rewrite every page to set hint bits.
            freeze = sql.SQL("" if incremental else ", FREEZE")
            copy_in = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary{})").format(
                load_into, columns, freeze
            )
            rows, size = self._pipe_copy(
                self._source_query(plan, binary=True), source.name, warehouse, copy_in
            )
            if primary_key is not None:
                # One process per build: the other worker's load keeps the second core
                # busy, and parallel workers only add their start and merge (measured).
                warehouse.execute("SET LOCAL max_parallel_maintenance_workers = 0")
                warehouse.execute(primary_key)
            deleted = None
            if incremental:
                rows = self._upsert_delta(warehouse, source, target, load_into, columns)
                if self.options.reconcile_deletes:
                    deleted = self._delete_missing_in_postgres(warehouse, source, target)
            report = self._report(plan, "COPY binary -> COPY binary", rows, size, started, deleted)
            self._store_watermark(warehouse, report)
        return report

    def _read_snapshot(self, copy_out: sql.Composable, table: str) -> SnapshotCopy:
        """The blocks of one COPY out of the shop, in the run's snapshot (psql reads it)."""
        return SnapshotCopy(
            self.environment.shop_url,
            self.snapshot.snapshot_id,
            copy_out,
            session_options=_SHOP_SESSION,
            chunk_bytes=self.options.chunk_bytes,
            what=f"public.{table}",
        )

    def _pipe_copy(
        self,
        copy_out: sql.Composable,
        table: str,
        warehouse: psycopg.Connection,
        copy_in: sql.Composed,
    ) -> tuple[int, int]:
        """Stream one COPY out of the shop into one into the warehouse; rows and bytes moved."""
        size = 0
        with self._read_snapshot(copy_out, table) as blocks, warehouse.cursor() as cursor:
            with cursor.copy(copy_in) as target:
                for block in blocks:
                    target.write(block)
                    size += len(block)
            rows = cursor.rowcount
        return rows, size

    def _upsert_delta(
        self,
        warehouse: psycopg.Connection,
        source: SourceTable,
        target: sql.Identifier,
        delta: sql.Identifier,
        columns: sql.Composable,
    ) -> int:
        non_key = [name for name in source.column_names if name not in source.primary_key]
        action: sql.Composable
        if non_key:
            action = sql.SQL("DO UPDATE SET {}").format(
                sql.SQL(", ").join(
                    sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name)) for name in non_key
                )
            )
        else:
            action = sql.SQL("DO NOTHING")
        cursor = warehouse.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
                target,
                columns,
                columns,
                delta,
                sql.SQL(", ").join(map(sql.Identifier, source.primary_key)),
                action,
            )
        )
        return cursor.rowcount

    def _shop_rows(self, source: SourceTable) -> int:
        """Rows of the table in the snapshot.

        Raw holds every key the shop has (each run adds what changed since the last),
        so when raw has as many rows as the snapshot nothing was deleted, and the scan
        of every key can be skipped: most tables, most hours.
        """
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", source.name))
        return int(self._from_snapshot(("rows", source.name), query, _scalar))

    def _from_snapshot(
        self,
        key: tuple[str, ...],
        query: sql.Composed,
        read: Callable[[psycopg.Connection, sql.Composed], Any],
    ) -> Any:
        """``read(query)`` in the snapshot, once per run: both engines' loads of a table
        ask the same questions of the same snapshot, and the second waits for the first."""
        with self._lock:
            answer = self._snapshot_answers.get(key)
            asking = answer is None
            if answer is None:
                answer = self._snapshot_answers[key] = Future()
        if asking:
            try:
                with self._snapshot_reader() as reader:
                    answer.set_result(read(reader, query))
            except BaseException as error:
                answer.set_exception(error)
                raise
        return answer.result()

    @staticmethod
    def _bucketed_key(source: SourceTable) -> str | None:
        """The key column hard deletes are narrowed down by: the first, if an integer."""
        first = source.primary_key[0]
        return first if source.column(first).postgres_type in _INTEGER_TYPES else None

    def _shop_key_buckets(self, source: SourceTable, key: str) -> dict[int, tuple[int, int]]:
        query = _key_buckets_query(sql.Identifier("public", source.name), key)
        buckets: dict[int, tuple[int, int]] = self._from_snapshot(
            ("buckets", source.name, key), query, _read_buckets
        )
        return buckets

    @staticmethod
    def _differing_buckets(
        shop: dict[int, tuple[int, int]], raw: dict[int, tuple[int, int]]
    ) -> list[int]:
        return sorted(b for b in shop.keys() | raw.keys() if shop.get(b) != raw.get(b))

    def _delete_missing_in_postgres(
        self,
        warehouse: psycopg.Connection,
        source: SourceTable,
        target: sql.Identifier,
    ) -> int:
        """Delete raw rows whose key the snapshot no longer has (the shop hard-deleted them).

        The snapshot's keys stream into a temporary table (binary COPY, key columns only);
        an anti-join finds what is gone. Same transaction as the upsert and the watermark.
        """
        raw_rows = int(_scalar(warehouse, sql.SQL("SELECT count(*) FROM {}").format(target)))
        if raw_rows == self._shop_rows(source):
            return 0
        in_buckets: sql.Composable = sql.SQL("true")
        bucketed = self._bucketed_key(source)
        if bucketed:
            key = sql.Identifier(bucketed)
            differing = self._differing_buckets(
                self._shop_key_buckets(source, bucketed),
                _postgres_key_buckets(warehouse, target, bucketed),
            )
            if not differing:
                return 0
            in_buckets = sql.SQL("{} / {} = ANY({})").format(
                key, sql.Literal(KEY_BUCKET), sql.Literal(differing)
            )
        keys = sql.Identifier(f"_keys_{source.name}")
        key_columns = sql.SQL(", ").join(map(sql.Identifier, source.primary_key))
        warehouse.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
            ).format(keys, key_columns, target)
        )
        self._pipe_copy(
            sql.SQL("COPY (SELECT {} FROM {} WHERE {}) TO STDOUT (FORMAT binary)").format(
                key_columns, sql.Identifier("public", source.name), in_buckets
            ),
            source.name,
            warehouse,
            sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(keys),
        )
        warehouse.execute(sql.SQL("ANALYZE {}").format(keys))  # plan a hash anti-join
        matches = sql.SQL(" AND ").join(
            sql.SQL("k.{0} = r.{0}").format(sql.Identifier(name)) for name in source.primary_key
        )
        cursor = warehouse.execute(
            sql.SQL(
                "DELETE FROM {} AS r WHERE {} AND NOT EXISTS (SELECT FROM {} AS k WHERE {})"
            ).format(target, in_buckets, keys, matches)
        )
        return cursor.rowcount

    # -- ClickHouse ---------------------------------------------------------------------

    def _load_clickhouse(self, plan: _LoadPlan, *, pull: bool) -> LoadReport:
        started = time.perf_counter()
        source = plan.table
        client = _connect_clickhouse(self.environment.clickhouse_url)
        try:
            target = _ch_name(self.raw, source.name)
            if plan.mode == "full":
                loading = _ch_name(self.raw, source.name + _LOADING_SUFFIX)
                # A table left by a crashed run is dropped: it was never exchanged.
                client.command(f"DROP TABLE IF EXISTS {loading}{self.on_cluster} SYNC")
                client.command(
                    clickhouse_table_ddl(
                        self.raw,
                        source.name + _LOADING_SUFFIX,
                        source,
                        self.options.clickhouse_cluster,
                    )
                )
                insert_into = loading
            else:
                insert_into = target
            deleted = None
            if pull:
                rows, size = self._pull_into_clickhouse(client, source, insert_into)
                method = "ClickHouse pulls from the warehouse (postgresql())"
            else:
                rows, size = self._stream_into_clickhouse(
                    client,
                    self._source_query(plan, binary=False),
                    source.name,
                    source.column_names,
                    insert_into,
                )
                method = "COPY text -> INSERT TabSeparated"
            if plan.mode == "full":
                client.command(f"EXCHANGE TABLES {loading} AND {target}{self.on_cluster}")
                client.command(f"DROP TABLE IF EXISTS {loading}{self.on_cluster} SYNC")
            elif self.options.reconcile_deletes:
                deleted = self._delete_missing_in_clickhouse(client, source, target)
        finally:
            client.close()
        report = self._report(plan, method, rows, size, started, deleted)
        # The watermark is written after the data: a crash in between only reloads rows.
        with psycopg.connect(self.environment.warehouse_url, autocommit=True) as warehouse:
            self._store_watermark(warehouse, report)
        return report

    def _delete_missing_in_clickhouse(
        self, client: ClickHouseClient, source: SourceTable, target: str
    ) -> int:
        """Delete raw rows whose key the snapshot no longer has (hard deletes in the shop).

        The snapshot's keys stream into a scratch table; a lightweight DELETE removes
        every version of the keys that are gone. Idempotent: a rerun deletes nothing new.
        """
        raw_rows = int(str(client.command(f"SELECT count() FROM {target} FINAL")))
        if raw_rows == self._shop_rows(source):
            return 0
        in_buckets = "1"
        shop_in_buckets: sql.Composable = sql.SQL("true")
        bucketed = self._bucketed_key(source)
        if bucketed:
            key = _ch_name(bucketed)
            raw_buckets = {
                int(b): (int(n), int(total))
                for b, n, total in client.query(
                    f"SELECT intDiv({key}, {KEY_BUCKET}) AS b, count(), sum({key}) "
                    f"FROM {target} FINAL WHERE {key} IS NOT NULL GROUP BY b"
                ).result_rows
            }
            differing = self._differing_buckets(
                self._shop_key_buckets(source, bucketed), raw_buckets
            )
            if not differing:
                return 0
            in_buckets = f"intDiv({key}, {KEY_BUCKET}) IN ({', '.join(map(str, differing))})"
            shop_in_buckets = sql.SQL("{} / {} = ANY({})").format(
                sql.Identifier(bucketed), sql.Literal(KEY_BUCKET), sql.Literal(differing)
            )
        keys_table = _ch_name(self.raw, source.name + _KEYS_SUFFIX)
        key_list = ", ".join(_ch_name(name) for name in source.primary_key)
        key_types = ", ".join(
            f"{_ch_name(name)} {source.column(name).clickhouse_type}" for name in source.primary_key
        )
        client.command(f"DROP TABLE IF EXISTS {keys_table} SYNC")
        client.command(f"CREATE TABLE {keys_table} ({key_types}) ENGINE = Memory")
        try:
            self._stream_into_clickhouse(
                client,
                sql.SQL("COPY (SELECT {} FROM {} WHERE {}) TO STDOUT").format(
                    sql.SQL(", ").join(map(sql.Identifier, source.primary_key)),
                    sql.Identifier("public", source.name),
                    shop_in_buckets,
                ),
                source.name,
                source.primary_key,
                keys_table,
            )
            gone = f"{in_buckets} AND ({key_list}) NOT IN (SELECT {key_list} FROM {keys_table})"
            # The gone keys are read here and deleted by value: a mutation of a replicated
            # table (cluster mode) runs on every replica, where this session's scratch
            # table does not exist, and must be deterministic. Hard deletes are few.
            rows = client.query(
                f"SELECT {key_list}, count() FROM {target} WHERE {gone} GROUP BY {key_list}"
            ).result_rows
            # Formatted as a tuple: single keys as values, composite keys as tuples.
            gone_keys = [row[0] if len(row) == 2 else tuple(row[:-1]) for row in rows]
            deleted = sum(int(row[-1]) for row in rows)  # every version of every gone key
            # A DELETE is a mutation: only when there is something to delete, in batches.
            for start in range(0, len(gone_keys), _DELETE_BATCH):
                client.command(
                    f"DELETE FROM {target} WHERE ({key_list}) IN %(keys)s",
                    parameters={"keys": tuple(gone_keys[start : start + _DELETE_BATCH])},
                )
        finally:
            client.command(f"DROP TABLE IF EXISTS {keys_table} SYNC")
        return deleted

    def _stream_into_clickhouse(
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

        with self._read_snapshot(copy_out, table) as blocks:
            client.raw_insert(
                insert_into,
                column_names=list(column_names),
                insert_block=counted(blocks),
                fmt="TabSeparated",
                settings=_CLICKHOUSE_INSERT_SETTINGS,
            )
        return counts["rows"], counts["bytes"]

    def _pull_into_clickhouse(
        self, client: ClickHouseClient, source: SourceTable, insert_into: str
    ) -> tuple[int, int]:
        assert self.pull_host is not None
        parts = urlsplit(self.environment.warehouse_url)
        columns = ", ".join(_ch_name(name) for name in source.column_names)
        remote = "postgresql({}, {}, {}, {}, {}, {})".format(
            _ch_string(self.pull_host),
            _ch_string(parts.path.strip("/")),
            _ch_string(source.name),
            _ch_string(unquote(parts.username or "postgres")),
            _ch_string(unquote(parts.password or "")),
            _ch_string(self.raw),
        )
        summary = client.command(
            f"INSERT INTO {insert_into} ({columns}) SELECT {columns} FROM {remote}"
        )
        totals = getattr(summary, "summary", {}) or {}
        rows = int(totals.get("written_rows", 0) or 0)
        size = int(totals.get("written_bytes", 0) or 0)
        if not rows:
            rows = int(str(client.command(f"SELECT count() FROM {insert_into}")))
        return rows, size


def _key_buckets_query(table: sql.Identifier, key: str) -> sql.Composed:
    return sql.SQL(
        "SELECT {k} / {b}, count(*), sum({k}) FROM {t} WHERE {k} IS NOT NULL GROUP BY 1"
    ).format(k=sql.Identifier(key), b=sql.Literal(KEY_BUCKET), t=table)


def _read_buckets(conn: psycopg.Connection, query: sql.Composed) -> dict[int, tuple[int, int]]:
    return {int(b): (int(n), int(total)) for b, n, total in conn.execute(query).fetchall()}


def _postgres_key_buckets(
    conn: psycopg.Connection, table: sql.Identifier, key: str
) -> dict[int, tuple[int, int]]:
    """{bucket: (keys, sum of keys)} of ``table``'s integer ``key`` (see KEY_BUCKET)."""
    return _read_buckets(conn, _key_buckets_query(table, key))


def _replace_primary_key(
    conn: psycopg.Connection, table: sql.Identifier, source: SourceTable
) -> sql.Composed | None:
    """Drop ``table``'s primary key, if any; return the statement that adds the shop's key
    (None: the shop table has none). Built from the shop's key, not from raw's: a key
    dropped or changed in raw by hand comes back with the next full load."""
    row = conn.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
        (table.as_string(conn),),
    ).fetchone()
    if row is not None:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, sql.Identifier(row[0]))
        )
    if not source.primary_key:
        return None
    name = row[0] if row is not None else f"{source.name}_pkey"
    return sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
        table, sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, source.primary_key))
    )


def _scalar(conn: psycopg.Connection, query: sql.Composed) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


# -- DDL ------------------------------------------------------------------------------


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


def clickhouse_table_ddl(
    raw_database: str, table_name: str, source: SourceTable, cluster: str | None = None
) -> str:
    """CREATE TABLE for the ClickHouse copy: ReplacingMergeTree versioned by load time
    (on a ``cluster``: created ON CLUSTER, ReplicatedReplacingMergeTree)."""
    columns = [f"{_ch_name(column.name)} {column.clickhouse_type}" for column in source.columns]
    columns.append(f"{_ch_name(CLICKHOUSE_LOADED_AT)} DateTime64(6, 'UTC') DEFAULT now64(6)")
    if source.primary_key:
        order_by = ", ".join(_ch_name(name) for name in source.primary_key)
        engine = f"ReplacingMergeTree({_ch_name(CLICKHOUSE_LOADED_AT)}) ORDER BY ({order_by})"
    else:
        # Without a key nothing can be deduplicated: such tables are always reloaded whole.
        engine = "MergeTree ORDER BY tuple()"
    return (
        f"CREATE TABLE {_ch_name(raw_database, table_name)}{on_cluster(cluster)} "
        f"({', '.join(columns)}) ENGINE = {table_engine(engine, cluster)}"
    )


__all__ = [
    "CLICKHOUSE_PULL_HOST_VAR",
    "ENGINES",
    "Engine",
    "ExtractOptions",
    "LoadReport",
    "Mode",
    "ShopSnapshot",
    "extract",
    "extract_loads",
]
