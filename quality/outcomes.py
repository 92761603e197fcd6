"""A validated suite's outcome, whichever engine ran it: its failures, its row count, and
the two failures the gate adds itself (the relation is missing; it was replaced while
being validated)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)

from quality.results import FailedExpectation, SuiteOutcome
from quality.suites import TableSuite


def missing_outcome(suite: TableSuite) -> SuiteOutcome:
    """The outcome of a suite whose relation does not exist: one failure, ``<table>.exists``."""
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


def validated_outcome(
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


def row_count_of(result: ExpectationSuiteValidationResult) -> int | None:
    """The relation's row count as GX observed it: the row-count rule's, else the largest
    element count of a column expectation."""
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


def suite_result_of(
    suite: TableSuite,
    results: list[ExpectationValidationResult],
    batch: tuple[str, str],
    run: tuple[str, dt.datetime],
    meta: dict[str, Any] | None = None,
) -> ExpectationSuiteValidationResult:
    """The expectations' ``results`` as the suite result a GX checkpoint would have made
    (what Data Docs renders): its statistics, and ``meta`` (by default, that of a batch of
    ``batch``, (datasource, data connector), validated in ``run``, (name, time))."""
    successful = sum(1 for r in results if r.success)
    statistics: dict[str, float] = {
        "evaluated_expectations": len(results),
        "successful_expectations": successful,
        "unsuccessful_expectations": len(results) - successful,
        "success_percent": 100.0 * successful / len(results) if results else 100.0,
    }
    if meta is None:
        (datasource, connector), (run_name, run_time) = batch, run
        meta = {
            "great_expectations_version": gx.__version__,
            "active_batch_definition": {
                "datasource_name": datasource,
                "data_connector_name": connector,
                "data_asset_name": suite.name,
                "batch_identifiers": {},
            },
            "batch_spec": {"query": f"SELECT * FROM {suite.relation.from_clause()}"},
            "batch_markers": {},
            "run_id": {"run_name": run_name, "run_time": run_time.isoformat()},
            "validation_time": run_time.isoformat(),
        }
    return ExpectationSuiteValidationResult(
        success=all(r.success for r in results),
        results=results,
        suite_name=suite.name,
        statistics=statistics,
        meta=meta,
    )
