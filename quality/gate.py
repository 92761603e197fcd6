"""Run the suites: the gates between extract and dbt (raw) and between dbt and publish (marts).

PostgreSQL: a GX checkpoint over a SQL datasource; every expectation is pushed down as SQL.
ClickHouse: the same suites evaluated by pushdown in :mod:`quality.clickhouse_validation`
(one aggregate query per relation, one per SQL rule), turned into GX results.

Both build GX Data Docs under ``state_dir()/gx/data_docs/<gate>_<engine>/`` from an
ephemeral context (nothing shared on disk but the HTML, so gates may run in parallel).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from core.clients import clickhouse_client
from core.settings import Environment, state_dir
from core.vocabulary import SHADOW_SCHEMA, Engine
from quality import clickhouse_validation, records
from quality.identity import clickhouse_uuids, postgres_relations
from quality.results import (
    SAMPLE_SIZE,
    FailedExpectation,
    GateResult,
    SuiteOutcome,
    failures_from_gx,
    format_value,
    keys_of_rows,
)
from quality.suites import RawSuiteOptions, Relation, TableSuite, mart_suites, raw_suites
from quality.suites.suite import quote_identifier, rule_of

log = logging.getLogger(__name__)

RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
DOCS_RETENTION = dt.timedelta(days=7)


def docs_dir(gate: str, engine: Engine) -> Path:
    """Where the Data Docs site of one gate on one engine is built."""
    return state_dir() / "gx" / "data_docs" / f"{gate}_{engine}"


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
) -> GateResult:
    """Validate ``raw`` in ``engine`` (all tables or those named).

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
    suites = raw_suites(engine, tables=tables, options=options)
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
    _prune_docs(site)
    context = _context(site)
    if engine == "postgres":
        outcomes = _run_on_postgres(context, environment.warehouse_url, suites, run_name)
    else:
        outcomes = _run_on_clickhouse(context, environment.clickhouse_url, suites, run_name)
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


# --- Great Expectations context -------------------------------------------------------


def _context(site: Path) -> Any:
    """An in-memory GX context whose only file output is the Data Docs site at ``site``."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            "local_site": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(site),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _build_docs(context: Any, keys: list[ValidationResultIdentifier]) -> None:
    if not keys:
        return
    try:
        context.build_data_docs(resource_identifiers=keys)
    except Exception as error:  # noqa: BLE001 - docs are a view; the gate's verdict stands
        log.warning("Data Docs could not be built: %s", error)


def _page_url(context: Any, key: ValidationResultIdentifier) -> str | None:
    with contextlib.suppress(Exception):
        sites = context.get_docs_sites_urls(resource_identifier=key)
        if sites:
            return str(sites[0]["site_url"])
    return None


def _prune_docs(site: Path) -> None:
    """Drop validation pages older than the retention: each run adds its own."""
    validations = site / "validations"
    if not validations.is_dir():
        return
    cutoff = time.time() - DOCS_RETENTION.total_seconds()
    for path in sorted(validations.rglob("*"), reverse=True):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def _missing(suite: TableSuite) -> SuiteOutcome:
    relation = suite.relation
    failure = FailedExpectation(
        rule=f"{relation.name}.exists",
        expectation_type="relation_exists",
        column=None,
        unexpected_count=None,
        observed="missing",
        samples=(),
        description=f"{relation.schema}.{relation.name} exists",
    )
    return SuiteOutcome(
        suite=suite.name,
        engine=relation.engine,
        relation=f"{relation.schema}.{relation.name}",
        relation_identity=None,
        evaluated=1,
        failures=(failure,),
    )


def _outcome(
    suite: TableSuite,
    result: ExpectationSuiteValidationResult,
    before: str | None,
    after: str | None,
    *,
    failures: tuple[FailedExpectation, ...],
    row_count: int | None,
    docs_url: str | None,
) -> SuiteOutcome:
    """The outcome of one validated suite; its relation replaced meanwhile fails it."""
    outcome = SuiteOutcome(
        suite=suite.name,
        engine=suite.relation.engine,
        relation=f"{suite.relation.schema}.{suite.relation.name}",
        relation_identity=before,
        evaluated=len(result.results),
        failures=failures,
        row_count=row_count,
        docs_url=docs_url,
    )
    return outcome if after == before else _changed(outcome, after)


def _changed(outcome: SuiteOutcome, identity: str | None) -> SuiteOutcome:
    """The relation was replaced while it was being validated: what passed is gone."""
    failure = FailedExpectation(
        rule=f"{outcome.table}.unchanged_during_validation",
        expectation_type="relation_identity",
        column=None,
        unexpected_count=None,
        observed=f"{outcome.relation_identity} became {identity}",
        samples=(),
        description=f"{outcome.relation} is the same relation before and after validation",
    )
    return SuiteOutcome(
        outcome.suite,
        outcome.engine,
        outcome.relation,
        outcome.relation_identity,
        outcome.evaluated + 1,
        (*outcome.failures, failure),
        outcome.row_count,
        outcome.docs_url,
    )


def _row_count(result: ExpectationSuiteValidationResult) -> int | None:
    counts: list[int] = []
    for item in result.results:
        body = item.result or {}
        config = item.expectation_config
        is_row_count = config is not None and config.type == "expect_table_row_count_to_be_between"
        if is_row_count and isinstance(body.get("observed_value"), int):
            return int(body["observed_value"])
        if isinstance(body.get("element_count"), int):
            counts.append(int(body["element_count"]))
    return max(counts) if counts else None


# --- PostgreSQL: a GX checkpoint ------------------------------------------------------


def sqlalchemy_url(postgres_url: str) -> str:
    """The libpq URL in SQLAlchemy's spelling, with the psycopg2 driver GX supports best."""
    scheme, rest = postgres_url.split("://", 1)
    return f"postgresql+psycopg2://{rest}" if scheme in ("postgresql", "postgres") else postgres_url


