"""Extract the shop's tables into `raw`, in the warehouse and in ClickHouse, full or incremental.

One run: take the advisory lock (one extract per warehouse at a time), read the shop's
write counters (:mod:`ingest.extract.probe`), export one snapshot of the shop
(:mod:`ingest.extract.snapshot`), find the shop's tables (:mod:`ingest.extract.catalog`),
plan each load (:mod:`ingest.extract.plan`: drift, full or incremental and why, or none
at all when nothing was written to the table since its last load), then run the loads
on a pool of workers, biggest tables first: :mod:`ingest.extract.postgres_load` and
:mod:`ingest.extract.clickhouse_load`, each removing hard deletes
(:mod:`ingest.extract.deletes`) and writing its watermark (:mod:`ingest.extract.watermarks`).

Memory is bounded by ``chunk_bytes`` per worker: no table is ever held whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient

from core.errors import ShopmartsError
from core.settings import Environment
from core.vocabulary import ENGINES, Engine
from ingest.extract.catalog import discover_source_tables
from ingest.extract.changes import open_batch
from ingest.extract.clickhouse_load import load_clickhouse
from ingest.extract.options import ExtractOptions, Mode
from ingest.extract.plan import LoadContext, LoadPlan, clickhouse_pull_host, plan_loads
from ingest.extract.postgres_load import load_postgres
from ingest.extract.probe import read_counters
from ingest.extract.raw_tables import connect_clickhouse
from ingest.extract.report import LoadReport, ProgressCallback
from ingest.extract.snapshot import SnapshotReads, connect_shop, take_snapshot
from ingest.extract.watermarks import mark_current

_ADVISORY_LOCK_KEY = 0x5EED_E7AC  # one extract per warehouse at a time


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


def _unlock(warehouse: psycopg.Connection) -> None:
    # A broken connection has no lock left to release; its error must not hide the run's.
    with contextlib.suppress(psycopg.Error):
        warehouse.execute("SELECT pg_advisory_unlock(%s)", (_ADVISORY_LOCK_KEY,))


def _close_when_made(client: Future[ClickHouseClient]) -> None:
    """Close the client once made (its connecting failed: nothing to close)."""
    with contextlib.suppress(Exception):
        client.result().close()


class _ExtractRun:
    """One run: the lock, the snapshot, the plan, and the workers that carry it out."""

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
        self.reports: list[LoadReport] = []
        self._lock = threading.Lock()
        self._failed = threading.Event()
        self._errors: list[BaseException] = []
        self._futures: list[Future[None]] = []

    def execute(
        self, targets: Collection[tuple[str, Engine]] | None, engines: Sequence[Engine]
    ) -> list[LoadReport]:
        with contextlib.ExitStack() as stack:
            # The ClickHouse client asks the server for its settings when made: made on
            # the side while the warehouse and the shop are asked their questions.
            clickhouse_client: Future[ClickHouseClient] | None = None
            if "clickhouse" in (engines if targets is None else {e for _, e in targets}):
                connecting = stack.enter_context(ThreadPoolExecutor(1, "extract-connect"))
                clickhouse_client = connecting.submit(
                    connect_clickhouse, self.environment.clickhouse_url
                )
                stack.callback(_close_when_made, clickhouse_client)
            warehouse = stack.enter_context(
                psycopg.connect(self.environment.warehouse_url, autocommit=True)
            )
            locked = warehouse.execute(
                "SELECT pg_try_advisory_lock(%s)", (_ADVISORY_LOCK_KEY,)
            ).fetchone()
            if not (locked and locked[0]):
                raise ShopmartsError("another extract is running against this warehouse")
            # Released before the connection closes: a close returns before the server's
            # backend has exited and let go of its locks, and an extract started right
            # after this one could still find the lock taken.
            stack.callback(_unlock, warehouse)
            shop = stack.enter_context(connect_shop(self.environment.shop_url))
            shop_counters = read_counters(shop)  # before the snapshot: see probe
            snapshot = take_snapshot(shop)
            sources = discover_source_tables(shop)
            if targets is None:
                targets = [(name, engine) for name in sorted(sources) for engine in engines]
            unknown = sorted({table for table, _ in targets if table not in sources})
            if unknown:
                raise ShopmartsError(f"no such table in the shop: {', '.join(unknown)}")
            clickhouse = None
            if "clickhouse" in {engine for _, engine in targets}:
                assert clickhouse_client is not None
                clickhouse = clickhouse_client.result()
            self.context = LoadContext(
                self.environment,
                self.options,
                SnapshotReads(self.environment.shop_url, snapshot, self.options.chunk_bytes),
                clickhouse_pull_host(self.environment, self.options),
            )
            plans = plan_loads(
                self.context,
                self.mode,
                warehouse,
                clickhouse,
                sources,
                targets,
                shop,
                shop_counters,
            )
            # One batch per run that loads anything, in the change log the incremental marts
            # fold (raw exists now); a run that finds nothing changed writes nothing.
            if any(not plan.unchanged for plan in plans):
                self.context = dataclasses.replace(
                    self.context, change_batch=open_batch(warehouse, clickhouse, self.context.raw)
                )
            unchanged = [plan for plan in plans if plan.unchanged]
            mark_current(warehouse, self.context.raw, [(p.table.name, p.engine) for p in unchanged])
            for plan in unchanged:  # nothing to read, nothing to load
                self._reported(plan.unchanged_report())
            self._run_plans([plan for plan in plans if not plan.unchanged])
            shop.rollback()  # the snapshot is no longer needed
        if self._errors:
            shopmarts = [e for e in self._errors if isinstance(e, ShopmartsError)]
            raise (shopmarts or self._errors)[0]
        return sorted(self.reports, key=lambda report: (report.table, report.engine))

    def _run_plans(self, plans: list[LoadPlan]) -> None:
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

    def _reported(self, report: LoadReport) -> None:
        with self._lock:
            self.reports.append(report)
        if self.progress is not None:
            self.progress(report)

    def _submit(self, plan: LoadPlan, follow_up: LoadPlan | None) -> None:
        future = self._pool.submit(self._run_one, plan, follow_up)
        with self._lock:
            self._futures.append(future)

    def _run_one(self, plan: LoadPlan, follow_up: LoadPlan | None) -> None:
        if self._failed.is_set():
            return
        try:
            if plan.engine == "postgres":
                report = load_postgres(self.context, plan)
            else:
                report = load_clickhouse(self.context, plan)
        except BaseException as error:
            with self._lock:
                self._errors.append(error)
            self._failed.set()
            raise
        self._reported(report)
        if follow_up is not None:
            self._submit(follow_up, None)
