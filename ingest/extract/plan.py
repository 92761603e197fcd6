"""The plan of one run: per table and engine, full or incremental and why; the raw side made ready.

Planning happens before any load: raw's schema and the watermarks table exist, scratch
tables of crashed runs are gone, breaking drift has stopped the run, and every missing
raw table has been created. A load then only needs its :class:`LoadPlan` and the run's
:class:`LoadContext`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient
from psycopg import sql

from core.clickhouse_cluster import on_cluster
from core.settings import Environment
from core.vocabulary import Engine
from ingest.extract.catalog import SourceTable
from ingest.extract.drift import (
    TableDrift,
    clickhouse_drift,
    postgres_drift,
    raise_on_breaking_drift,
    read_clickhouse_raw_columns,
    read_postgres_raw_columns,
)
from ingest.extract.options import CLICKHOUSE_PULL_HOST_VAR, ExtractOptions, Mode
from ingest.extract.probe import TableCounters, Window, read_windows, windows_asked
from ingest.extract.raw_tables import KEYS_SUFFIX, LOADING_SUFFIX, ch_name, create_raw_table
from ingest.extract.report import LoadReport
from ingest.extract.snapshot import SnapshotReads
from ingest.extract.watermarks import StoredWatermark, ensure_watermarks_table, read_watermarks


@dataclass
class LoadPlan:
    """One load: which table into which engine, how, and why."""

    table: SourceTable
    engine: Engine
    mode: Mode
    reason: str
    lower_bound: datetime | None = None
    added_columns: list[str] = field(default_factory=list)
    pull_after_postgres: bool = False
    # Incremental: remove raw rows whose key the shop deleted (the shop's delete counter
    # moved since the last reconciliation, or is unknown); else `deleted` is this.
    reconcile_deletes: bool = False
    deleted_without_reconciling: int | None = None
    # The counters saw rows deleted: counting both sides first to find out is wasted.
    deletes_known: bool = False
    # Nothing written to the table since its last load: no load runs (see ingest.extract.probe).
    unchanged: bool = False
    stored_watermark: datetime | None = None
    # Stored with the watermark, for the next run's comparison.
    next_window: Window | None = None
    shop_counters: TableCounters | None = None

    def report(
        self,
        watermark: datetime,
        method: str,
        rows: int,
        size: int,
        started: float,
        deleted: int | None = None,
    ) -> LoadReport:
        """The report of this load, begun at ``started`` (perf_counter) and done now.

        ``watermark`` is the snapshot's; it is kept only for tables an incremental run can
        use it for (a cursor column and a primary key).
        """
        has_cursor = self.table.cursor_column is not None and bool(self.table.primary_key)
        return LoadReport(
            table=self.table.name,
            engine=self.engine,
            mode=self.mode,
            reason=self.reason,
            method=method,
            rows=rows,
            bytes=size,
            seconds=time.perf_counter() - started,
            watermark=watermark if has_cursor else None,
            lower_bound=self.lower_bound,
            cursor_column=self.table.cursor_column,
            deleted=deleted,
        )

    def unchanged_report(self) -> LoadReport:
        """The report of a load skipped because nothing changed: the stored watermark stays."""
        return LoadReport(
            table=self.table.name,
            engine=self.engine,
            mode=self.mode,
            reason=self.reason,
            method="skipped: nothing changed",
            rows=0,
            bytes=0,
            seconds=0.0,
            watermark=self.stored_watermark,
            lower_bound=self.lower_bound,
            cursor_column=self.table.cursor_column,
            deleted=self.deleted_without_reconciling,
        )


@dataclass(frozen=True)
class LoadContext:
    """What every load of one run shares: where, with which knobs, from which snapshot."""

    environment: Environment
    options: ExtractOptions
    reads: SnapshotReads
    pull_host: str | None  # the warehouse as ClickHouse reaches it, when pulling
    change_batch: int | None = None  # this run's batch in the change log (extract/changes.py)

    @property
    def raw(self) -> str:
        """The warehouse schema and ClickHouse database the loads write."""
        return self.options.raw_schema


def plan_loads(
    context: LoadContext,
    mode: Mode,
    warehouse: psycopg.Connection,
    clickhouse: ClickHouseClient | None,
    sources: dict[str, SourceTable],
    targets: Collection[tuple[str, Engine]],
    shop: psycopg.Connection,
    shop_counters: dict[str, TableCounters | None],
) -> list[LoadPlan]:
    """Make raw ready for ``targets`` and decide each load's mode.

    ``shop`` is in the run's snapshot; ``shop_counters`` were read before it was taken
    (:func:`ingest.extract.probe.read_counters`). An incremental load of a table
    nothing was written to since its last load is planned ``unchanged`` (it does not run).
    Raises :class:`~core.errors.ShopmartsError` on breaking drift (nothing loaded yet).
    """
    raw = context.raw
    cluster = on_cluster(context.options.clickhouse_cluster)
    # Read first: a run that finds raw made (every run after the first) runs no DDL.
    postgres_raw = read_postgres_raw_columns(warehouse, raw)
    if not postgres_raw:
        warehouse.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(raw)))
    ensure_watermarks_table(warehouse, raw)
    clickhouse_raw = {}
    if clickhouse is not None:
        clickhouse_raw = read_clickhouse_raw_columns(clickhouse, raw)
        if not clickhouse_raw:
            clickhouse.command(f"CREATE DATABASE IF NOT EXISTS {ch_name(raw)}{cluster}")
        # Scratch tables of crashed runs (a loading table was never exchanged, so
        # never seen). The advisory lock of the run: no other extract is filling one now.
        for name in list(clickhouse_raw):
            if name.endswith((LOADING_SUFFIX, KEYS_SUFFIX)):
                clickhouse.command(f"DROP TABLE IF EXISTS {ch_name(raw, name)}{cluster} SYNC")
                del clickhouse_raw[name]
    watermarks = read_watermarks(warehouse, raw)

    drifts: dict[tuple[str, Engine], TableDrift] = {}
    for table, engine in targets:
        source = sources[table]
        if engine == "postgres":
            drifts[table, engine] = postgres_drift(source, postgres_raw.get(table))
        else:
            drifts[table, engine] = clickhouse_drift(source, clickhouse_raw.get(table))
    raise_on_breaking_drift(list(drifts.values()), raw)

    # The window each load stores for the next run, and the stored windows to compare:
    # one query, a range scan of each cursor index.
    next_since = context.reads.snapshot.watermark - context.options.safety_margin
    asked = windows_asked({sources[table] for table, _ in targets}, next_since)
    if mode == "incremental":
        for key, earlier in watermarks.items():
            if key in drifts and earlier.window is not None:
                asked += windows_asked([sources[key[0]]], earlier.window.since)
    windows = read_windows(shop, asked)

    plans = []
    for (table, engine), drift in drifts.items():
        source = sources[table]
        if not drift.exists:
            create_raw_table(
                raw, warehouse, clickhouse, source, engine, context.options.clickhouse_cluster
            )
        plan = LoadPlan(source, engine, mode, "requested", added_columns=drift.added_columns)
        plan.next_window = windows.get((table, next_since))
        counter = shop_counters.get(table)
        if mode == "incremental":
            stored = watermarks.get((table, engine))
            why_full = _why_full(source, drift, stored)
            if why_full is not None:
                plan.mode, plan.reason = "full", why_full
                if _nothing_written(source, drift, stored, counter):
                    plan.mode, plan.unchanged = "incremental", True
                    plan.reason = "nothing written since the last load (table statistics)"
                    plan.stored_watermark = None if stored is None else stored.watermark
            else:
                assert stored is not None and stored.watermark is not None
                plan.lower_bound = stored.watermark - context.options.safety_margin
                _decide_incremental(plan, context.options, stored, windows, counter)
        # A full load copies the snapshot: raw then lacks every delete the counter saw.
        if plan.mode == "full" or context.options.reconcile_deletes:
            plan.shop_counters = counter
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
            and context.pull_host is not None
        )
    return plans


def _why_full(
    source: SourceTable,
    drift: TableDrift,
    stored: StoredWatermark | None,
) -> str | None:
    """Why an incremental run must load this table whole (None: it need not)."""
    if not drift.exists:
        return "first load"
    if drift.added_columns:
        return "column added: " + ", ".join(drift.added_columns)
    if source.cursor_column is None or not source.primary_key:
        return "no cursor column or primary key"
    if stored is None or stored.watermark is None or stored.cursor_column != source.cursor_column:
        return "no watermark"
    return None


def _nothing_written(
    source: SourceTable,
    drift: TableDrift,
    stored: StoredWatermark | None,
    counter: TableCounters | None,
) -> bool:
    """A table without a cursor that no one wrote to since its last (whole) load."""
    return (
        drift.exists
        and not drift.added_columns
        and (source.cursor_column is None or not source.primary_key)
        and stored is not None
        and counter is not None
        and counter.no_write_since(stored.shop_counters)
    )


def _decide_incremental(
    plan: LoadPlan,
    options: ExtractOptions,
    stored: StoredWatermark,
    windows: dict[tuple[str, datetime], Window],
    counter: TableCounters | None,
) -> None:
    """Whether this incremental load reconciles deletes, and whether it runs at all."""
    plan.stored_watermark = stored.watermark
    no_delete_since = counter is not None and counter.no_delete_since(stored.shop_counters)
    plan.reconcile_deletes = options.reconcile_deletes and not no_delete_since
    plan.deletes_known = counter is not None and counter.deleted_since(stored.shop_counters)
    if options.reconcile_deletes and no_delete_since:
        plan.deleted_without_reconciling = 0
    window = stored.window
    if window is None or plan.reconcile_deletes:
        return
    # A cursor that was ahead of the clock may stay as it is when its row changes (the
    # canonical trigger keeps updated_at >= created_at): such a window proves nothing.
    if window.cursor_max is not None and window.cursor_max > stored.snapshot_at:
        return
    if windows.get((plan.table.name, window.since)) == window:
        plan.unchanged = True
        plan.reason = "nothing changed since the last load"


def clickhouse_pull_host(environment: Environment, options: ExtractOptions) -> str | None:
    """host:port of the warehouse as ClickHouse reaches it, when pulling."""
    if options.clickhouse_method != "pull":
        return None
    configured = options.clickhouse_pull_host or os.environ.get(CLICKHOUSE_PULL_HOST_VAR)
    if configured:
        return configured
    parts = urlsplit(environment.warehouse_url)
    if environment.embedded_clickhouse and parts.hostname in ("127.0.0.1", "localhost"):
        # The embedded ClickHouse runs on this machine: it sees the same address.
        return f"{parts.hostname}:{parts.port or 5432}"
    # A real ClickHouse may not reach the warehouse at our address: stream instead.
    return None


def source_query(plan: LoadPlan, binary: bool) -> sql.Composed:
    """The COPY out of the shop that reads ``plan``'s rows (all, or those changed)."""
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
