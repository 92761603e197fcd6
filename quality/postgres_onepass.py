"""PostgreSQL: a suite's verdicts in one pass over its relation, GX asked only about failures.

GX's SQL engine resolves each expectation with queries of its own: one scan of the table
per expectation (17 for ``raw.orders``), plus a few tenths of a second of metric-graph
work each. Most expectations pass. So a suite is first measured here in one aggregate
``SELECT`` over its relation: per column expectation, the count of rows GX would call
unexpected (or, for uniqueness, of surplus rows), per row rule written as
``SELECT * FROM {batch} WHERE <condition>`` a ``count(*) FILTER`` of the condition; the
other row rules (anti-joins, totals) are counted in one more statement, one scalar
subquery each. Key uniqueness a unique index of the relation already guarantees is not
measured at all.

An expectation this pass finds met gets the result GX gives a met expectation (same
fields, same values: `tests/test_quality_gates.py` compares them with GX's own on a clean
load); every other one (found failing, or of a kind or shape this module does not fold)
is left to GX, which validates it as before and reports its counts, samples and failing
keys. The pass never decides a failure: it only spares GX the work of confirming what
holds. Any error in the pass leaves the whole suite to GX.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import great_expectations.expectations as gxe
import psycopg
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from psycopg import sql

from quality.suites import TableSuite

log = logging.getLogger(__name__)

# A row rule this simple is a filter on the suite's own rows: counted in the pass.
_SIMPLE_ROWS_RULE = re.compile(r"^\s*SELECT \* FROM \{batch\} WHERE (?P<condition>.+?)\s*$", re.S)


@dataclass(frozen=True)
class OnePass:
    """What one pass over a suite's relation settled: the results of the expectations it
    found met, by their index in the suite; the rest is GX's to validate."""

    row_count: int
    met: dict[int, ExpectationValidationResult]

    def left_to_gx(self, suite: TableSuite) -> list[int]:
        """Indexes of the suite's expectations GX still has to validate."""
        return [i for i in range(len(suite.expectations)) if i not in self.met]


@dataclass(frozen=True)
class _Measure:
    """How one expectation is measured: SQL counting its unexpected (or surplus) rows, and
    the SQL counting its column's missing values (for GX's ``missing_count``)."""

    unexpected: str
    missing: str | None = None


def one_pass(conn: psycopg.Connection, suite: TableSuite, batch_id: str) -> OnePass | None:
    """Measure ``suite`` in one pass; None (GX validates it all) if the pass fails.

    ``batch_id``: the id of the GX batch of the suite's relation, which GX's results name.
    """
    try:
        return _one_pass(conn, suite, batch_id)
    except (psycopg.Error, TypeError, ValueError) as error:
        log.warning("one pass over %s failed, GX validates it whole: %s", suite.name, error)
        return None


def _one_pass(conn: psycopg.Connection, suite: TableSuite, batch_id: str) -> OnePass:
    if not suite.relation.where:
        return _measured(conn, suite, batch_id, suite.relation.from_clause())
    # The rows an incremental load changed are found by a range scan of raw's index on
    # the cursor column into a temporary table, which the pass and the row rules then
    # read, as GX's own temporary table did.
    slice_table = sql.Identifier(f"gate_slice_{suite.relation.name}").as_string(conn)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{slice_table}")  # type: ignore[arg-type]
        cursor.execute(
            f"CREATE TEMPORARY TABLE {slice_table} AS "  # type: ignore[arg-type]
            f"SELECT * FROM {suite.relation.from_clause()} AS changed"
        )
        cursor.execute(f"ANALYZE {slice_table}")  # type: ignore[arg-type]
    try:
        return _measured(conn, suite, batch_id, f"pg_temp.{slice_table}")
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{slice_table}")  # type: ignore[arg-type]


