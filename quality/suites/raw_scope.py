"""What every raw suite shares, whichever source profile's tables it reads.

A profile's raw rules are a :class:`RawRuleTable`: per table an ordered tuple of rules,
and which tables a working shop never has empty. The rules here depend on the gate's
options rather than on a table: no order dated in the future beyond a tolerance
(:class:`NotInFuture`), and a row count that did not fall by more than a set share since
the last good load (:class:`RowCountFloor`, which ends every raw suite).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import great_expectations.expectations as gxe

from quality.suites.rules import RowsRule, Rule, Scope
from quality.suites.suite import TableSuite


@dataclass(frozen=True)
class RawRuleTable:
    """One source profile's raw rules: per table, its rules in the order the gate
    evaluates and reports them; and the tables whose empty load means a broken load."""

    rules: Mapping[str, tuple[Rule, ...]]
    # Tables a working shop never has empty: an empty load of one of these is a broken
    # load even before any history exists.
    never_empty: frozenset[str]

    def __post_init__(self) -> None:
        unknown = self.never_empty - set(self.rules)
        if unknown:
            raise ValueError(f"never_empty names tables without rules: {sorted(unknown)}")


@dataclass(frozen=True)
class RawSuiteOptions:
    """The tolerances of the raw suites."""

    # An order may be dated at most this far past the gate's clock (clock skew, time zones).
    future_tolerance: dt.timedelta = dt.timedelta(hours=1)
    # A load may hold at most this share fewer rows than the last load that passed.
    max_row_count_drop: float = 0.2
    # The gate's clock; None: now.
    now: dt.datetime | None = None
    # Row counts of the last load that passed the gate, by table.
    last_good_counts: Mapping[str, int] = field(default_factory=dict)
    # Tables an incremental load changed: table -> (cursor column, lower bound). Their
    # row-level rules read only the rows at or past the bound (what the load wrote;
    # references and identities still look up the whole parent tables), and their row
    # count is that of the whole table. Tables not named are validated whole.
    changed_since: Mapping[str, tuple[str, dt.datetime]] = field(default_factory=dict)


@dataclass(frozen=True)
class RawScope(Scope):
    """The scope of a raw suite: the gate's options and clock, and the profile's tables
    that are never empty."""

    options: RawSuiteOptions = RawSuiteOptions()
    now: dt.datetime = dt.datetime.min.replace(tzinfo=dt.UTC)
    never_empty: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NotInFuture(Rule):
    """``column`` is at most the gate's clock plus the options' future tolerance."""

    column: str

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        raw = _raw_scope(scope)
        tolerance = raw.options.future_tolerance
        latest_allowed = raw.now + tolerance
        suite.add(
            f"{self.column}.not_in_future",
            gxe.ExpectColumnValuesToBeBetween,
            f"no order dated after {latest_allowed:%Y-%m-%d %H:%M} UTC "
            f"(the gate's clock + {_duration(tolerance)})",
            column=self.column,
            max_value=latest_allowed,
        )


@dataclass(frozen=True)
class RowCountFloor(Rule):
    """The table holds at least :func:`minimum_row_count` rows (ends every raw suite)."""

    def add_to(self, suite: TableSuite, scope: Scope) -> None:
        raw = _raw_scope(scope)
        options = raw.options
        table = suite.relation.name
        last_good = options.last_good_counts.get(table)
        minimum = minimum_row_count(
            table, last_good, options.max_row_count_drop, never_empty=raw.never_empty
        )
        if last_good is None:
            why = "no load has passed yet; " + ("never empty" if minimum else "may be empty")
        else:
            why = (
                f"the last good load had {last_good:,}; at most "
                f"{options.max_row_count_drop:.0%} fewer allowed"
            )
        description = f"at least {minimum:,} rows ({why})"
        if not suite.relation.where:
            suite.add(
                "row_count.no_sharp_drop",
                gxe.ExpectTableRowCountToBeBetween,
                description,
                min_value=minimum,
            )
            return
        # The batch holds only the changed rows: count the whole table. ({batch} stands in
        # a comment because GX wants every such query to mention it.)
        RowsRule(
            "row_count.no_sharp_drop",
            description + "; counted on the whole table",
            f"SELECT row_count FROM (SELECT count(*) AS row_count FROM "
            f"{suite.relation.whole.from_clause()}) AS whole_table "
            f"WHERE row_count < {minimum} /* not just {{batch}} */",
        ).add_to(suite, scope)


def _raw_scope(scope: Scope) -> RawScope:
    """``scope`` as a raw suite's: the rules above need the gate's clock and counts."""
    if not isinstance(scope, RawScope):
        raise TypeError(f"a raw rule built outside raw_suites: {scope!r}")
    return scope


def minimum_row_count(
    table: str, last_good: int | None, max_drop: float, *, never_empty: Collection[str]
) -> int:
    """The fewest rows a load of ``table`` may hold and still pass (``never_empty``: the
    profile's tables a working shop never has empty)."""
    floor = 1 if table in never_empty else 0
    if last_good is None:
        return floor
    return max(floor, math.ceil(last_good * (1 - max_drop)))


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
