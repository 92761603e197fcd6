"""What a gate found, in a form Dagster metadata, the refresh log and tests can use.

Each failing expectation is named by its rule, with its GX type, the number of rows
breaking it, the keys of a few of those rows (primary key or grain: what an engineer
looks up) and a few sample values, whichever engine produced it.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.vocabulary import Engine
from quality.suites.suite import rule_of

SAMPLE_SIZE = 5
# What GX is asked to return of each expectation: counts and a few unexpected values.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
_SAMPLE_CHARS = 160


@dataclass(frozen=True)
class FailedExpectation:
    """One expectation a relation did not meet."""

    rule: str  # e.g. "orders.total_amount.identity"
    expectation_type: str  # e.g. "unexpected_rows_expectation"
    column: str | None
    unexpected_count: int | None  # rows breaking it; None for table-level expectations
    observed: str | None  # the observed value of a table-level expectation (a row count)
    samples: tuple[str, ...]
    description: str
    error: str | None = None  # the expectation could not be evaluated at all
    # Keys of a few failing rows, e.g. "order_id=17" or "(order_id=3, promotion_id=9)".
    example_keys: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: the rule, how many rows break it, which ones (keys), and examples."""
        if self.error:
            return f"{self.rule}: could not be evaluated ({self.error})"
        if self.unexpected_count is not None:
            noun = "row" if self.unexpected_count == 1 else "rows"
            text = f"{self.rule}: {self.unexpected_count:,} failing {noun}"
        else:
            text = f"{self.rule}: observed {self.observed}"
        if self.example_keys:
            more = self.unexpected_count is not None and self.unexpected_count > len(
                self.example_keys[:3]
            )
            text += ", keys " + "; ".join(self.example_keys[:3]) + (" ..." if more else "")
            # A whole row says little more than its key; a column's value says what is wrong.
            if self.samples and self.expectation_type != "unexpected_rows_expectation":
                text += " (values " + "; ".join(self.samples[:3]) + ")"
        elif self.samples:
            text += " (e.g. " + "; ".join(self.samples[:3]) + ")"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "expectation_type": self.expectation_type,
            "column": self.column,
            "unexpected_count": self.unexpected_count,
            "observed": self.observed,
            "samples": list(self.samples),
            "description": self.description,
            "error": self.error,
            "example_keys": list(self.example_keys),
            "summary": self.summary(),
        }


@dataclass(frozen=True)
class SuiteOutcome:
    """One suite run against one relation."""

    suite: str  # e.g. "raw.orders"
    engine: Engine
    relation: str  # what was read, e.g. "marts_next.daily_sales"
    relation_identity: str | None  # Postgres oid / ClickHouse uuid of what was validated
    evaluated: int
    failures: tuple[FailedExpectation, ...]
    row_count: int | None = None
    docs_url: str | None = None

    @property
    def success(self) -> bool:
        return not self.failures

    @property
    def table(self) -> str:
        return self.suite.split(".", 1)[1]

    def describe(self) -> str:
        if self.success:
            return f"{self.engine} {self.relation}: all {self.evaluated} expectations met"
        lines = [
            f"{self.engine} {self.relation}: {len(self.failures)} of {self.evaluated} "
            "expectations failed"
        ]
        lines += [f"  - {failure.summary()}" for failure in self.failures]
        return "\n".join(lines)


@dataclass(frozen=True)
class GateResult:
    """Every suite of one gate on one engine."""

    gate: str  # "raw" or "marts"
    engine: Engine
    outcomes: tuple[SuiteOutcome, ...]
    seconds: float
    docs_url: str | None = None
    skipped_rules: tuple[str, ...] = field(default_factory=tuple)

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failures(self) -> list[FailedExpectation]:
        return [failure for outcome in self.outcomes for failure in outcome.failures]

    def outcome(self, table: str) -> SuiteOutcome:
        return next(outcome for outcome in self.outcomes if outcome.table == table)

    def failure_lines(self) -> list[str]:
        """One line per failing expectation: engine, relation, rule, failing rows, keys."""
        return [
            f"{self.engine} {outcome.relation}: {failure.summary()}"
            for outcome in self.outcomes
            for failure in outcome.failures
        ]

    def describe(self) -> str:
        head = (
            f"{self.gate} gate on {self.engine}: "
            + ("passed" if self.success else f"{len(self.failures)} failing expectations")
            + f" ({len(self.outcomes)} suites, {self.seconds:.2f}s)"
        )
        failing = [outcome.describe() for outcome in self.outcomes if not outcome.success]
        return "\n".join([head, *failing])


