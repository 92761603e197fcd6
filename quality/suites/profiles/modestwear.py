"""Raw rules of the ``modestwear`` profile (seed 000, ModestWear on Django): its schema's
constraints.

SERIAL keys; Django's table names; statuses lower case as the seed spells them
(pending/paid/shipped/delivered/cancelled); stock and SKU on variants, a variant belongs
to a product, an order line names a variant (``ingest/profiles/modestwear/schema.sql``).
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

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")

# The shop's customers, catalog and sales: a generated or working shop has rows in each.
NEVER_EMPTY = frozenset(
    {
        "users_user",
        "catalog_category",
        "catalog_product",
        "catalog_productvariant",
        "orders_order",
        "orders_orderitem",
    }
)

RAW_RULES: dict[str, tuple[Rule, ...]] = {
    "users_user": (
        Key("id"),
        NotNull("email", "every user has an email"),
        Unique("email", what="emails are unique in the shop"),
        NotNull("username", "every user has a username"),
    ),
    "catalog_category": (
        Key("id"),
        NotNull("slug", "every category has a slug"),
        Unique("slug", what="slugs are unique"),
        References("parent_id", "catalog_category", "id"),
    ),
    "catalog_coveragelevel": (Key("id"),),
    "catalog_product": (
        Key("id"),
        Unique("slug", what="slugs are unique"),
        NotNull("category_id", "every product has a category"),
        References("category_id", "catalog_category", "id"),
        References("product_size_id", "catalog_coveragelevel", "id"),
        NotNull("base_price", "every product has a base price"),
        NonNegative("base_price"),
    ),
    "catalog_productvariant": (
        Key("id"),
        NotNull("product_id", "every variant belongs to a product"),
        References("product_id", "catalog_product", "id"),
        References("coverage_id", "catalog_coveragelevel", "id"),
        NotNull("sku", "every variant has a SKU"),
        Unique("sku", what="variant SKUs are unique"),
        # The seed's size enum: 0=XS .. 5=XXL.
        Between("size", "between_0_and_5", "size is 0 (XS) to 5 (XXL)", min_value=0, max_value=5),
        NonNegative("stock_available"),
    ),
    "catalog_productimage": (
        Key("id"),
        References("product_id", "catalog_product", "id"),
    ),
    "orders_wishlist": (
        Key("id"),
        Unique("user_id", "variant_id", what="a variant is wished for once per user"),
        References("user_id", "users_user", "id"),
        References("variant_id", "catalog_productvariant", "id"),
    ),
    "orders_cartitem": (
        Key("id"),
        References("user_id", "users_user", "id"),
        References("variant_id", "catalog_productvariant", "id"),
        RowsRule(
            "owner.present",
            "a cart item belongs to a user or, for guests, to a session",
            "SELECT * FROM {batch} WHERE user_id IS NULL AND session_key IS NULL",
        ),
    ),
    "orders_order": (
        Key("id"),
        NotNull("user_id", "every order has a customer"),
        References("user_id", "users_user", "id"),
        NotNull("status", "every order has a status"),
        InSet("status", ORDER_STATUSES, what="order statuses"),
        NotNull("total_price", "every order has a total price"),
        NonNegative("total_price"),
        NotNull("created_at", "every order has a created_at (its order date)"),
        NotInFuture("created_at"),
    ),
    "orders_orderitem": (
        Key("id"),
        NotNull("order_id", "every line belongs to an order"),
        References("order_id", "orders_order", "id"),
        NotNull("variant_id", "every line names a variant"),
        References("variant_id", "catalog_productvariant", "id"),
        Between("quantity", "positive", "quantity > 0", min_value=0, strict_min=True),
        NonNegative("price_at_purchase"),
    ),
    "outfits_outfit": (
        Key("id"),
        References("user_id", "users_user", "id"),
    ),
    "outfits_outfititem": (
        Key("id"),
        Unique("outfit_id", "product_id", what="a product is in an outfit once"),
        References("outfit_id", "outfits_outfit", "id"),
        References("product_id", "catalog_product", "id"),
    ),
}

# What the gate reads: the rules and the never-empty tables together.
RULE_TABLE = RawRuleTable(RAW_RULES, NEVER_EMPTY)

# The mart columns the shop cannot carry (ingest/profiles/modestwear/README.md, "NULL in
# the marts"): no loyalty tier, no cost price or active flag on products, no reviews
# (avg_rating), no reserved stock, no promotions. The mart gate expects them NULL
# (promotion_performance empty) instead of the canonical rules.
NOT_CARRIED = NotCarried(
    columns={
        "customer_analytics": frozenset({"tier"}),
        "customer_segments": frozenset({"tier"}),
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
