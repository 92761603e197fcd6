"""Failure details on PostgreSQL: the keys of a few failing rows and a few offending rows
of each failed SQL rule, asked again of the failed suites only, so a gate that passes
pays nothing for them. (ClickHouse measures them in the validating pass itself, see
:mod:`quality.clickhouse_validation`.) A failure here costs the examples, never the
verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import psycopg
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
)

from quality.results import RESULT_FORMAT, SAMPLE_SIZE, format_value, keys_of_rows
from quality.suites import TableSuite
from quality.suites.suite import quote_identifier, rule_of

log = logging.getLogger(__name__)

# Expectations GX cannot give failing rows' keys for: row rules (their own SQL, see
# failing_rows), table-level ones, and compound uniqueness on SQL (GX skips it there).
_NOT_INDEXED_BY_GX = {
    "unexpected_rows_expectation",
    "expect_table_row_count_to_be_between",
    "expect_compound_columns_to_be_unique",
}


def failing_keys(
    conn: psycopg.Connection,
    batch_definition: Any,
    suite: TableSuite,
    result: ExpectationSuiteValidationResult,
) -> dict[str, list[str]]:
    """{rule: keys of a few failing rows} of the failed expectations of ``suite``.

    Column expectations are validated again by GX on the same batch, with the suite's key
    as `unexpected_index_column_names` (its `partial_unexpected_index_list`); compound
    uniqueness is asked directly.
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
    keys = _keys_from_gx(batch_definition, suite, again) if again else {}
    for rule in failed:
        expectation = by_rule.get(rule)
        if isinstance(expectation, gxe.ExpectCompoundColumnsToBeUnique):
            keys[rule] = duplicate_keys(conn, suite, list(expectation.column_list))
    return keys


def _keys_from_gx(
    batch_definition: Any, suite: TableSuite, expectations: list[gxe.Expectation]
) -> dict[str, list[str]]:
    """GX's own answer: the expectations validated again, indexed by the suite's key."""
    try:
        recheck = batch_definition.get_batch().validate(
            gx.ExpectationSuite(name=f"{suite.name}.failing_keys", expectations=expectations),
            result_format={
                **RESULT_FORMAT,
                "unexpected_index_column_names": list(suite.key),
                "return_unexpected_index_query": False,
            },
        )
    except Exception as error:  # noqa: BLE001 - examples are a courtesy
        log.warning("keys of the failing rows of %s unavailable: %s", suite.name, error)
        return {}
    keys: dict[str, list[str]] = {}
    for item in recheck.results:
        indexed = (item.result or {}).get("partial_unexpected_index_list") or []
        found = keys_of_rows([r for r in indexed if isinstance(r, dict)], suite.key)
        if found:
            keys[rule_of(item.expectation_config)] = found
    return keys


def duplicate_keys(conn: psycopg.Connection, suite: TableSuite, columns: list[str]) -> list[str]:
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


def failing_rows(
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