# --- from Great Expectations' results ---------------------------------------------------


def format_key(row: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The key of one row: ``order_id=17``, or ``(order_id=3, promotion_id=9)``."""
    text = ", ".join(f"{column}={format_value(row.get(column))}" for column in columns)
    return text if len(columns) == 1 else f"({text})"


def keys_of_rows(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> list[str]:
    """The keys of ``rows`` (dicts holding at least ``columns``), in order, without repeats;
    none when a row lacks a key column (a rule whose rows are not the table's)."""
    keys: list[str] = []
    for row in rows:
        if not columns or any(column not in row for column in columns):
            return []
        key = format_key(row, columns)
        if key not in keys:
            keys.append(key)
    return keys


def failures_from_gx(
    results: Iterable[Any],
    samples: Mapping[str, Sequence[str]] | None = None,
    *,
    key_columns: Sequence[str] = (),
    keys: Mapping[str, Sequence[str]] | None = None,
) -> tuple[FailedExpectation, ...]:
    """The failing ones among GX ``ExpectationValidationResult``s.

    ``samples``: sample rows fetched separately, by rule (GX keeps none for SQL
    expectations in its SUMMARY format). ``keys``: keys of failing rows fetched
    separately, by rule; otherwise they come from GX's ``partial_unexpected_index_list``
    (rows of ``key_columns`` and the expectation's columns).
    """
    failures = []
    for result in results:
        if result.success:
            continue
        config = result.expectation_config
        kwargs = dict(config.kwargs)
        body = dict(result.result or {})
        rule = rule_of(config)
        error = _exception_message(result.exception_info)
        unexpected = body.get("unexpected_count")
        observed = body.get("observed_value")
        if config.type == "unexpected_rows_expectation" and isinstance(observed, int):
            unexpected, observed = observed, None
        found = (samples or {}).get(rule)
        if found is None:
            details = body.get("details") or {}
            found = details.get("unexpected_rows") if isinstance(details, Mapping) else None
        if found is None:
            found = body.get("partial_unexpected_list") or []
        sample_values = tuple(v if isinstance(v, str) else format_value(v) for v in found)
        example_keys = (keys or {}).get(rule)
        if example_keys is None:
            indexed = body.get("partial_unexpected_index_list") or []
            rows = [row for row in indexed if isinstance(row, Mapping)]
            example_keys = keys_of_rows(rows, key_columns)
        failures.append(
            FailedExpectation(
                rule=rule,
                expectation_type=config.type,
                column=_columns_of(kwargs),
                unexpected_count=None if unexpected is None else int(unexpected),
                observed=None if observed is None else format_value(observed),
                samples=sample_values[:SAMPLE_SIZE],
                description=str(getattr(config, "description", None) or rule),
                error=error,
                example_keys=tuple(example_keys[:SAMPLE_SIZE]),
            )
        )
    return tuple(failures)


def _columns_of(kwargs: Mapping[str, Any]) -> str | None:
    if kwargs.get("column"):
        return str(kwargs["column"])
    if kwargs.get("column_list"):
        return ", ".join(kwargs["column_list"])
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return None


def _exception_message(info: Any) -> str | None:
    """GX reports errors either flat or keyed by metric; return the first message."""
    if not info:
        return None
    if isinstance(info, Mapping) and "raised_exception" in info:
        if info.get("raised_exception"):
            return str(info.get("exception_message") or "error")[:500]
        return None
    if isinstance(info, Mapping):
        for value in info.values():
            message = _exception_message(value)
            if message:
                return message
    return None


def format_value(value: Any) -> str:
    """A sample value as short text: rows as ``col=value`` pairs."""
    if isinstance(value, Mapping):
        text = ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    elif isinstance(value, (tuple, list)):
        text = "(" + ", ".join(format_value(v) for v in value) + ")"
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, (dt.date, decimal.Decimal)):
        text = str(value)
    elif value is None:
        text = "NULL"
    else:
        text = str(value)
    return text if len(text) <= _SAMPLE_CHARS else text[: _SAMPLE_CHARS - 1] + "…"
