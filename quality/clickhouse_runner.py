"""The gate on ClickHouse: the suites evaluated by pushdown in
:mod:`quality.clickhouse_validation` (one aggregate query per relation, which also counts
the row rules that filter the relation's own rows; one more query per other SQL rule, and
per failing one for its rows), wrapped as genuine GX suite results so Data Docs and the
failure report read the same as on PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from clickhouse_connect.driver.client import Client as ClickHouseClient
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from core.clients import clickhouse_client
from quality import clickhouse_validation
from quality.data_docs import build_docs, page_url
from quality.identity import clickhouse_uuids
from quality.outcomes import missing_outcome, suite_result_of, validated_outcome
from quality.results import SuiteOutcome, failures_from_gx
from quality.suites import Relation, TableSuite

# Suites validated at once. Most of a gate's queries are small and the engine spreads the
# larger ones over its cores, so the gain is small: the hourly's raw gate at scale 20 waited
# 1.08 s for its 26 queries one suite at a time, 0.86 s two at a time.
SUITE_WORKERS = 2


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


def run_on_clickhouse(
    context: Any, clickhouse_url: str, suites: Sequence[TableSuite], run_name: str
) -> list[SuiteOutcome]:
    """Validate ``suites`` in ClickHouse; a suite whose relation is missing fails."""
    run_time = dt.datetime.now(dt.UTC)
    stored: list[ValidationResultIdentifier] = []
    validated: dict[str, tuple[ValidationResultIdentifier, ExpectationSuiteValidationResult, int]]
    validated = {}
    with clickhouse_client(clickhouse_url) as client:
        before = clickhouse_identities(client, [s.relation for s in suites])
        sorting_keys = {
            database: clickhouse_validation.replacing_sorting_keys(client, database)
            for database in {s.relation.schema for s in suites if s.relation.final}
        }
        present = [suite for suite in suites if before[suite.relation] is not None]

        def measure(suite: TableSuite) -> tuple[list[ExpectationValidationResult], int]:
            return clickhouse_validation.validate_suite(
                client, suite, sorting_keys.get(suite.relation.schema, {})
            )

        # The client has no session, so its queries may run at once.
        with ThreadPoolExecutor(max_workers=SUITE_WORKERS) as pool:
            measured = list(pool.map(measure, present))
        for suite, (results, row_count) in zip(present, measured, strict=True):
            suite_result = suite_result_of(
                suite, results, ("clickhouse", "pushdown"), (run_name, run_time)
            )
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
                run_id=RunIdentifier(run_name=run_name, run_time=run_time),
                batch_identifier=f"clickhouse-{suite.name}",
            )
            with contextlib.suppress(Exception):
                context.validation_results_store.set(key, suite_result)
                stored.append(key)
            validated[suite.name] = (key, suite_result, row_count)
        after = clickhouse_identities(client, [s.relation for s in suites if s.name in validated])
    build_docs(context, stored)
    outcomes = []
    for suite in suites:
        if suite.name not in validated:
            outcomes.append(missing_outcome(suite))
            continue
        key, result, rows = validated[suite.name]
        outcomes.append(
            validated_outcome(
                suite,
                result,
                before[suite.relation],
                after[suite.relation],
                failures=failures_from_gx(result.results, key_columns=suite.key),
                row_count=rows,
                docs_url=page_url(context, key) if key in stored else None,
            )
        )
    return outcomes
