"""The project's vocabulary, defined once: the engines, the schemas, the shop's tables as
loaded into raw, the marts, and the names Dagster shows (tags, checks).

Plain names only, importing nothing: every package may use them, and Dagster builds its
checks from them without importing Great Expectations (seconds in every run worker). The
suites, the dbt project and the publish are each checked to cover exactly these names.
"""

from __future__ import annotations

from typing import Literal

# The two engines every layer is built in; PostgreSQL first, the order they are shown in.
Engine = Literal["postgres", "clickhouse"]
ENGINES: tuple[Engine, ...] = ("postgres", "clickhouse")

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

# The hourly refresh rebuilds these: every mart, from the intermediate aggregates it keeps
# up to date incrementally (dbt_project/macros/incremental/); the nightly rebuilds every
# mart from raw in full. Kept as a name of its own for whoever asks what the hourly builds.
HOURLY_MARTS: tuple[str, ...] = MARTS

# Schemas (ClickHouse: databases), one per layer: the extract writes raw, dbt builds
# staging (views, the intermediate layer too) and the shadow, analysts read the published
# marts, and the pipeline keeps its own tables (the refresh log) in meta.
RAW_SCHEMA = "raw"
STAGING_SCHEMA = "staging"
SHADOW_SCHEMA = "marts_next"
PUBLISHED_SCHEMA = "marts"
META_SCHEMA = "meta"
REFRESH_LOG_TABLE = "refresh_log"

# The read-only role of both engines: SELECT on the published marts and the refresh log.
ANALYST_ROLE = "analyst"

# What Dagster shows: the tag that marks a refresh run (value: its mode), the gate checks'
# names, the cross-engine parity check on every mart.
REFRESH_TAG = "shopmarts/refresh"
RAW_CHECK_NAME = "raw_suite"
MART_CHECK_NAME = "mart_suite"
PARITY_CHECK_NAME = "cross_engine_parity"

assert set(HOURLY_MARTS) <= set(MARTS)
