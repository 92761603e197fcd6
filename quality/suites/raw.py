"""Raw suites: what every load of the shop's tables must satisfy before dbt reads it.

Per table (``RAW_RULES``): keys present and unique, references that resolve, values in
range and in their known sets, the shop's identities (order total, line total, available
stock). Every table also gets two rules that depend on the gate's options: no order dated
in the future beyond a tolerance, and a row count that did not fall by more than a set
share since the last good load (or, with no history yet, a non-empty table where an
empty one means a broken load).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

import great_expectations.expectations as gxe

from core.vocabulary import RAW_TABLES
from quality.suites.rules import (
    CUSTOMER_TIERS,
    QUANTITY_AVAILABLE_IDENTITY,
    AtLeast,
    Between,
    InSet,
    Key,
    NonNegative,
    NotNull,
    References,
    RowsRule,
    Rule,
    Scope,
    Unique,
    build_suite,
)
from quality.suites.suite import (
    Engine,
    Relation,
    TableSuite,
    quote_identifier,
    timestamp_literal,
)

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
PAYMENT_STATUSES = ("pending", "completed", "failed", "refunded")
ADDRESS_TYPES = ("shipping", "billing")
SHIPPING_METHODS = ("standard", "express")
DISCOUNT_TYPES = ("percentage", "fixed_amount")
AUDIT_ACTIONS = ("INSERT", "UPDATE", "DELETE")

# Tables a working shop never has empty: an empty load of one of these is a broken load
# even before any history exists.
NEVER_EMPTY = frozenset(
    {
        "customers",
        "addresses",
        "product_categories",
        "products",
        "inventory",
        "orders",
        "order_items",
    }
)


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
    """The scope of a raw suite: the gate's options and clock."""

    options: RawSuiteOptions = RawSuiteOptions()
    now: dt.datetime = dt.datetime.min.replace(tzinfo=dt.UTC)


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
        options = _raw_scope(scope).options
        table = suite.relation.name
        last_good = options.last_good_counts.get(table)
        minimum = minimum_row_count(table, last_good, options.max_row_count_drop)
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


