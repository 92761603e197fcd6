"""The gates: between extract and dbt (raw) and between dbt and publish (marts).

This module only orchestrates: it builds the suites (:mod:`quality.suites`), hands them
to the engine's runner (:mod:`quality.postgres_runner`, a GX checkpoint;
:mod:`quality.clickhouse_runner`, pushdown), and returns one :class:`GateResult`. Both
runners build GX Data Docs under ``state_dir()/gx/data_docs/<gate>_<engine>/``
(:mod:`quality.data_docs`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Collection, Mapping, Sequence

from core.settings import Environment
from core.vocabulary import SHADOW_SCHEMA, Engine
from quality import records
from quality.clickhouse_runner import run_on_clickhouse
from quality.data_docs import docs_dir, ephemeral_context, prune_docs
from quality.postgres_runner import run_on_postgres
from quality.results import GateResult
from quality.suites import RawSuiteOptions, TableSuite, mart_suites, raw_suites

log = logging.getLogger(__name__)


def run_raw_gate(
    environment: Environment,
    engine: Engine,
    tables: Collection[str] | None = None,
    *,
    run_id: str | None = None,
    future_tolerance: dt.timedelta | None = None,
    max_row_count_drop: float | None = None,
    remember_counts: bool = True,
    changed_since: Mapping[str, tuple[str, dt.datetime]] | None = None,
    profile: str | None = None,
) -> GateResult:
    """Validate ``raw`` in ``engine`` (all tables or those named) with the rules of source
    ``profile`` (default: the configured one).

    ``changed_since`` (table -> cursor column, lower bound): tables an incremental load
    changed, whose row-level rules read only the rows it wrote (see
    :class:`~quality.suites.raw.RawSuiteOptions`).

    When every suite passes, the row counts of the tables validated whole become the
    baseline of the next load's "no sharp drop" rule (unless ``remember_counts`` is off).
    """
    defaults = RawSuiteOptions()
    options = RawSuiteOptions(
        future_tolerance=future_tolerance or defaults.future_tolerance,
        max_row_count_drop=(
            defaults.max_row_count_drop if max_row_count_drop is None else max_row_count_drop
        ),
        last_good_counts=records.last_good_counts(environment.warehouse_url, engine),
        changed_since=dict(changed_since or {}),
    )
    suites = raw_suites(engine, tables=tables, options=options, profile=profile)
    result = run_suites(environment, "raw", engine, suites, run_id=run_id)
    if result.success and remember_counts:
        counts = {
            o.table: o.row_count
            for o in result.outcomes
            if o.row_count is not None and o.table not in options.changed_since
        }
        records.remember_good_counts(environment.warehouse_url, engine, counts, run_id)
    return result


def run_mart_gate(
    environment: Environment,
    engine: Engine,
    marts: Collection[str] | None = None,
    *,
    schema: str = SHADOW_SCHEMA,
    rebuilt_together: Collection[str] | None = None,
    run_id: str | None = None,
) -> GateResult:
    """Validate ``marts`` (default all) in ``engine``'s ``schema`` (default the shadow)."""
    suites = mart_suites(engine, schema=schema, marts=marts, rebuilt_together=rebuilt_together)
    full = mart_suites(engine, schema=schema, marts=marts, rebuilt_together=None)
    included = {rule for suite in suites for rule in suite.rules}
    skipped = tuple(rule for suite in full for rule in suite.rules if rule not in included)
    result = run_suites(environment, "marts", engine, suites, run_id=run_id)
    return GateResult(
        result.gate, result.engine, result.outcomes, result.seconds, result.docs_url, skipped
    )


def run_suites(
    environment: Environment,
    gate: str,
    engine: Engine,
    suites: Sequence[TableSuite],
    *,
    run_id: str | None = None,
) -> GateResult:
    """Run ``suites`` on ``engine`` and build their Data Docs."""
    started = time.perf_counter()
    run_name = run_id or f"adhoc-{uuid.uuid4().hex[:8]}"
    site = docs_dir(gate, engine)
    prune_docs(site)
    context = ephemeral_context(site)
    if engine == "postgres":
        outcomes = run_on_postgres(context, environment.warehouse_url, suites, run_name)
    else:
        outcomes = run_on_clickhouse(context, environment.clickhouse_url, suites, run_name)
    index = site / "index.html"
    result = GateResult(
        gate=gate,
        engine=engine,
        outcomes=tuple(outcomes),
        seconds=time.perf_counter() - started,
        docs_url=index.as_uri() if index.exists() else None,
    )
    log.info(result.describe())
    return result