def postgres_identities(
    conn: psycopg.Connection, relations: Collection[Relation]
) -> dict[Relation, str | None]:
    """The identity of each relation (see :mod:`quality.identity`), None if missing."""
    found: dict[Relation, str | None] = {}
    for schema in {r.schema for r in relations}:
        names = [r.name for r in relations if r.schema == schema]
        existing = postgres_relations(conn, schema, names)
        for r in relations:
            if r.schema == schema:
                found[r] = existing[r.name].identity if r.name in existing else None
    return found


def _run_on_postgres(
    context: Any, warehouse_url: str, suites: Sequence[TableSuite], run_name: str
) -> list[SuiteOutcome]:
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        before = postgres_identities(conn, [s.relation for s in suites])
        present = [s for s in suites if before[s.relation] is not None]
        validations = []
        batches: dict[str, Any] = {}
        keys: dict[str, dict[str, list[str]]] = {}
        if present:
            # Whole tables are read in place. The rows an incremental load changed are
            # selected once into a temporary table that every expectation then reads.
            datasources = {
                sliced: context.data_sources.add_postgres(
                    "warehouse_changed_rows" if sliced else "warehouse",
                    connection_string=sqlalchemy_url(warehouse_url),
                    create_temp_table=sliced,
                )
                for sliced in {bool(suite.relation.where) for suite in present}
            }
            for suite in present:
                where = suite.relation.where
                asset = datasources[bool(where)].add_query_asset(
                    suite.name,
                    query=f"SELECT * FROM {suite.relation.qualified}"
                    + (f" WHERE {where}" if where else ""),
                )
                batch = asset.add_batch_definition_whole_table("whole table")
                batches[suite.name] = batch
                validations.append(
                    context.validation_definitions.add(
                        gx.ValidationDefinition(
                            name=suite.name, data=batch, suite=context.suites.add(suite.gx_suite())
                        )
                    )
                )
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name=f"{suites[0].layer}_postgres",
                    validation_definitions=validations,
                    result_format=RESULT_FORMAT,
                )
            )
            try:
                run = checkpoint.run(run_id=RunIdentifier(run_name=run_name))
                # Which rows failed, by key: asked again of the failed suites only, so a
                # gate that passes pays nothing for it.
                for result in run.run_results.values():
                    if not result.success:
                        suite = next(s for s in present if s.name == result.suite_name)
                        keys[suite.name] = _postgres_failing_keys(
                            conn, batches[suite.name], suite, result
                        )
            finally:
                for datasource in datasources.values():
                    with contextlib.suppress(Exception):
                        datasource.get_engine().dispose()
            by_suite = {result.suite_name: (key, result) for key, result in run.run_results.items()}
            # One build for the whole gate (GX's UpdateDataDocsAction rebuilds per suite).
            _build_docs(context, list(run.run_results))
        else:
            by_suite = {}
        after = postgres_identities(conn, [s.relation for s in present])
        outcomes = []
        for suite in suites:
            if suite.name not in by_suite:
                outcomes.append(_missing(suite))
                continue
            key, result = by_suite[suite.name]
            samples, row_keys = _postgres_samples(conn, suite, result)
            outcomes.append(
                _outcome(
                    suite,
                    result,
                    before[suite.relation],
                    after[suite.relation],
                    failures=failures_from_gx(
                        result.results,
                        samples,
                        key_columns=suite.key,
                        keys={**keys.get(suite.name, {}), **row_keys},
                    ),
                    row_count=_row_count(result),
                    docs_url=_page_url(context, key),
                )
            )
    return outcomes


