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
    # ClickHouse, a slice (``where``) of a FINAL relation: its key columns. The slice's
    # rows are then read as `... FINAL WHERE <where> AND (<key>) IN (<slice_key_query>)`,
    # which lets ClickHouse collapse only the granules of those keys (the sorting key is
    # the primary key).
    slice_key: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        schema, name = (quote_identifier(self.engine, part) for part in (self.schema, self.name))
        return f"{schema}.{name}"

    @property
    def whole(self) -> Relation:
        """The same relation, every row."""
        return replace(self, where="", slice_key=())

    @property
    def slice_key_query(self) -> str:
        """A plain read (no FINAL) of the keys of the slice's rows; empty without a slice
        key."""
        if not self.slice_key:
            return ""
        return f"SELECT {self._slice_key_list} FROM {self.qualified} WHERE {self.where}"

    @property
    def _slice_key_list(self) -> str:
        return ", ".join(quote_identifier(self.engine, name) for name in self.slice_key)

    def from_clause(self, slice_keys_from: str = "") -> str:
        """SQL usable after FROM (and aliasable): the relation, collapsed and filtered when
        needed. ``slice_keys_from``: the name of a table expression holding the slice's
        keys (a query's materialized CTE), read instead of running the key query again."""
        if not (self.final or self.where):
            return self.qualified
        final = " FINAL" if self.final else ""
        conditions = [self.where] if self.where else []
        if self.slice_key:
            keys = slice_keys_from or f"({self.slice_key_query})"
            conditions.append(f"({self._slice_key_list}) IN {keys}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return f"(SELECT * FROM {self.qualified}{final}{where})"


def timestamp_literal(engine: Engine, moment: dt.datetime) -> str:
    """``moment`` (timezone-aware) as a SQL literal comparable with a timestamptz column
    (ClickHouse: DateTime64 in UTC)."""
    utc = moment.astimezone(dt.UTC)
    if engine == "clickhouse":
        return f"toDateTime64('{utc:%Y-%m-%d %H:%M:%S.%f}', 6, 'UTC')"
    return f"'{utc.isoformat()}'::timestamptz"


def quote_identifier(engine: Engine, name: str) -> str:
    """``name`` quoted as an identifier of ``engine``'s SQL."""
    if engine == "clickhouse":
        return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
    return '"' + name.replace('"', '""') + '"'


@dataclass
class TableSuite:
    """The expectations of one relation, in the engine's dialect."""

    layer: str  # "raw" or "marts": the suite's family, whatever schema it reads
    relation: Relation
    expectations: list[gxe.Expectation] = field(default_factory=list)
    # The columns naming a row (the primary key or the grain), set by the suite's first
    # `Key` rule: a failure reports the keys of a few failing rows by them.
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
