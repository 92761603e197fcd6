"""The gate on PostgreSQL: each suite measured in one pass over its relation
(:mod:`quality.postgres_onepass`), then a GX checkpoint over a SQL datasource for what
the passes did not find met, those expectations pushed down as SQL by GX itself; then the
failure details of the failed suites (:mod:`quality.postgres_failures`) and the Data Docs
pages."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
import psycopg
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from quality.data_docs import build_docs, page_url
from quality.identity import postgres_relations
from quality.outcomes import (
    missing_outcome,
    row_count_of,
    suite_result_of,
    validated_outcome,
)
from quality.postgres_failures import failing_keys, failing_rows
from quality.postgres_onepass import OnePass, one_pass
from quality.results import RESULT_FORMAT, SuiteOutcome, failures_from_gx
from quality.suites import Relation, TableSuite, rule_of
from quality.workers import map_on_connections

# Suites measured at once, each pass a query on one core, on a connection of its own (the
# hourly's mart gate at scale 100: 1.6 s of queries one suite at a time).
PASS_WORKERS = 2


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


@dataclass(frozen=True)
class Validated:
    """One suite's GX result, its Data Docs key and the keys of its failing rows by rule."""

    key: ValidationResultIdentifier
    result: ExpectationSuiteValidationResult
    failing_keys: dict[str, list[str]]


def run_on_postgres(
    context: Any,
    warehouse_url: str,
    suites: Sequence[TableSuite],
    run_name: str,
    *,
    one_pass_first: bool = True,
) -> list[SuiteOutcome]:
    """Validate ``suites`` in the warehouse; a suite whose relation is missing fails.

    ``one_pass_first`` off: GX validates every expectation itself (the reference the
    tests hold the one pass to).
    """
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        before = postgres_identities(conn, [s.relation for s in suites])
        present = [s for s in suites if before[s.relation] is not None]
        validated = (
            validate_suites(context, conn, warehouse_url, present, run_name, one_pass_first)
            if present
            else {}
        )
        after = postgres_identities(conn, [s.relation for s in present])
        outcomes = []
        for suite in suites:
            if suite.name not in validated:
                outcomes.append(missing_outcome(suite))
                continue
            found = validated[suite.name]
            samples, row_keys = failing_rows(conn, suite, found.result)
            outcomes.append(
                validated_outcome(
                    suite,
                    found.result,
                    before[suite.relation],
                    after[suite.relation],
                    failures=failures_from_gx(
                        found.result.results,
                        samples,
                        key_columns=suite.key,
                        keys={**found.failing_keys, **row_keys},
                    ),
                    row_count=row_count_of(found.result),
                    docs_url=page_url(context, found.key),
                )
            )
    return outcomes


def validate_suites(
    context: Any,
    conn: psycopg.Connection,
    warehouse_url: str,
    suites: Sequence[TableSuite],
    run_name: str,
    one_pass_first: bool = True,
) -> dict[str, Validated]:
    """Each suite measured in one pass (:mod:`quality.postgres_onepass`), then one GX
    checkpoint over what the passes left to GX (what they found failing, what they do not
    fold), by suite name; each suite's result holds every expectation, in the suite's order.
    """
    passes = (
        _one_passes(warehouse_url, suites)
        if one_pass_first
        else dict.fromkeys((suite.name for suite in suites), None)
    )
    left = {
        suite.name: list(range(len(suite.expectations)))
        if passes[suite.name] is None
        else passes[suite.name].left_to_gx(suite)  # type: ignore[union-attr]
        for suite in suites
    }
    checked = [suite for suite in suites if left[suite.name]]
    run_time = dt.datetime.now(dt.UTC)
    gx_results = _run_checkpoint(context, conn, warehouse_url, checked, left, run_name)
    validated: dict[str, Validated] = {}
    for suite in suites:
        found = passes[suite.name]
        met = found.met if found is not None else {}
        if suite.name in gx_results:
            key, result, keys = gx_results[suite.name]
        else:
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
                run_id=RunIdentifier(run_name=run_name, run_time=run_time),
                batch_identifier=_batch_id(suite),
            )
            result, keys = None, {}
        merged = _merged(suite, met, result, run_name, run_time)
        with contextlib.suppress(Exception):
            context.validation_results_store.set(key, merged)
        validated[suite.name] = Validated(key, merged, keys)
    # One build for the whole gate (GX's UpdateDataDocsAction rebuilds per suite).
    build_docs(context, [v.key for v in validated.values()])
    return validated


