"""Raw rules of the ``minimal`` profile (seed 002, a minimal shop): its schema's constraints.

UUID keys; users, sessions, products (with a ``stock`` figure), orders (a status in the
seed's "Status Values", lower case, and a total) and order lines priced per unit
(``ingest/profiles/minimal/schema.sql``).
"""

from __future__ import annotations

from quality.suites.profiles.not_carried import NotCarried
from quality.suites.raw_scope import NotInFuture, RawRuleTable
from quality.suites.rules import Between, InSet, Key, NonNegative, NotNull, References, Rule, Unique

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled")

# The shop's customers, catalog and sales: a generated or working shop has rows in each.
NEVER_EMPTY = frozenset({"users", "products", "orders", "order_items"})

RAW_RULES: dict[str, tuple[Rule, ...]] = {
    "users": (
        Key("id"),
        NotNull("email", "every user has an email"),
        Unique("email", what="emails are unique in the shop"),
        NotNull("password_hash", "every user has a password hash"),
    ),
    "products": (
        Key("id"),
        NotNull("name", "every product has a name"),
        NotNull("price", "every product has a price"),
        NonNegative("price", "stock"),
    ),
    "orders": (
        Key("id"),
        NotNull("user_id", "every order has a customer"),
        References("user_id", "users", "id"),
        NotNull("status", "every order has a status"),
        InSet("status", ORDER_STATUSES, what="order statuses"),
        NotNull("total", "every order has a total"),
        NonNegative("total"),
        NotNull("created_at", "every order has a created_at (its order date)"),
        NotInFuture("created_at"),
    ),
    "order_items": (
        Key("id"),
        NotNull("order_id", "every line belongs to an order"),
        References("order_id", "orders", "id"),
        NotNull("product_id", "every line names a product"),
        References("product_id", "products", "id"),
        Between("quantity", "positive", "quantity > 0", min_value=0, strict_min=True),
        NotNull("price", "every line has a unit price"),
        NonNegative("price"),
    ),
    "sessions": (
        Key("id"),
        NotNull("user_id", "every session belongs to a user"),
        References("user_id", "users", "id"),
    ),
}

# What the gate reads: the rules and the never-empty tables together.
RULE_TABLE = RawRuleTable(RAW_RULES, NEVER_EMPTY)

# The mart columns the shop cannot carry (ingest/profiles/minimal/README.md, "NULL in the
# marts"): no loyalty tier or active flag on users, no cost price or active flag on
# products, no reviews (avg_rating), no reserved stock, no promotions. The mart gate
# expects them NULL (promotion_performance empty) instead of the canonical rules.
NOT_CARRIED = NotCarried(
    columns={
        "customer_analytics": frozenset({"tier", "is_active"}),
        "customer_segments": frozenset({"tier", "is_active"}),
        "product_performance": frozenset(
            {"avg_rating", "is_active", "cost_of_goods", "gross_margin", "gross_margin_pct"}
        ),
        "category_performance": frozenset(
            {"active_products_count", "cost_of_goods", "gross_margin", "gross_margin_pct"}
        ),
        "inventory_status": frozenset({"quantity_reserved"}),
    },
    empty_marts=frozenset({"promotion_performance"}),
)
