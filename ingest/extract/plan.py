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
from ingest.extract.raw_tables import KEYS_SUFFIX, LOADING_SUFFIX, ch_name, create_raw_table
from ingest.extract.report import LoadReport
from ingest.extract.snapshot import SnapshotReads
from ingest.extract.watermarks import ensure_watermarks_table, read_watermarks


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
) -> list[LoadPlan]:
    """Make raw ready for ``targets`` and decide each load's mode.

    Raises :class:`~core.errors.ShopmartsError` on breaking drift (nothing loaded yet).
    """
    raw = context.raw
    cluster = on_cluster(context.options.clickhouse_cluster)
    warehouse.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(raw)))
    ensure_watermarks_table(warehouse, raw)
    postgres_raw = read_postgres_raw_columns(warehouse, raw)
    clickhouse_raw = {}
    if clickhouse is not None:
        clickhouse.command(f"CREATE DATABASE IF NOT EXISTS {ch_name(raw)}{cluster}")
        clickhouse_raw = read_clickhouse_raw_columns(clickhouse, raw)
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

    plans = []
    for (table, engine), drift in drifts.items():
        source = sources[table]
        if not drift.exists:
            create_raw_table(
                raw, warehouse, clickhouse, source, engine, context.options.clickhouse_cluster
            )
        plan = LoadPlan(source, engine, mode, "requested", added_columns=drift.added_columns)
        if mode == "incremental":
            stored = watermarks.get((table, engine))
            why_full = _why_full(source, drift, stored)
            if why_full is not None:
                plan.mode, plan.reason = "full", why_full
            else:
                assert stored is not None and stored[1] is not None
                plan.lower_bound = stored[1] - context.options.safety_margin
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
    stored: tuple[str | None, datetime | None] | None,
) -> str | None:
    """Why an incremental run must load this table whole (None: it need not)."""
    if not drift.exists:
        return "first load"
    if drift.added_columns:
        return "column added: " + ", ".join(drift.added_columns)
    if source.cursor_column is None or not source.primary_key:
        return "no cursor column or primary key"
    if stored is None or stored[1] is None or stored[0] != source.cursor_column:
        return "no watermark"
    return None


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
