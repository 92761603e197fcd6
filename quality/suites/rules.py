"""The kinds of rule a suite is written in, as data, and how each becomes GX expectations.

A suite is a table of rules (``RAW_RULES`` in :mod:`quality.suites.raw`, ``MART_RULES``
in :mod:`quality.suites.marts`): per relation, an ordered tuple such as
``Key("order_id")``, ``NonNegative("subtotal", ...)``, ``InSet("order_status", ...)``.
:func:`build_suite` turns the tuple into a :class:`TableSuite`, in order, each rule naming
its expectations ``<table>.<column>.<kind>`` (the rule names the gate reports and the
tests assert on).

A rule whose SQL depends on the engine or on other relations (a reference, a cross-mart
agreement) gets them from the :class:`Scope` the suite is built in.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import great_expectations.expectations as gxe

from core.vocabulary import Engine
from quality.suites.suite import Relation, TableSuite

# Accepted values shared by the raw and the mart suites.
CUSTOMER_TIERS = ("bronze", "silver", "gold", "platinum")


@dataclass(frozen=True)
class Scope:
    """Where a suite's relation lives: its engine, its sibling tables and its parents."""

    engine: Engine
    schema: str  # the suite's own schema: raw, or the shadow/published marts
    parent_schema: str  # where references point: raw itself, or staging for the marts
    final: bool = False  # read ClickHouse's ReplacingMergeTree tables collapsed

    def sibling(self, name: str) -> Relation:
        """A relation in the suite's own schema (another raw table, another mart)."""
        return Relation(self.engine, self.schema, name, final=self.final)

    def parent(self, name: str) -> Relation:
        """A relation references point to (raw: the same schema; marts: staging)."""
        return Relation(self.engine, self.parent_schema, name, final=self.final)


class Rule(abc.ABC):
    """One line of a suite's rule table."""

    @abc.abstractmethod
    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        """Add this rule's expectations to ``suite``."""


def build_suite(suite: TableSuite, rules: Sequence[Rule], scope: Scope) -> TableSuite:
    """``suite`` with every rule of ``rules`` added, in order."""
    for rule in rules:
        rule.add_to(suite, scope)
    return suite


# --- column rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Key(Rule):
    """Key columns present and, together, unique; the first key added names the rows."""

    columns: tuple[str, ...]
    what: str = "primary key"

    def __init__(self, *columns: str, what: str = "primary key") -> None:
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "what", what)

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        if not suite.key:
            suite.key = self.columns
        for column in self.columns:
            NotNull(column, f"every row has a {column} ({self.what})").add_to(suite, scope)
        Unique(*self.columns, what=self.what).add_to(suite, scope)


@dataclass(frozen=True)
class Unique(Rule):
    """No two rows share these columns' values (rows with a missing one skipped if asked)."""

    columns: tuple[str, ...]
    what: str
    ignore_missing: bool = False

    def __init__(self, *columns: str, what: str, ignore_missing: bool = False) -> None:
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "what", what)
        object.__setattr__(self, "ignore_missing", ignore_missing)

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        if len(self.columns) == 1:
            (column,) = self.columns
            suite.add(
                f"{column}.unique",
                gxe.ExpectColumnValuesToBeUnique,
                f"no two rows share a {column} ({self.what})",
                column=column,
            )
            return
        suite.add(
            "_".join(self.columns) + ".unique",
            gxe.ExpectCompoundColumnsToBeUnique,
            f"no two rows share ({', '.join(self.columns)}) ({self.what})",
            column_list=list(self.columns),
            ignore_row_if="any_value_is_missing"
            if self.ignore_missing
            else "all_values_are_missing",
        )


@dataclass(frozen=True)
class NotNull(Rule):
    """``column`` is never empty; ``description`` says it in the table's words."""

    column: str
    description: str

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        suite.add(
            f"{self.column}.not_null",
            gxe.ExpectColumnValuesToNotBeNull,
            self.description,
            column=self.column,
        )


def never_empty(*columns: str, why: str) -> tuple[NotNull, ...]:
    """One :class:`NotNull` per column, ``why`` saying what stands in for "nothing"."""
    return tuple(NotNull(column, f"{column} is never empty ({why})") for column in columns)


@dataclass(frozen=True)
class NonNegative(Rule):
    """Each of the columns is >= 0 (empty values pass: see :class:`NotNull`)."""

    columns: tuple[str, ...]

    def __init__(self, *columns: str) -> None:
        object.__setattr__(self, "columns", columns)

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        for column in self.columns:
            suite.add(
                f"{column}.non_negative",
                gxe.ExpectColumnValuesToBeBetween,
                f"{column} >= 0",
                column=column,
                min_value=0,
            )


