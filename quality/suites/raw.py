"""Raw suites: what every load of the shop's tables must satisfy before dbt reads it.

Per table: keys present and unique, references that resolve, values in range and in
their known sets, the shop's identities (order total, line total, available stock), no
order dated in the future beyond a tolerance, and a row count that did not fall by more
than a set share since the last good load (or, with no history yet, a non-empty table
where an empty one means a broken load).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

import great_expectations.expectations as gxe

from quality.suites.suite import (
    Engine,
    Relation,
    TableSuite,
    add_in_set,
    add_key,
    add_non_negative,
    add_reference,
    add_unexpected_rows,
    add_unique,
    quote_identifier,
    timestamp_literal,
)

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
PAYMENT_STATUSES = ("pending", "completed", "failed", "refunded")
CUSTOMER_TIERS = ("bronze", "silver", "gold", "platinum")
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


def raw_suites(
    engine: Engine,
    *,
    schema: str = "raw",
    tables: Collection[str] | None = None,
    options: RawSuiteOptions | None = None,
) -> list[TableSuite]:
    """The raw suites of ``engine`` (all tables, or those named), reading ``schema``."""
    options = options or RawSuiteOptions()
    now = options.now or dt.datetime.now(dt.UTC)

    def relation(name: str) -> Relation:
        return Relation(engine, schema, name, final=engine == "clickhouse")

    def suite(name: str) -> TableSuite:
        if name not in options.changed_since:
            return TableSuite("raw", relation(name))
        column, bound = options.changed_since[name]
        where = f"{quote_identifier(engine, column)} >= {timestamp_literal(engine, bound)}"
        return TableSuite("raw", replace(relation(name), where=where))

    customers = suite("customers")
    add_key(customers, ["customer_id"])
    add_unique(customers, ["email"], what="emails are unique in the shop")
    add_in_set(customers, "tier", CUSTOMER_TIERS, what="customer tiers")

    addresses = suite("addresses")
    add_key(addresses, ["address_id"])
    add_reference(addresses, "customer_id", relation("customers"), "customer_id")
    add_in_set(addresses, "address_type", ADDRESS_TYPES, what="address types")

    categories = suite("product_categories")
    add_key(categories, ["category_id"])
    add_unique(categories, ["slug"], what="slugs are unique")
    add_reference(categories, "parent_category_id", relation("product_categories"), "category_id")

    products = suite("products")
    add_key(products, ["product_id"])
    add_unique(products, ["sku"], what="SKUs are unique")
    add_reference(products, "category_id", relation("product_categories"), "category_id")
    add_non_negative(products, "unit_price", "cost_price")
    products.add(
        "unit_price.not_below_cost",
        gxe.ExpectColumnPairValuesAToBeGreaterThanB,
        "unit_price >= cost_price",
        column_A="unit_price",
        column_B="cost_price",
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )

    inventory = suite("inventory")
    add_key(inventory, ["inventory_id"])
    add_unique(
        inventory, ["product_id", "warehouse_code"], what="one row per product and warehouse"
    )
    add_reference(inventory, "product_id", relation("products"), "product_id")
    add_non_negative(inventory, "quantity_on_hand", "quantity_reserved", "reorder_point")
    add_unexpected_rows(
        inventory,
        "quantity_available.identity",
        "quantity_available = quantity_on_hand - quantity_reserved",
        "SELECT * FROM {batch} WHERE quantity_available <> quantity_on_hand - quantity_reserved",
    )

    orders = suite("orders")
    add_key(orders, ["order_id"])
    orders.add(
        "customer_id.not_null",
        gxe.ExpectColumnValuesToNotBeNull,
        "every order has a customer",
        column="customer_id",
    )
    add_reference(orders, "customer_id", relation("customers"), "customer_id")
    add_reference(orders, "shipping_address_id", relation("addresses"), "address_id")
    add_in_set(orders, "order_status", ORDER_STATUSES, what="order statuses")
    add_in_set(orders, "payment_status", PAYMENT_STATUSES, what="payment statuses")
    add_in_set(orders, "shipping_method", SHIPPING_METHODS, what="shipping methods")
    add_non_negative(
        orders, "subtotal", "discount_amount", "tax_amount", "shipping_amount", "total_amount"
    )
    add_unexpected_rows(
        orders,
        "total_amount.identity",
        "total_amount = subtotal + tax_amount + shipping_amount - discount_amount",
        "SELECT * FROM {batch} "
        "WHERE total_amount <> subtotal + tax_amount + shipping_amount - discount_amount",
    )
    orders.add(
        "order_date.not_null",
        gxe.ExpectColumnValuesToNotBeNull,
        "every order has an order_date",
        column="order_date",
    )
    latest_allowed = now + options.future_tolerance
    orders.add(
        "order_date.not_in_future",
        gxe.ExpectColumnValuesToBeBetween,
        f"no order dated after {latest_allowed:%Y-%m-%d %H:%M} UTC "
        f"(the gate's clock + {_duration(options.future_tolerance)})",
        column="order_date",
        max_value=latest_allowed,
    )

    order_items = suite("order_items")
    add_key(order_items, ["order_item_id"])
    add_reference(order_items, "order_id", relation("orders"), "order_id")
    add_reference(order_items, "product_id", relation("products"), "product_id")
    order_items.add(
        "quantity.positive",
        gxe.ExpectColumnValuesToBeBetween,
        "quantity > 0",
        column="quantity",
        min_value=0,
        strict_min=True,
    )
    add_non_negative(order_items, "unit_price", "discount_amount", "line_total")
    add_unexpected_rows(
        order_items,
        "line_total.identity",
        "line_total = quantity * unit_price - discount_amount",
        "SELECT * FROM {batch} WHERE line_total <> quantity * unit_price - discount_amount",
    )

    promotions = suite("promotions")
    add_key(promotions, ["promotion_id"])
    add_unique(promotions, ["code"], what="promotion codes are unique")
    add_in_set(promotions, "discount_type", DISCOUNT_TYPES, what="discount types")
    promotions.add(
        "discount_value.positive",
        gxe.ExpectColumnValuesToBeBetween,
        "discount_value > 0",
        column="discount_value",
        min_value=0,
        strict_min=True,
    )

    order_promotions = suite("order_promotions")
    add_key(order_promotions, ["order_id", "promotion_id"])
    add_reference(order_promotions, "order_id", relation("orders"), "order_id")
    add_reference(order_promotions, "promotion_id", relation("promotions"), "promotion_id")
    add_non_negative(order_promotions, "discount_amount")

    reviews = suite("reviews")
    add_key(reviews, ["review_id"])
    reviews.add(
        "rating.between_1_and_5",
        gxe.ExpectColumnValuesToBeBetween,
        "rating is 1 to 5",
        column="rating",
        min_value=1,
        max_value=5,
    )
    add_unique(
        reviews,
        ["order_id", "product_id"],
        what="a product is reviewed at most once per order",
        ignore_missing=True,
    )
    add_reference(reviews, "customer_id", relation("customers"), "customer_id")
    add_reference(reviews, "product_id", relation("products"), "product_id")
    add_reference(reviews, "order_id", relation("orders"), "order_id")

    audit_log = suite("audit_log")
    add_key(audit_log, ["audit_id"])
    add_in_set(audit_log, "action", AUDIT_ACTIONS, what="audited actions")

    suites = [
        customers,
        addresses,
        categories,
        products,
        inventory,
        orders,
        order_items,
        promotions,
        order_promotions,
        reviews,
        audit_log,
    ]
    for table_suite in suites:
        _add_row_count_rule(table_suite, options)
    if tables is not None:
        unknown = set(tables) - {s.relation.name for s in suites}
        if unknown:
            raise ValueError(f"no raw suite for: {', '.join(sorted(unknown))}")
        suites = [s for s in suites if s.relation.name in tables]
    return suites


def minimum_row_count(table: str, last_good: int | None, max_drop: float) -> int:
    """The fewest rows a load of ``table`` may hold and still pass."""
    floor = 1 if table in NEVER_EMPTY else 0
    if last_good is None:
        return floor
    return max(floor, math.ceil(last_good * (1 - max_drop)))


def _add_row_count_rule(suite: TableSuite, options: RawSuiteOptions) -> None:
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
    # The batch holds only the changed rows: count the whole table. ({batch} stands in a
    # comment because GX wants every such query to mention it.)
    add_unexpected_rows(
        suite,
        "row_count.no_sharp_drop",
        description + "; counted on the whole table",
        f"SELECT row_count FROM (SELECT count(*) AS row_count FROM "
        f"{suite.relation.whole.from_clause()}) AS whole_table "
        f"WHERE row_count < {minimum} /* not just {{batch}} */",
    )


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
