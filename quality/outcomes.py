"""A validated suite's outcome, whichever engine ran it: its failures, its row count, and
the two failures the gate adds itself (the relation is missing; it was replaced while
being validated)."""

from __future__ import annotations

from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
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