def _one_passes(warehouse_url: str, suites: Sequence[TableSuite]) -> dict[str, OnePass | None]:
    """Each suite's one pass, by suite name; :data:`PASS_WORKERS` at once."""
    found = map_on_connections(
        lambda: psycopg.connect(warehouse_url, autocommit=True),
        lambda conn, suite: one_pass(conn, suite, _batch_id(suite)),
        suites,
        PASS_WORKERS,
    )
    return {suite.name: passed for suite, passed in zip(suites, found, strict=True)}


def _run_checkpoint(
    context: Any,
    conn: psycopg.Connection,
    warehouse_url: str,
    suites: Sequence[TableSuite],
    left: dict[str, list[int]],
    run_name: str,
) -> dict[
    str, tuple[ValidationResultIdentifier, ExpectationSuiteValidationResult, dict[str, list[str]]]
]:
    """One GX checkpoint over the expectations of ``suites`` left to GX, by suite name:
    (the result's key, GX's result, the keys of its failing rows by rule)."""
    if not suites:
        return {}
    # Whole tables are read in place. The rows an incremental load changed are selected
    # once into a temporary table that every expectation then reads.
    datasources = {
        sliced: context.data_sources.add_postgres(
            _datasource_name(sliced),
            connection_string=sqlalchemy_url(warehouse_url),
            create_temp_table=sliced,
        )
        for sliced in {bool(suite.relation.where) for suite in suites}
    }
    batches: dict[str, Any] = {}
    validations = []
    for suite in suites:
        where = suite.relation.where
        asset = datasources[bool(where)].add_query_asset(
            suite.name,
            query=f"SELECT * FROM {suite.relation.qualified}"
            + (f" WHERE {where}" if where else ""),
        )
        batches[suite.name] = asset.add_batch_definition_whole_table("whole table")
        expectations = [suite.expectations[i].copy(deep=True) for i in left[suite.name]]
        validations.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(
                    name=suite.name,
                    data=batches[suite.name],
                    suite=context.suites.add(
                        gx.ExpectationSuite(name=suite.name, expectations=expectations)
                    ),
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
    keys: dict[str, dict[str, list[str]]] = {}
    try:
        run = checkpoint.run(run_id=RunIdentifier(run_name=run_name))
        # Which rows failed, by key: asked again of the failed suites only, while the
        # datasources are still open.
        for result in run.run_results.values():
            if not result.success:
                suite = next(s for s in suites if s.name == result.suite_name)
                keys[suite.name] = failing_keys(conn, batches[suite.name], suite, result)
    finally:
        for datasource in datasources.values():
            with contextlib.suppress(Exception):
                datasource.get_engine().dispose()
    return {
        result.suite_name: (key, result, keys.get(result.suite_name, {}))
        for key, result in run.run_results.items()
    }


def _datasource_name(sliced: bool) -> str:
    return "warehouse_changed_rows" if sliced else "warehouse"


def _batch_id(suite: TableSuite) -> str:
    """The id GX gives the batch of ``suite``'s relation (datasource-asset)."""
    return f"{_datasource_name(bool(suite.relation.where))}-{suite.name}"


def _merged(
    suite: TableSuite,
    met: dict[int, ExpectationValidationResult],
    checked: ExpectationSuiteValidationResult | None,
    run_name: str,
    run_time: dt.datetime,
) -> ExpectationSuiteValidationResult:
    """One suite result of every expectation, in the suite's order: those the one pass
    found met, and GX's results of the others (``checked``, matched by rule)."""
    by_rule = {rule_of(r.expectation_config): r for r in (checked.results if checked else [])}
    results = [
        met[index] if index in met else by_rule[rule_of(expectation)]
        for index, expectation in enumerate(suite.expectations)
    ]
    return suite_result_of(
        suite,
        results,
        ("warehouse", "one_pass"),
        (run_name, run_time),
        meta=dict(checked.meta) if checked is not None else None,
    )
