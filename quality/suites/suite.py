"""What a suite is here: GX expectations about one relation, each named by a rule.

A suite is built for one engine and one schema, because the SQL of its row-level
rules (`UnexpectedRowsExpectation`) and the way a relation is read differ a little:
ClickHouse's raw tables are ReplacingMergeTree and must be read with FINAL.

Every expectation carries ``meta["rule"]``, a stable dotted name such as
``orders.total_amount.identity``: the gate reports failures by it, the tests assert
on it, and Data Docs show it at the head of the expectation's description.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe

from core.vocabulary import Engine


@dataclass(frozen=True)
class Relation:
    """A table or view the gate reads: ``schema.name`` (on ClickHouse, database.table)."""

    engine: Engine
    schema: str
    name: str
    final: bool = False  # ClickHouse ReplacingMergeTree: collapse each key to its newest row
    # A condition on the rows, e.g. those an incremental load changed; empty: every row.
    where: str = ""

    @property
    def qualified(self) -> str:
        schema, name = (quote_identifier(self.engine, part) for part in (self.schema, self.name))
        return f"{schema}.{name}"

    @property
    def whole(self) -> Relation:
        """The same relation, every row."""
        return replace(self, where="")

    def from_clause(self) -> str:
        """SQL usable after FROM (and aliasable): the relation, collapsed and filtered when
        needed."""
        if not (self.final or self.where):
            return self.qualified
        final = " FINAL" if self.final else ""
        where = f" WHERE {self.where}" if self.where else ""
        return f"(SELECT * FROM {self.qualified}{final}{where})"


def timestamp_literal(engine: Engine, moment: dt.datetime) -> str:
    """``moment`` (timezone-aware) as a SQL literal comparable with a timestamptz column
    (ClickHouse: DateTime64 in UTC)."""
    utc = moment.astimezone(dt.UTC)
    if engine == "clickhouse":
        return f"toDateTime64('{utc:%Y-%m-%d %H:%M:%S.%f}', 6, 'UTC')"
    return f"'{utc.isoformat()}'::timestamptz"


def quote_identifier(engine: Engine, name: str) -> str:
    if engine == "clickhouse":
        return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
    return '"' + name.replace('"', '""') + '"'


@dataclass
class TableSuite:
    """The expectations of one relation, in the engine's dialect."""

    layer: str  # "raw" or "marts": the suite's family, whatever schema it reads
    relation: Relation
    expectations: list[gxe.Expectation] = field(default_factory=list)
    # The columns naming a row (the primary key or the grain), set by `add_key`: a failure
    # reports the keys of a few failing rows by them.
    key: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Suite name, e.g. ``raw.orders`` (stable across engines and shadow schemas)."""
        return f"{self.layer}.{self.relation.name}"

    @property
    def rules(self) -> list[str]:
        return [rule_of(expectation) for expectation in self.expectations]

    def add(
        self,
        rule: str,
        expectation_class: type[gxe.Expectation],
        description: str,
        **kwargs: Any,
    ) -> None:
        """Add an expectation named ``<table>.<rule>``; the description says it in words."""
        name = f"{self.relation.name}.{rule}"
        if name in self.rules:
            raise ValueError(f"rule {name} is defined twice in suite {self.name}")
        self.expectations.append(
            expectation_class(meta={"rule": name}, description=f"{name}: {description}", **kwargs)
        )

    def gx_suite(self) -> gx.ExpectationSuite:
        """A fresh GX suite holding copies of the expectations (a context takes ownership)."""
        return gx.ExpectationSuite(
            name=self.name,
            expectations=[expectation.copy(deep=True) for expectation in self.expectations],
        )


def rule_of(expectation: Any) -> str:
    """The rule name of an expectation (or its configuration), else its GX type."""
    meta = getattr(expectation, "meta", None) or {}
    return str(meta.get("rule") or getattr(expectation, "expectation_type", None) or "unnamed")


# --- rule builders shared by the raw and mart suites -------------------------------------


def add_key(suite: TableSuite, columns: Sequence[str], *, what: str = "primary key") -> None:
    """Key columns present and, together, unique; the first key added names the rows."""
    if not suite.key:
        suite.key = tuple(columns)
    for column in columns:
        suite.add(
            f"{column}.not_null",
            gxe.ExpectColumnValuesToNotBeNull,
            f"every row has a {column} ({what})",
            column=column,
        )
    add_unique(suite, columns, what=what)


def add_unique(
    suite: TableSuite, columns: Sequence[str], *, what: str, ignore_missing: bool = False
) -> None:
    """No two rows share these columns' values (rows with a missing one are skipped if asked)."""
    if len(columns) == 1:
        suite.add(
            f"{columns[0]}.unique",
            gxe.ExpectColumnValuesToBeUnique,
            f"no two rows share a {columns[0]} ({what})",
            column=columns[0],
        )
        return
    suite.add(
        "_".join(columns) + ".unique",
        gxe.ExpectCompoundColumnsToBeUnique,
        f"no two rows share ({', '.join(columns)}) ({what})",
        column_list=list(columns),
        ignore_row_if="any_value_is_missing" if ignore_missing else "all_values_are_missing",
    )


def add_non_negative(suite: TableSuite, *columns: str) -> None:
    for column in columns:
        suite.add(
            f"{column}.non_negative",
            gxe.ExpectColumnValuesToBeBetween,
            f"{column} >= 0",
            column=column,
            min_value=0,
        )


def add_in_set(suite: TableSuite, column: str, values: Sequence[str], *, what: str) -> None:
    suite.add(
        f"{column}.known",
        gxe.ExpectColumnValuesToBeInSet,
        f"{column} is one of the {what}: {', '.join(values)}",
        column=column,
        value_set=list(values),
    )


def add_unexpected_rows(suite: TableSuite, rule: str, description: str, query: str) -> None:
    """A row-level rule in SQL: the query selects the offending rows of ``{batch}``."""
    suite.add(rule, gxe.UnexpectedRowsExpectation, description, unexpected_rows_query=query)


def add_reference(suite: TableSuite, column: str, parent: Relation, parent_column: str) -> None:
    """Every non-null ``column`` names an existing ``parent.parent_column``."""
    if suite.relation.engine == "clickhouse":
        # ClickHouse's IN builds a hash set once; NULLs never match, so they are excluded.
        query = (
            f"SELECT * FROM {{batch}} WHERE {column} IS NOT NULL AND {column} NOT IN "
            f"(SELECT {parent_column} FROM {parent.from_clause()})"
        )
    else:
        # An anti-join: PostgreSQL's NOT IN (subquery) degrades badly past work_mem.
        query = (
            f"SELECT child.* FROM {{batch}} AS child LEFT JOIN {parent.from_clause()} AS parent "
            f"ON parent.{parent_column} = child.{column} "
            f"WHERE child.{column} IS NOT NULL AND parent.{parent_column} IS NULL"
        )
    add_unexpected_rows(
        suite,
        f"{column}.references_{parent.name}",
        f"every {column} names an existing {parent.name}.{parent_column}",
        query,
    )
