"""Raw rules of the ``techally`` profile (seed 001, TechAlly): its schema's constraints.

UUID keys; users with roles and statuses, order statuses upper case and payment and
moderation statuses lower case, as the seed spells them; inventory per product and
warehouse with its available-stock identity; the order and line total identities
(``ingest/profiles/techally/schema.sql``).
"""

from __future__ import annotations

from quality.suites.profiles.not_carried import NotCarried
from quality.suites.raw_scope import NotInFuture, RawRuleTable
from quality.suites.rules import (
    Between,
    InSet,
    Key,
    NonNegative,
    NotNull,
    References,
    RowsRule,
    Rule,
    Unique,
)

USER_ROLES = ("customer", "admin", "super_admin", "support")
USER_STATUSES = ("active", "inactive", "suspended", "deleted")
ADDRESS_TYPES = ("shipping", "billing")
MOVEMENT_TYPES = ("purchase", "sale", "return", "adjustment", "transfer", "damage")
ORDER_STATUSES = (
    "PENDING",
    "PROCESSING",
    "CONFIRMED",
    "FAILED",
    "PREPARING",
    "SHIPPED",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
    "RETURNED",
)
PAYMENT_STATUSES = ("pending", "processing", "completed", "failed", "refunded")
MODERATOR_STATUSES = ("pending", "approved", "rejected", "flagged")

# The shop's customers, catalog and sales: a generated or working shop has rows in each.
NEVER_EMPTY = frozenset(
    {
        "users",
        "addresses",
        "categories",
        "products",
        "warehouses",
        "inventory",
        "orders",
        "order_items",
        "payments",
    }
)

RAW_RULES: dict[str, tuple[Rule, ...]] = {
    "users": (
        Key("id"),
        NotNull("email", "every user has an email"),
        Unique("email", what="emails are unique in the shop"),
        InSet("role", USER_ROLES, what="user roles"),
        InSet("status", USER_STATUSES, what="user statuses"),
    ),
    "addresses": (
        Key("id"),
        NotNull("user_id", "every address belongs to a user"),
        References("user_id", "users", "id"),
        InSet("address_type", ADDRESS_TYPES, what="address types"),
    ),
    "categories": (
        Key("id"),
        Unique("slug", what="slugs are unique"),
        References("parent_id", "categories", "id"),
    ),
    "brands": (
        Key("id"),
        Unique("name", what="brand names are unique"),
        Unique("slug", what="slugs are unique"),
    ),
    "products": (
        Key("id"),
        Unique("sku", what="SKUs are unique"),
        Unique("slug", what="slugs are unique"),
        NotNull("category_id", "every product has a category"),
        References("category_id", "categories", "id"),
        References("brand_id", "brands", "id"),
        NonNegative("base_price", "cost_price"),
    ),
    "product_variants": (
        Key("id"),
        NotNull("product_id", "every variant belongs to a product"),
        References("product_id", "products", "id"),
        Unique("sku", what="variant SKUs are unique"),
    ),
    "warehouses": (
        Key("id"),
        Unique("code", what="warehouse codes are unique"),
    ),
    "inventory": (
        Key("id"),
        Unique("product_id", "warehouse_id", what="one row per product and warehouse"),
        References("product_id", "products", "id"),
        References("warehouse_id", "warehouses", "id"),
        NonNegative("quantity_on_hand", "quantity_reserved", "reorder_point"),
        RowsRule(
            "quantity_available.identity",
            "quantity_available = quantity_on_hand - quantity_reserved",
            "SELECT * FROM {batch} "
            "WHERE quantity_available <> quantity_on_hand - quantity_reserved",
        ),
    ),
    "stock_movements": (
        Key("id"),
        References("inventory_id", "inventory", "id"),
        InSet("movement_type", MOVEMENT_TYPES, what="stock movement types"),
    ),
    "orders": (
        Key("id"),
        Unique("order_number", what="order numbers are unique"),
        NotNull("user_id", "every order has a customer"),
        References("user_id", "users", "id"),
        References("shipping_address_id", "addresses", "id"),
        InSet("status", ORDER_STATUSES, what="order statuses"),
        NonNegative("subtotal", "discount_amount", "tax_amount", "shipping_amount", "total_amount"),
        # CHECK chk_order_total in the shop.
        RowsRule(
            "total_amount.identity",
            "total_amount = subtotal - discount_amount + tax_amount + shipping_amount",
            "SELECT * FROM {batch} "
            "WHERE total_amount <> subtotal - discount_amount + tax_amount + shipping_amount",
        ),
        NotInFuture("created_at"),
    ),
    "order_items": (
        Key("id"),
        References("order_id", "orders", "id"),
        References("product_id", "products", "id"),
        References("variant_id", "product_variants", "id"),
        Between("quantity", "positive", "quantity > 0", min_value=0, strict_min=True),
        NonNegative("unit_price", "discount_amount", "total_price"),
        # CHECK chk_item_total in the shop.
        RowsRule(
            "total_price.identity",
            "total_price = quantity * unit_price - discount_amount",
            "SELECT * FROM {batch} WHERE total_price <> quantity * unit_price - discount_amount",
        ),
    ),
    "payments": (
        Key("id"),
        Unique("order_id", what="one payment per order"),
        References("order_id", "orders", "id"),
        InSet("status", PAYMENT_STATUSES, what="payment statuses"),
        NonNegative("amount"),
    ),
    "reviews": (
        Key("id"),
        Between("rating", "between_1_and_5", "rating is 1 to 5", min_value=1, max_value=5),
        InSet("moderator_status", MODERATOR_STATUSES, what="moderation statuses"),
        References("product_id", "products", "id"),
        References("user_id", "users", "id"),
        References("order_id", "orders", "id"),
    ),
}

# What the gate reads: the rules and the never-empty tables together.
RULE_TABLE = RawRuleTable(RAW_RULES, NEVER_EMPTY)

# The mart columns the shop cannot carry (ingest/profiles/techally/README.md): no loyalty
# tier, no promotion tables. The mart gate expects them NULL (promotion_performance
# empty) instead of the canonical rules.
NOT_CARRIED = NotCarried(
    columns={
        "customer_analytics": frozenset({"tier"}),
        "customer_segments": frozenset({"tier"}),
    },
    empty_marts=frozenset({"promotion_performance"}),
)