# The rules of each raw table, in the order the gate evaluates and reports them;
# RowCountFloor ends every suite.
RAW_RULES: dict[str, tuple[Rule, ...]] = {
    "customers": (
        Key("customer_id"),
        Unique("email", what="emails are unique in the shop"),
        InSet("tier", CUSTOMER_TIERS, what="customer tiers"),
    ),
    "addresses": (
        Key("address_id"),
        References("customer_id", "customers", "customer_id"),
        InSet("address_type", ADDRESS_TYPES, what="address types"),
    ),
    "product_categories": (
        Key("category_id"),
        Unique("slug", what="slugs are unique"),
        References("parent_category_id", "product_categories", "category_id"),
    ),
    "products": (
        Key("product_id"),
        Unique("sku", what="SKUs are unique"),
        References("category_id", "product_categories", "category_id"),
        NonNegative("unit_price", "cost_price"),
        AtLeast(
            "unit_price.not_below_cost", "unit_price >= cost_price", "unit_price", "cost_price"
        ),
    ),
    "inventory": (
        Key("inventory_id"),
        Unique("product_id", "warehouse_code", what="one row per product and warehouse"),
        References("product_id", "products", "product_id"),
        NonNegative("quantity_on_hand", "quantity_reserved", "reorder_point"),
        QUANTITY_AVAILABLE_IDENTITY,
    ),
    "orders": (
        Key("order_id"),
        NotNull("customer_id", "every order has a customer"),
        References("customer_id", "customers", "customer_id"),
        References("shipping_address_id", "addresses", "address_id"),
        InSet("order_status", ORDER_STATUSES, what="order statuses"),
        InSet("payment_status", PAYMENT_STATUSES, what="payment statuses"),
        InSet("shipping_method", SHIPPING_METHODS, what="shipping methods"),
        NonNegative("subtotal", "discount_amount", "tax_amount", "shipping_amount", "total_amount"),
        RowsRule(
            "total_amount.identity",
            "total_amount = subtotal + tax_amount + shipping_amount - discount_amount",
            "SELECT * FROM {batch} "
            "WHERE total_amount <> subtotal + tax_amount + shipping_amount - discount_amount",
        ),
        NotNull("order_date", "every order has an order_date"),
        NotInFuture("order_date"),
    ),
    "order_items": (
        Key("order_item_id"),
        References("order_id", "orders", "order_id"),
        References("product_id", "products", "product_id"),
        Between("quantity", "positive", "quantity > 0", min_value=0, strict_min=True),
        NonNegative("unit_price", "discount_amount", "line_total"),
        RowsRule(
            "line_total.identity",
            "line_total = quantity * unit_price - discount_amount",
            "SELECT * FROM {batch} WHERE line_total <> quantity * unit_price - discount_amount",
        ),
    ),
    "promotions": (
        Key("promotion_id"),
        Unique("code", what="promotion codes are unique"),
        InSet("discount_type", DISCOUNT_TYPES, what="discount types"),
        Between("discount_value", "positive", "discount_value > 0", min_value=0, strict_min=True),
    ),
    "order_promotions": (
        Key("order_id", "promotion_id"),
        References("order_id", "orders", "order_id"),
        References("promotion_id", "promotions", "promotion_id"),
        NonNegative("discount_amount"),
    ),
    "reviews": (
        Key("review_id"),
        Between("rating", "between_1_and_5", "rating is 1 to 5", min_value=1, max_value=5),
        Unique(
            "order_id",
            "product_id",
            what="a product is reviewed at most once per order",
            ignore_missing=True,
        ),
        References("customer_id", "customers", "customer_id"),
        References("product_id", "products", "product_id"),
        References("order_id", "orders", "order_id"),
    ),
    "audit_log": (
        Key("audit_id"),
        InSet("action", AUDIT_ACTIONS, what="audited actions"),
    ),
}
if tuple(RAW_RULES) != RAW_TABLES:
    raise ValueError("RAW_RULES must hold one rule table per raw table, in RAW_TABLES' order")


def raw_suites(
    engine: Engine,
    *,
    schema: str = "raw",
    tables: Collection[str] | None = None,
    options: RawSuiteOptions | None = None,
) -> list[TableSuite]:
    """The raw suites of ``engine`` (all tables, or those named), reading ``schema``."""
    options = options or RawSuiteOptions()
    if tables is not None:
        unknown = set(tables) - set(RAW_RULES)
        if unknown:
            raise ValueError(f"no raw suite for: {', '.join(sorted(unknown))}")
    scope = RawScope(
        engine,
        schema,
        parent_schema=schema,
        final=engine == "clickhouse",
        options=options,
        now=options.now or dt.datetime.now(dt.UTC),
    )
    return [
        build_suite(
            TableSuite("raw", _relation(scope, table, options)), (*rules, RowCountFloor()), scope
        )
        for table, rules in RAW_RULES.items()
        if tables is None or table in tables
    ]


def _relation(scope: Scope, table: str, options: RawSuiteOptions) -> Relation:
    """The relation a table's suite reads: the rows an incremental load changed, if any."""
    relation = scope.sibling(table)
    if table not in options.changed_since:
        return relation
    column, bound = options.changed_since[table]
    where = f"{quote_identifier(scope.engine, column)} >= {timestamp_literal(scope.engine, bound)}"
    return replace(relation, where=where)


def minimum_row_count(table: str, last_good: int | None, max_drop: float) -> int:
    """The fewest rows a load of ``table`` may hold and still pass."""
    floor = 1 if table in NEVER_EMPTY else 0
    if last_good is None:
        return floor
    return max(floor, math.ceil(last_good * (1 - max_drop)))


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