def _measured(conn: psycopg.Connection, suite: TableSuite, batch_id: str, source: str) -> OnePass:
    """The one pass over ``source``: the suite's relation, or the temporary table of its
    changed rows."""
    guaranteed = _unique_column_sets(conn, suite)
    measures: dict[int, _Measure] = {}
    counted: dict[int, str] = {}  # row rules counted by a subquery of their own
    row_count_rules: list[int] = []
    for index, expectation in enumerate(suite.expectations):
        if getattr(expectation, "mostly", None) not in (None, 1, 1.0):
            continue  # a tolerance: GX's arithmetic, not ours
        if isinstance(expectation, gxe.ExpectTableRowCountToBeBetween):
            row_count_rules.append(index)
            continue
        if isinstance(expectation, gxe.UnexpectedRowsExpectation):
            query = str(expectation.unexpected_rows_query)
            simple = _SIMPLE_ROWS_RULE.match(query)
            condition = simple.group("condition") if simple else None
            if condition is not None and "{batch}" not in condition and not _subquery(condition):
                measures[index] = _Measure(f"count(*) FILTER (WHERE {condition})")
            else:
                counted[index] = query.replace("{batch}", source)
            continue
        measure = _measure(conn, expectation, guaranteed)
        if measure is not None:
            measures[index] = measure

    # One scan: the row count, then per expectation its unexpected and missing counts.
    selects = ["count(*)"]
    for measure in measures.values():
        selects += [measure.unexpected, measure.missing or "0"]
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(selects)} FROM {source} AS batch"  # type: ignore[arg-type]
        )
        row = cursor.fetchone()
        assert row is not None  # an aggregate without GROUP BY returns one row
        if counted:
            cursor.execute(
                "SELECT "  # type: ignore[arg-type]
                + ", ".join(f"(SELECT count(*) FROM ({q}) AS unexpected)" for q in counted.values())
            )
            counts = cursor.fetchone()
            assert counts is not None
        else:
            counts = ()
    row_count = int(row[0])
    met: dict[int, ExpectationValidationResult] = {}
    for n, (index, measure) in enumerate(measures.items()):
        unexpected, missing = int(row[1 + 2 * n]), int(row[2 + 2 * n])
        expectation = suite.expectations[index]
        if unexpected != 0:
            continue
        if isinstance(expectation, gxe.UnexpectedRowsExpectation):
            met[index] = _met(expectation, batch_id, {"observed_value": 0})
        elif row_count == 0:  # an incremental load that changed none of this table's rows
            met[index] = _met(expectation, batch_id, _empty_result(expectation, measure))
        elif measure.missing is None:
            met[index] = _met(expectation, batch_id, _map_result(row_count))
        elif missing < row_count:  # all missing: GX's percentages of nothing are GX's
            met[index] = _met(expectation, batch_id, _map_result(row_count, missing))
    for index, count in zip(counted, counts, strict=True):
        if int(count) == 0:
            met[index] = _met(suite.expectations[index], batch_id, {"observed_value": 0})
    for index in row_count_rules:
        expectation = suite.expectations[index]
        assert isinstance(expectation, gxe.ExpectTableRowCountToBeBetween)
        low, high = expectation.min_value, expectation.max_value
        if not (low is None or isinstance(low, int)) or not (high is None or isinstance(high, int)):
            continue  # a suite parameter: GX resolves it
        if (low is None or row_count >= low) and (high is None or row_count <= high):
            met[index] = _met(expectation, batch_id, {"observed_value": row_count})
    return OnePass(row_count, met)


def _measure(
    conn: psycopg.Connection, e: gxe.Expectation, guaranteed: Sequence[frozenset[str]]
) -> _Measure | None:
    """How the pass measures a column expectation; None: left to GX.

    Each count is of the rows GX would call unexpected, or of more (then GX is asked, and
    decides): a count of 0 is a met expectation, never a guess.
    """
    if isinstance(e, gxe.ExpectColumnValuesToNotBeNull):
        return _Measure(f"count(*) FILTER (WHERE {_column(conn, e.column)} IS NULL)")
    if isinstance(e, gxe.ExpectColumnValuesToBeUnique):
        c = _column(conn, e.column)
        missing = f"count(*) - count({c})"
        if frozenset({e.column}) in guaranteed:
            return _Measure("0", missing)  # a unique index holds it (NULLs are skipped)
        return _Measure(f"count({c}) - count(DISTINCT {c})", missing)
    if isinstance(e, gxe.ExpectCompoundColumnsToBeUnique):
        columns = [_column(conn, c) for c in e.column_list]
        if e.ignore_row_if == "any_value_is_missing":
            considered = " AND ".join(f"{c} IS NOT NULL" for c in columns)
        elif e.ignore_row_if == "all_values_are_missing":
            considered = "NOT (" + " AND ".join(f"{c} IS NULL" for c in columns) + ")"
        else:
            return None
        missing = f"count(*) FILTER (WHERE NOT ({considered}))"
        # A unique index skips a row with any NULL; GX does that only when told so.
        if frozenset(e.column_list) in guaranteed:
            if e.ignore_row_if == "any_value_is_missing":
                return _Measure("0", missing)
            # Otherwise repeats can only be among the rows with a NULL in some column (a
            # row with a NULL never equals one without it there): count those only.
            considered = f"({considered}) AND ({' OR '.join(f'{c} IS NULL' for c in columns)})"
        # Rows equal in every column, NULLs included, count as repeats: never fewer than GX.
        row = f"ROW({', '.join(columns)})"
        return _Measure(
            f"count(*) FILTER (WHERE {considered}) "
            f"- count(DISTINCT {row}) FILTER (WHERE {considered})",
            missing,
        )
    if isinstance(e, gxe.ExpectColumnValuesToBeBetween):
        c = _column(conn, e.column)
        bounds = []
        if e.min_value is not None:
            bounds.append(f"{c} {'>' if e.strict_min else '>='} {_literal(conn, e.min_value)}")
        if e.max_value is not None:
            bounds.append(f"{c} {'<' if e.strict_max else '<='} {_literal(conn, e.max_value)}")
        if not bounds:
            return None
        within = " AND ".join(bounds)
        return _Measure(
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND ({within}) IS NOT TRUE)",
            f"count(*) - count({c})",
        )
    if isinstance(e, gxe.ExpectColumnValuesToBeInSet):
        c = _column(conn, e.column)
        values = list(e.value_set or [])
        if not values or not all(isinstance(v, str) for v in values):
            return None
        known = _literal(conn, values)
        return _Measure(
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND ({c} = ANY({known})) IS NOT TRUE)",
            f"count(*) - count({c})",
        )
    if isinstance(e, gxe.ExpectColumnPairValuesAToBeGreaterThanB):
        a, b = _column(conn, e.column_A), _column(conn, e.column_B)
        if e.ignore_row_if == "either_value_is_missing":
            ignored = f"{a} IS NULL OR {b} IS NULL"
        elif e.ignore_row_if == "both_values_are_missing":
            ignored = f"{a} IS NULL AND {b} IS NULL"
        else:
            return None
        comparison = f"{a} {'>=' if e.or_equal else '>'} {b}"
        return _Measure(
            f"count(*) FILTER (WHERE NOT ({ignored}) AND ({comparison}) IS NOT TRUE)",
            f"count(*) FILTER (WHERE {ignored})",
        )
    return None


