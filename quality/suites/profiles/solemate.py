"""Raw rules of the ``solemate`` profile (seed 004, SoleMate): its DDL's constraints.

UUID keys; statuses upper case as the seed spells them; order lines per variant, a
variant belongs to a product (``order_items.variant_id`` -> ``product_variants`` ->
``products``); one payment per order; reviews moderated; inventory per product, variant
and warehouse (``ingest/profiles/solemate/schema.sql``).
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

USER_ROLES = ("customer", "admin", "manager")
ADDRESS_TYPES = ("shipping", "billing")
DISCOUNT_TYPES = ("PERCENTAGE", "FIXED_AMOUNT", "FREE_SHIPPING")
ORDER_STATUSES = (
    "PENDING",
    "CONFIRMED",
    "PROCESSING",
    "SHIPPED",
    "DELIVERED",
    "CANCELLED",
    "RETURNED",
    "REFUNDED",
)
PAYMENT_STATUSES = ("PENDING", "PROCESSING", "COMPLETED", "FAILED", "REFUNDED", "PARTIAL_REFUND")
REVIEW_STATUSES = ("PENDING", "APPROVED", "REJECTED")
TRANSACTION_TYPES = ("RESTOCK", "SALE", "RETURN", "ADJUSTMENT", "RESERVATION", "RELEASE")

# The shop's catalog, customers and sales: a generated or working shop has rows in each.
NEVER_EMPTY = frozenset(
    {
        "users",
        "addresses",
        "categories",
        "products",
        "product_variants",
        "orders",
        "order_items",
        "payments",
        "inventory",
    }
)

RAW_RULES: dict[str, tuple[Rule, ...]] = {
    "users": (
        Key("id"),
        NotNull("email", "every user has an email"),
        Unique("email", what="emails are unique in the shop"),
        NotNull("password_hash", "every user has a password hash"),
        InSet("role", USER_ROLES, what="user roles"),
    ),
    "addresses": (
        Key("id"),
        NotNull("user_id", "every address belongs to a user"),
        References("user_id", "users", "id"),
        InSet("type", ADDRESS_TYPES, what="address types"),
    ),
    "categories": (
        Key("id"),
        NotNull("slug", "every category has a slug"),
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
        NotNull("sku", "every product has a SKU"),
        Unique("sku", what="SKUs are unique"),
        Unique("slug", what="slugs are unique"),
        References("category_id", "categories", "id"),
        References("brand_id", "brands", "id"),
        NotNull("price", "every product has a price"),
        NonNegative("price", "compare_price", "cost"),
    ),
    "product_variants": (
        Key("id"),
        NotNull("product_id", "every variant belongs to a product"),
        References("product_id", "products", "id"),
        Unique("sku", what="variant SKUs are unique"),
        Unique(
            "product_id",
            "size",
            "color",
            what="one variant per product, size and colour",
            ignore_missing=True,
        ),
        NonNegative("price", "stock"),
    ),
    "product_images": (
        Key("id"),
        References("product_id", "products", "id"),
    ),
    "warehouses": (
        Key("id"),
        NotNull("code", "every warehouse has a code"),
        Unique("code", what="warehouse codes are unique"),
    ),
    "promo_codes": (
        Key("id"),
        Unique("code", what="promo codes are unique"),
        InSet("discount_type", DISCOUNT_TYPES, what="discount types"),
        NonNegative("discount_value", "minimum_order"),
    ),
    "orders": (
        Key("id"),
        Unique("order_number", what="order numbers are unique"),
        NotNull("user_id", "every order has a customer"),
        References("user_id", "users", "id"),
        References("promo_code_id", "promo_codes", "id"),
        NotNull("status", "every order has a status"),
        InSet("status", ORDER_STATUSES, what="order statuses"),
        NonNegative("subtotal", "discount", "tax", "shipping", "total"),
        # The seed's section 8.1; CHECK check_order_total in the shop.
        RowsRule(
            "total.identity",
            "total = subtotal - discount + tax + shipping",
            "SELECT * FROM {batch} WHERE total <> subtotal - coalesce(discount, 0) "
            "+ coalesce(tax, 0) + coalesce(shipping, 0)",
        ),
        NotNull("created_at", "every order has a created_at (its order date)"),
        NotInFuture("created_at"),
    ),
    "order_items": (
        Key("id"),
        NotNull("order_id", "every line belongs to an order"),
        References("order_id", "orders", "id"),
        NotNull("product_id", "every line names a product"),
        References("product_id", "products", "id"),
        References("variant_id", "product_variants", "id"),
        Between("quantity", "positive", "quantity > 0", min_value=0, strict_min=True),
        NonNegative("price", "discount", "total"),
    ),
    "payments": (
        Key("id"),
        Unique("order_id", what="one payment per order"),
        Unique("transaction_id", what="a provider's transaction is paid once"),
        References("order_id", "orders", "id"),
        References("user_id", "users", "id"),
        NotNull("status", "every payment has a status"),
        InSet("status", PAYMENT_STATUSES, what="payment statuses"),
        NonNegative("amount", "refund_amount"),
    ),
    "reviews": (
        Key("id"),
        Between("rating", "between_1_and_5", "rating is 1 to 5", min_value=1, max_value=5),
        InSet("status", REVIEW_STATUSES, what="review moderation statuses"),
        Unique(
            "product_id",
            "user_id",
            "order_id",
            what="a user reviews a product at most once per order",
            ignore_missing=True,
        ),
        References("product_id", "products", "id"),
        References("user_id", "users", "id"),
        References("order_id", "orders", "id"),
    ),
    "cart_items": (
        Key("id"),
        Unique(
            "user_id",
            "product_id",
            "variant_id",
            what="one cart line per user, product and variant",
            ignore_missing=True,
        ),
        References("user_id", "users", "id"),
        References("product_id", "products", "id"),
        References("variant_id", "product_variants", "id"),
        Between("quantity", "positive", "quantity > 0", min_value=0, strict_min=True),
    ),
    "wishlist_items": (
        Key("id"),
        Unique("user_id", "product_id", what="a product is wished for once per user"),
        References("user_id", "users", "id"),
        References("product_id", "products", "id"),
    ),
    "inventory": (
        Key("id"),
        Unique(
            "product_id",
            "variant_id",
            "warehouse_id",
            what="one row per product, variant and warehouse",
            ignore_missing=True,
        ),
        References("product_id", "products", "id"),
        References("variant_id", "product_variants", "id"),
        References("warehouse_id", "warehouses", "id"),
        # The seed's section 8.1; CHECK check_inventory_quantities in the shop.
        NonNegative("quantity", "reserved"),
        RowsRule(
            "available.identity",
            "available = quantity - reserved",
            "SELECT * FROM {batch} WHERE available <> quantity - reserved",
        ),
    ),
    "inventory_transactions": (
        Key("id"),
        References("inventory_id", "inventory", "id"),
        InSet("type", TRANSACTION_TYPES, what="inventory transaction types"),
        References("created_by", "users", "id"),
    ),
    "promo_usage": (
        Key("id"),
        Unique("promo_code_id", "order_id", what="a code is used once per order"),
        References("promo_code_id", "promo_codes", "id"),
        References("order_id", "orders", "id"),
        References("user_id", "users", "id"),
        NonNegative("discount_amount"),
    ),
}

# What the gate reads: the rules and the never-empty tables together.
RULE_TABLE = RawRuleTable(RAW_RULES, NEVER_EMPTY)

# The mart columns the shop cannot carry (ingest/profiles/solemate/README.md): no loyalty
# tier. The mart gate expects it NULL instead of the canonical rule.
NOT_CARRIED = NotCarried(
    columns={
        "customer_analytics": frozenset({"tier"}),
        "customer_segments": frozenset({"tier"}),
    },
)