# Expectations GX cannot give failing rows' keys for: row rules (their own SQL, see
# _postgres_samples), table-level ones, and compound uniqueness on SQL (GX skips it there).
_NOT_INDEXED_BY_GX = {
    "unexpected_rows_expectation",
    "expect_table_row_count_to_be_between",
    "expect_compound_columns_to_be_unique",
}


def _postgres_failing_keys(
    conn: psycopg.Connection,
    batch_definition: Any,
    suite: TableSuite,
    result: ExpectationSuiteValidationResult,
) -> dict[str, list[str]]:
    """{rule: keys of a few failing rows} of the failed expectations of ``suite``.

    Column expectations are validated again by GX on the same batch, with the suite's key
    as `unexpected_index_column_names` (its `partial_unexpected_index_list`); compound
    uniqueness is asked directly. A failure here costs the examples, never the verdict.
    """
    if not suite.key:
        return {}
    failed = {
        rule_of(item.expectation_config)
        for item in result.results
        if not item.success
        and item.expectation_config is not None
        and not _exception_raised(item.exception_info)
    }
    by_rule = {rule_of(e): e for e in suite.expectations}
    again = [
        by_rule[rule].copy(deep=True)
        for rule in failed
        if rule in by_rule and by_rule[rule].expectation_type not in _NOT_INDEXED_BY_GX
    ]
    keys: dict[str, list[str]] = {}
    if again:
        try:
            recheck = batch_definition.get_batch().validate(
                gx.ExpectationSuite(name=f"{suite.name}.failing_keys", expectations=again),
                result_format={
                    **RESULT_FORMAT,
                    "unexpected_index_column_names": list(suite.key),
                    "return_unexpected_index_query": False,
                },
            )
        except Exception as error:  # noqa: BLE001 - examples are a courtesy
            log.warning("keys of the failing rows of %s unavailable: %s", suite.name, error)
        else:
            for item in recheck.results:
                indexed = (item.result or {}).get("partial_unexpected_index_list") or []
                found = keys_of_rows([r for r in indexed if isinstance(r, dict)], suite.key)
                if found:
                    keys[rule_of(item.expectation_config)] = found
    for rule in failed:
        expectation = by_rule.get(rule)
        if isinstance(expectation, gxe.ExpectCompoundColumnsToBeUnique):
            keys[rule] = _postgres_duplicate_keys(conn, suite, list(expectation.column_list))
    return keys


def _postgres_duplicate_keys(
    conn: psycopg.Connection, suite: TableSuite, columns: list[str]
) -> list[str]:
    """Keys of a few rows sharing ``columns`` with another row."""
    quoted = ", ".join(quote_identifier("postgres", c) for c in columns)
    present = " AND ".join(f"{quote_identifier('postgres', c)} IS NOT NULL" for c in columns)
    key = ", ".join(quote_identifier("postgres", c) for c in suite.key)
    source = suite.relation.from_clause()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT {key} FROM {source} AS rows WHERE ({quoted}) IN "
                f"(SELECT {quoted} FROM {source} AS grouped WHERE {present} "
                f"GROUP BY {quoted} HAVING count(*) > 1) LIMIT {SAMPLE_SIZE}"
            )
            found = cursor.fetchall()
    except psycopg.Error as error:
        log.warning("keys of the duplicated rows of %s unavailable: %s", suite.name, error)
        return []
    return keys_of_rows([dict(zip(suite.key, row, strict=True)) for row in found], suite.key)