def _map_result(element_count: int, missing: int | None = None) -> dict[str, Any]:
    """The ``result`` GX's SUMMARY format gives a met column-map expectation: the missing
    values' fields only for the expectations that skip them (not the not-null one)."""
    result: dict[str, Any] = {
        "element_count": element_count,
        "unexpected_count": 0,
        "unexpected_percent": 0.0,
        "partial_unexpected_list": [],
    }
    if missing is not None:
        result |= {
            "missing_count": missing,
            "missing_percent": missing / element_count * 100,  # GX's order of operations
            "unexpected_percent_total": 0.0,
            "unexpected_percent_nonmissing": 0.0,
        }
    return result | {"partial_unexpected_counts": []}


# On an empty batch GX's unexpected count is a SUM over no rows (NULL) for these; the
# others count rows of a subquery (0).
_SUMMED = (
    gxe.ExpectColumnValuesToNotBeNull,
    gxe.ExpectColumnValuesToBeBetween,
    gxe.ExpectColumnValuesToBeInSet,
)


def _empty_result(expectation: gxe.Expectation, measure: _Measure) -> dict[str, Any]:
    """The ``result`` GX gives a column-map expectation on an empty batch: met, with no
    percentages."""
    result: dict[str, Any] = {
        "element_count": 0,
        "unexpected_count": None if isinstance(expectation, _SUMMED) else 0,
        "unexpected_percent": None,
        "partial_unexpected_list": [],
    }
    if measure.missing is not None:
        result |= {
            "missing_count": 0,
            "missing_percent": None,
            "unexpected_percent_total": None,
            "unexpected_percent_nonmissing": None,
        }
    return result | {"partial_unexpected_counts": []}


def _met(
    expectation: gxe.Expectation, batch_id: str, result: dict[str, Any]
) -> ExpectationValidationResult:
    """A met expectation's result, as GX's validator makes it (its configuration naming
    the batch)."""
    configuration = expectation.configuration
    configuration.kwargs["batch_id"] = batch_id
    return ExpectationValidationResult(
        success=True,
        expectation_config=configuration,
        result=result,
        exception_info={
            "raised_exception": False,
            "exception_traceback": None,
            "exception_message": None,
        },
    )


def _unique_column_sets(conn: psycopg.Connection, suite: TableSuite) -> list[frozenset[str]]:
    """The column sets a unique index of the suite's relation (whole, no expressions, no
    predicate) keeps unique: what a PRIMARY KEY or UNIQUE constraint already guarantees."""
    relation = suite.relation
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(a.attname::text) FROM pg_index AS i "
            "JOIN pg_class AS c ON c.oid = i.indrelid "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
            "WHERE n.nspname = %s AND c.relname = %s AND i.indisunique AND i.indisvalid "
            "AND i.indpred IS NULL AND i.indexprs IS NULL "
            "GROUP BY i.indexrelid",
            (relation.schema, relation.name),
        )
        return [frozenset(columns) for (columns,) in cursor.fetchall()]


def _column(conn: psycopg.Connection, name: str | None) -> str:
    if not name:
        raise ValueError("a column expectation without a column")
    return sql.Identifier(name).as_string(conn)


def _literal(conn: psycopg.Connection, value: Any) -> str:
    return sql.Literal(value).as_string(conn)


def _subquery(condition: str) -> bool:
    """A condition reading other rows (a subquery) would run once per row in a FILTER."""
    return re.search(r"\bselect\b", condition, re.I) is not None
