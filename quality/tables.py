"""The relations the gates know, as plain names.

Kept apart from the suites so Dagster can build its checks without importing Great
Expectations (seconds of import time in every run worker); the suites are checked to
cover exactly these names.
"""

from __future__ import annotations

# The shop's tables as loaded into `raw` (docs/design.md "Source schema").
RAW_TABLES: tuple[str, ...] = (
    "customers",
    "addresses",
    "product_categories",
    "products",
    "inventory",
    "orders",
    "order_items",
    "promotions",
    "order_promotions",
    "reviews",
    "audit_log",
)

# The marts analysts read (docs/design.md "Marts" and "Added in the second wave").
MARTS: tuple[str, ...] = (
    "customer_analytics",
    "customer_segments",
    "product_performance",
    "daily_sales",
    "monthly_revenue",
    "category_performance",
    "inventory_status",
    "promotion_performance",
)

# Schemas (ClickHouse: databases): where dbt builds the shadow, where analysts read.
SHADOW_SCHEMA = "marts_next"
PUBLISHED_SCHEMA = "marts"