def _exception_raised(info: Any) -> bool:
    return isinstance(info, Mapping) and bool(info.get("raised_exception"))


def _postgres_samples(
    conn: psycopg.Connection, suite: TableSuite, result: ExpectationSuiteValidationResult
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """A few offending rows of each failed SQL rule (GX's SUMMARY keeps none), and their
    keys when the rule's rows are the table's: ({rule: rows}, {rule: keys})."""
    samples: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    for item in result.results:
        config = item.expectation_config
        if item.success or config is None or config.type != "unexpected_rows_expectation":
            continue
        query = str(config.kwargs["unexpected_rows_query"]).replace(
            "{batch}", suite.relation.from_clause()
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"SELECT * FROM ({query}) AS unexpected LIMIT {SAMPLE_SIZE}")
                names = [column.name for column in cursor.description or []]
                rows = cursor.fetchall()
        except psycopg.Error:
            continue
        found = [dict(zip(names, row, strict=True)) for row in rows]
        samples[rule_of(config)] = [format_value(row) for row in found]
        keys[rule_of(config)] = keys_of_rows(found, suite.key)
    return samples, keys


# --- ClickHouse: pushdown, results handed to GX for Data Docs --------------------------


def clickhouse_identities(
    client: ClickHouseClient, relations: Collection[Relation]
) -> dict[Relation, str | None]:
    """The identity of each table (see :mod:`quality.identity`), None if missing."""
    found: dict[Relation, str | None] = {}
    for database in {r.schema for r in relations}:
        existing = clickhouse_uuids(
            client, database, [r.name for r in relations if r.schema == database]
        )
        for r in relations:
            if r.schema == database:
                found[r] = existing.get(r.name)
    return found


def _run_on_clickhouse(
    context: Any, clickhouse_url: str, suites: Sequence[TableSuite], run_name: str
) -> list[SuiteOutcome]:
    run_time = dt.datetime.now(dt.UTC)
    outcomes = []
    keys: list[ValidationResultIdentifier] = []
    with clickhouse_client(clickhouse_url) as client:
        before = clickhouse_identities(client, [s.relation for s in suites])
        validated: list[tuple[TableSuite, ValidationResultIdentifier, Any, int]] = []
        for suite in suites:
            if before[suite.relation] is None:
                continue
            results, row_count = clickhouse_validation.validate_suite(client, suite)
            statistics: dict[str, float] = {
                "evaluated_expectations": len(results),
                "successful_expectations": sum(1 for r in results if r.success),
                "unsuccessful_expectations": sum(1 for r in results if not r.success),
            }
            statistics["success_percent"] = (
                100.0 * statistics["successful_expectations"] / len(results) if results else 100.0
            )
            suite_result = ExpectationSuiteValidationResult(
                success=all(r.success for r in results),
                results=results,
                suite_name=suite.name,
                statistics=statistics,
                meta={
                    "great_expectations_version": gx.__version__,
                    "active_batch_definition": {
                        "datasource_name": "clickhouse",
                        "data_connector_name": "pushdown",
                        "data_asset_name": suite.name,
                        "batch_identifiers": {},
                    },
                    "batch_spec": {"query": f"SELECT * FROM {suite.relation.from_clause()}"},
                    "batch_markers": {},
                    "run_id": {"run_name": run_name, "run_time": run_time.isoformat()},
                    "validation_time": run_time.isoformat(),
                },
            )
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
                run_id=RunIdentifier(run_name=run_name, run_time=run_time),
                batch_identifier=f"clickhouse-{suite.name}",
            )
            with contextlib.suppress(Exception):
                context.validation_results_store.set(key, suite_result)
                keys.append(key)
            validated.append((suite, key, suite_result, row_count))
        after = clickhouse_identities(client, [s.relation for s, *_ in validated])
    _build_docs(context, keys)
    by_suite = {suite.name: (key, result, rows) for suite, key, result, rows in validated}
    for suite in suites:
        if suite.name not in by_suite:
            outcomes.append(_missing(suite))
            continue
        key, result, rows = by_suite[suite.name]
        outcomes.append(
            _outcome(
                suite,
                result,
                before[suite.relation],
                after[suite.relation],
                failures=failures_from_gx(result.results, key_columns=suite.key),
                row_count=rows,
                docs_url=_page_url(context, key) if key in keys else None,
            )
        )
    return outcomes