@dataclass(frozen=True)
class Between(Rule):
    """``column`` within bounds, named ``<column>.<name>`` (e.g. ``rating.between_1_and_5``)."""

    column: str
    name: str
    description: str
    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        bounds: dict[str, Any] = {}
        if self.min_value is not None:
            bounds["min_value"] = self.min_value
        if self.max_value is not None:
            bounds["max_value"] = self.max_value
        if self.strict_min:
            bounds["strict_min"] = True
        suite.add(
            f"{self.column}.{self.name}",
            gxe.ExpectColumnValuesToBeBetween,
            self.description,
            column=self.column,
            **bounds,
        )


@dataclass(frozen=True)
class InSet(Rule):
    """``column`` is one of ``values`` (or of those a function reads, e.g. from dbt)."""

    column: str
    values: Sequence[str] | Callable[[], Sequence[str]]
    what: str

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        values = list(self.values() if callable(self.values) else self.values)
        suite.add(
            f"{self.column}.known",
            gxe.ExpectColumnValuesToBeInSet,
            f"{self.column} is one of the {self.what}: {', '.join(values)}",
            column=self.column,
            value_set=values,
        )


@dataclass(frozen=True)
class AtLeast(Rule):
    """``larger >= smaller`` on every row, named ``<rule>`` (rows missing one skipped if
    ``ignore_missing``)."""

    rule: str
    description: str
    larger: str
    smaller: str
    ignore_missing: bool = True

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        skip = {"ignore_row_if": "either_value_is_missing"} if self.ignore_missing else {}
        suite.add(
            self.rule,
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            self.description,
            column_A=self.larger,
            column_B=self.smaller,
            or_equal=True,
            **skip,
        )


# --- row rules in SQL --------------------------------------------------------------------


@dataclass(frozen=True)
class References(Rule):
    """Every non-null ``column`` names an existing ``parent.parent_column``."""

    column: str
    parent: str
    parent_column: str

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        column, key = self.column, self.parent_column
        parent = scope.parent(self.parent)
        source = parent.from_clause()
        if scope.engine == "clickhouse":
            # ClickHouse's IN builds a hash set once; NULLs never match, so they are excluded.
            parent_keys = f"SELECT {key} FROM {source}"
            if suite.relation.where:
                # The rows an incremental load wrote: only the parent keys they name, read
                # through the parent's sorting key, instead of every key of the parent
                # collapsed with FINAL (a million orders for an hour's few hundred lines).
                parent_keys += (
                    f" WHERE {key} IN (SELECT {column} FROM {suite.relation.from_clause()})"
                )
            query = (
                f"SELECT * FROM {{batch}} WHERE {column} IS NOT NULL AND {column} NOT IN "
                f"({parent_keys})"
            )
        else:
            # An anti-join: PostgreSQL's NOT IN (subquery) degrades badly past work_mem.
            query = (
                f"SELECT child.* FROM {{batch}} AS child LEFT JOIN {source} AS parent "
                f"ON parent.{key} = child.{column} "
                f"WHERE child.{column} IS NOT NULL AND parent.{key} IS NULL"
            )
        RowsRule(
            f"{column}.references_{parent.name}",
            f"every {column} names an existing {parent.name}.{key}",
            query,
        ).add_to(suite, scope)


@dataclass(frozen=True)
class RowsRule(Rule):
    """A row-level rule in SQL: the query selects the offending rows of ``{batch}``.

    ``query`` is the SQL, or a function of the scope writing it (the engine's dialect,
    other relations' names).
    """

    rule: str
    description: str
    query: str | Callable[[Scope], str]

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        query = self.query(scope) if callable(self.query) else self.query
        suite.add(
            self.rule, gxe.UnexpectedRowsExpectation, self.description, unexpected_rows_query=query
        )


@dataclass(frozen=True)
class Agreement(Rule):
    """A cross-relation rule, kept only when the run rebuilt ``other`` too: a fresh mart
    legitimately differs from a published one built from older data."""

    other: str
    rule: RowsRule

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        self.rule.add_to(suite, scope)


# The stock identity, the same in the raw inventory and in the inventory_status mart.
QUANTITY_AVAILABLE_IDENTITY = RowsRule(
    "quantity_available.identity",
    "quantity_available = quantity_on_hand - quantity_reserved",
    "SELECT * FROM {batch} WHERE quantity_available <> quantity_on_hand - quantity_reserved",
)


def totals_differ(left: str, right: str, differ: str) -> str:
    """A row-level rule comparing two one-row totals: the row when ``differ`` holds."""
    return (
        f"SELECT * FROM ({left}) AS left_total CROSS JOIN ({right}) AS right_total WHERE {differ}"
    )
