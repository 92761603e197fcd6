"""Raw suites: what every load of the shop's tables must satisfy before dbt reads it.

Per table (``RAW_RULES``, the canonical shop's): keys present and unique, references that
resolve, values in range and in their known sets, the shop's identities (order total,
line total, available stock). Every table also gets two rules that depend on the gate's
options (:mod:`quality.suites.raw_scope`): no order dated in the future beyond a
tolerance, and a row count that did not fall by more than a set share since the last
good load (or, with no history yet, a non-empty table where an empty one means a broken
load).

The other source profiles' tables have rule tables of their own
(:mod:`quality.suites.profiles`); :func:`raw_suites` builds those of the configured
profile (``SHOPMARTS_SOURCE_PROFILE``) unless told which.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import replace

from core.settings import source_profile_name
from core.vocabulary import RAW_TABLES
from quality.suites.profiles import PROFILE_RAW_RULES
from quality.suites.raw_scope import (
    NotInFuture,
    RawRuleTable,
    RawScope,
    RawSuiteOptions,
    RowCountFloor,
    minimum_row_count,
)
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

__all__ = ["RawSuiteOptions", "minimum_row_count", "raw_rule_table", "raw_suites"]

CANONICAL_PROFILE = "canonical"
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


CANONICAL_RAW_RULES = RawRuleTable(RAW_RULES, NEVER_EMPTY)


def raw_rule_table(profile: str | None = None) -> RawRuleTable:
    """The raw rule table of source profile ``profile`` (default: the configured one)."""
    name = profile or source_profile_name()
    if name == CANONICAL_PROFILE:
        return CANONICAL_RAW_RULES
    try:
        return PROFILE_RAW_RULES[name]
    except KeyError:
        known = ", ".join((CANONICAL_PROFILE, *PROFILE_RAW_RULES))
        raise ValueError(f"no raw rules for source profile {name!r}; known: {known}") from None


def raw_suites(
    engine: Engine,
    *,
    schema: str = "raw",
    tables: Collection[str] | None = None,
    options: RawSuiteOptions | None = None,
    profile: str | None = None,
) -> list[TableSuite]:
    """The raw suites of ``engine`` (all tables, or those named), reading ``schema``, for
    the tables of source ``profile`` (default: the configured profile)."""
    options = options or RawSuiteOptions()
    table = raw_rule_table(profile)
    if tables is not None:
        unknown = set(tables) - set(table.rules)
        if unknown:
            raise ValueError(f"no raw suite for: {', '.join(sorted(unknown))}")
    scope = RawScope(
        engine,
        schema,
        parent_schema=schema,
        final=engine == "clickhouse",
        options=options,
        now=options.now or dt.datetime.now(dt.UTC),
        never_empty=table.never_empty,
    )
    return [
        build_suite(
            TableSuite("raw", _relation(scope, name, options, rules)),
            (*rules, RowCountFloor()),
            scope,
        )
        for name, rules in table.rules.items()
        if tables is None or name in tables
    ]


def _relation(
    scope: Scope, table: str, options: RawSuiteOptions, rules: Sequence[Rule]
) -> Relation:
    """The relation a table's suite reads: the rows an incremental load changed, if any."""
    relation = scope.sibling(table)
    if table not in options.changed_since:
        return relation
    column, bound = options.changed_since[table]
    where = f"{quote_identifier(scope.engine, column)} >= {timestamp_literal(scope.engine, bound)}"
    key = next((rule.columns for rule in rules if isinstance(rule, Key)), ())
    if scope.final and key:
        # FINAL collapses every key of the table before the bound filters its rows: a
        # scan of the whole table for an hour's few hundred rows. Naming first the keys
        # of the rows past the bound (a plain read of two columns) lets ClickHouse collapse
        # only their granules (the sorting key is the primary key): the same rows, 80 ms
        # -> 4 ms for the order items of an hour at scale 20.
        return replace(relation, where=where, slice_key=tuple(key))
    return replace(relation, where=where)
