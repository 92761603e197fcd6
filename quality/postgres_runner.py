"""The gate on PostgreSQL: a GX checkpoint over a SQL datasource, every expectation pushed
down as SQL by GX itself; then the failure details of the failed suites
(:mod:`quality.postgres_failures`) and the Data Docs pages."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
import psycopg
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ValidationResultIdentifier,
)

from quality.data_docs import build_docs, page_url
from quality.identity import postgres_relations
from quality.outcomes import missing_outcome, row_count_of, validated_outcome
from quality.postgres_failures import failing_keys, failing_rows
from quality.results import RESULT_FORMAT, SuiteOutcome, failures_from_gx
from quality.suites import Relation, TableSuite


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
class _Validated:
    """One suite's GX result, its Data Docs key and the keys of its failing rows by rule."""

    key: ValidationResultIdentifier
    result: ExpectationSuiteValidationResult
    failing_keys: dict[str, list[str]]


def run_on_postgres(
    context: Any, warehouse_url: str, suites: Sequence[TableSuite], run_name: str
) -> list[SuiteOutcome]:
    """Validate ``suites`` in the warehouse; a suite whose relation is missing fails."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        before = postgres_identities(conn, [s.relation for s in suites])
        present = [s for s in suites if before[s.relation] is not None]
        validated = _validate(context, conn, warehouse_url, present, run_name) if present else {}
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


def _validate(
    context: Any,
    conn: psycopg.Connection,
    warehouse_url: str,
    suites: Sequence[TableSuite],
    run_name: str,
) -> dict[str, _Validated]:
    """One checkpoint over ``suites`` (relations present), by suite name."""
    # Whole tables are read in place. The rows an incremental load changed are selected
    # once into a temporary table that every expectation then reads.
    datasources = {
        sliced: context.data_sources.add_postgres(
            "warehouse_changed_rows" if sliced else "warehouse",
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
        validations.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(
                    name=suite.name,
                    data=batches[suite.name],
                    suite=context.suites.add(suite.gx_suite()),
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
    # One build for the whole gate (GX's UpdateDataDocsAction rebuilds per suite).
    build_docs(context, list(run.run_results))
    return {
        result.suite_name: _Validated(key, result, keys.get(result.suite_name, {}))
        for key, result in run.run_results.items()
    }
