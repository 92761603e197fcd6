"""Every SQL statement the dashboards run: one query per figure, published marts only.

The same text runs on PostgreSQL (psycopg) and ClickHouse (clickhouse-connect): both
take ``%(name)s`` parameters, compare dates with ISO date values, and share this
subset of SQL (CASE, half-open date ranges, GROUP BY on output names, NULLS LAST).
Where the dialects part, a query carries a ClickHouse variant next to it.

Date ranges are half-open (``>= start AND < end_next``) so they stay right whether a
mart stores a date or a timestamp. Ratios (average order value, shares, growth) are
computed by the caller from the sums, so both engines' division rules never matter.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    """One named statement, with an optional ClickHouse spelling where dialects differ."""

    name: str
    sql: str
    clickhouse_sql: str | None = None

    def sql_for(self, engine: str) -> str:
        if engine == "clickhouse" and self.clickhouse_sql is not None:
            return self.clickhouse_sql
        return self.sql


# --- every page: what range of dates the marts hold -----------------------------------

SALES_DATE_RANGE = Query(
    "sales_date_range",
    """
    SELECT min(sales_date) AS first_date, max(sales_date) AS last_date, count(*) AS days
    FROM marts.daily_sales
    """,
)

# --- overview ---------------------------------------------------------------------------

# Current and previous period in one scan; params start, previous_start, end_next.
PERIOD_TOTALS = Query(
    "period_totals",
    """
    SELECT
        CASE WHEN sales_date >= %(start)s THEN 'current' ELSE 'previous' END AS period,
        sum(net_revenue) AS revenue,
        sum(orders_count) AS orders,
        sum(new_customers) AS new_customers,
        count(*) AS days
    FROM marts.daily_sales
    WHERE sales_date >= %(previous_start)s AND sales_date < %(end_next)s
    GROUP BY period
    """,
)

# The marts keep no customer x day grain, so "active" means the customer's span of
# recognized orders (first to last) overlaps the period. For a period ending on the
# newest date this is exactly "ordered in the period"; for older periods it also counts
# customers who ordered before and after but not during it, which is why the overview
# shows no change against the previous period for this figure.
ACTIVE_CUSTOMERS = Query(
    "active_customers",
    """
    SELECT count(*) AS customers
    FROM marts.customer_analytics
    WHERE orders_count > 0
      AND first_order_date < %(end_next)s
      AND last_order_date >= %(start)s
    """,
)

STOCK_ALERT_COUNTS = Query(
    "stock_alert_counts",
    """
    SELECT stock_status, count(*) AS items
    FROM marts.inventory_status
    WHERE stock_status IN ('out_of_stock', 'low')
    GROUP BY stock_status
    """,
)

# --- trends -----------------------------------------------------------------------------

DAILY_SALES = Query(
    "daily_sales",
    """
    SELECT sales_date, orders_count, items_sold, gross_revenue, discount_total, net_revenue,
           avg_order_value, unique_customers, new_customers
    FROM marts.daily_sales
    WHERE sales_date >= %(start)s AND sales_date < %(end_next)s
    ORDER BY sales_date
    """,
)

# Months that overlap the range: params month_start (first day of start's month), end_next.
MONTHLY_REVENUE = Query(
    "monthly_revenue",
    """
    SELECT month_start, revenue, orders_count, customers_count, avg_order_value,
           mom_growth_pct
    FROM marts.monthly_revenue
    WHERE month_start >= %(month_start)s AND month_start < %(end_next)s
    ORDER BY month_start
    """,
)

# --- RFM segments (a snapshot as of the last refresh) -----------------------------------

SEGMENT_SUMMARY = Query(
    "segment_summary",
    """
    SELECT segment,
           count(*) AS customers,
           sum(monetary) AS revenue,
           sum(recency_days) AS recency_days_sum,
           sum(frequency) AS frequency_sum
    FROM marts.customer_segments
    GROUP BY segment
    ORDER BY revenue DESC, segment
    """,
)

# RFM by loyalty tier: how each tier's customers spread over the segments.
SEGMENT_TIERS = Query(
    "segment_tiers",
    """
    SELECT tier, segment, count(*) AS customers, sum(monetary) AS revenue
    FROM marts.customer_segments
    GROUP BY tier, segment
    ORDER BY tier, segment
    """,
)

RFM_GRID = Query(
    "rfm_grid",
    """
    SELECT r_score, f_score, count(*) AS customers, sum(monetary) AS revenue
    FROM marts.customer_segments
    GROUP BY r_score, f_score
    ORDER BY r_score, f_score
    """,
)

# params: segments (list of names; empty for every segment), limit. The top customers are
# picked from customer_segments first, then joined: the join touches `limit` rows only.
# ClickHouse hashes the right side of a join, so there the small side goes right.
_TOP_SEGMENT_CUSTOMERS = """
    SELECT customer_id, segment, rfm_score, recency_days, frequency, monetary
    FROM marts.customer_segments
    WHERE {segment_filter}
    ORDER BY monetary DESC, customer_id
    LIMIT %(limit)s
"""
_TOP_POSTGRES = _TOP_SEGMENT_CUSTOMERS.format(
    segment_filter="cardinality(%(segments)s::text[]) = 0 OR segment = ANY(%(segments)s::text[])"
)
_TOP_CLICKHOUSE = _TOP_SEGMENT_CUSTOMERS.format(
    segment_filter="empty(%(segments)s) OR has(%(segments)s, segment)"
)
# Aliased: ClickHouse would otherwise name a column after its qualified spelling.
_SEGMENT_CUSTOMER_COLUMNS = """
    t.customer_id AS customer_id, t.segment AS segment, t.rfm_score AS rfm_score,
    t.recency_days AS recency_days, t.frequency AS frequency, t.monetary AS monetary,
    a.first_order_date AS first_order_date, a.last_order_date AS last_order_date,
    a.avg_order_value AS avg_order_value, a.items_purchased AS items_purchased
"""
SEGMENT_CUSTOMERS = Query(
    "segment_customers",
    f"""
    WITH top_customers AS ({_TOP_POSTGRES})
    SELECT {_SEGMENT_CUSTOMER_COLUMNS}
    FROM top_customers AS t
    JOIN marts.customer_analytics AS a ON a.customer_id = t.customer_id
    ORDER BY t.monetary DESC, t.customer_id
    """,
    clickhouse_sql=f"""
    WITH top_customers AS ({_TOP_CLICKHOUSE})
    SELECT {_SEGMENT_CUSTOMER_COLUMNS}
    FROM marts.customer_analytics AS a
    JOIN top_customers AS t ON a.customer_id = t.customer_id
    ORDER BY t.monetary DESC, t.customer_id
    """,
)

# --- products and categories (all time, as of the last refresh) ------------------------

# params: category ('' for all), limit.
TOP_PRODUCTS = Query(
    "top_products",
    """
    SELECT revenue_rank, product_id, product_name, category_name, units_sold, revenue,
           orders_count, review_count, avg_rating, is_active, cost_of_goods, gross_margin,
           gross_margin_pct
    FROM marts.product_performance
    WHERE %(category)s = '' OR category_name = %(category)s
    ORDER BY revenue DESC, product_id
    LIMIT %(limit)s
    """,
)

# Names of the categories products are filed under (leaves, mostly): the product filter.
PRODUCT_CATEGORIES = Query(
    "product_categories",
    """
    SELECT category_name, count(*) AS products
    FROM marts.product_performance
    GROUP BY category_name
    ORDER BY category_name
    """,
)

# A category's figures cover its whole subtree, so only siblings add up: params parent
# ('' for the top-level categories, else the parent's name). coalesce covers both a NULL
# and an empty parent name.
CATEGORY_PERFORMANCE = Query(
    "category_performance",
    """
    SELECT category_id, category_name, parent_category_name, products_count,
           active_products_count, units_sold, revenue, revenue_share, cost_of_goods,
           gross_margin, gross_margin_pct
    FROM marts.category_performance
    WHERE coalesce(parent_category_name, '') = %(parent)s
    ORDER BY revenue DESC, category_id
    """,
)

# Parents that have subcategories, for the drill-down.
PARENT_CATEGORIES = Query(
    "parent_categories",
    """
    SELECT parent_category_name, count(*) AS subcategories
    FROM marts.category_performance
    WHERE coalesce(parent_category_name, '') <> ''
    GROUP BY parent_category_name
    ORDER BY parent_category_name
    """,
)

# --- inventory (current stock as of the last refresh) -----------------------------------

STOCK_BY_WAREHOUSE = Query(
    "stock_by_warehouse",
    """
    SELECT warehouse_code, stock_status, count(*) AS items
    FROM marts.inventory_status
    GROUP BY warehouse_code, stock_status
    ORDER BY warehouse_code, stock_status
    """,
)

# Items out of stock or low by how long their stock lasts; the bands match charts.COVER_BANDS.
COVER_BANDS = Query(
    "cover_bands",
    """
    SELECT warehouse_code,
           CASE
               WHEN stock_status = 'out_of_stock' THEN 'out of stock'
               WHEN days_of_cover IS NULL THEN 'no sales in 30 days'
               WHEN days_of_cover < 7 THEN 'under 7 days'
               WHEN days_of_cover < 14 THEN '7 to 14 days'
               WHEN days_of_cover < 30 THEN '14 to 30 days'
               ELSE '30 days or more'
           END AS cover_band,
           count(*) AS items
    FROM marts.inventory_status
    WHERE stock_status IN ('out_of_stock', 'low')
    GROUP BY warehouse_code, cover_band
    ORDER BY warehouse_code, cover_band
    """,
)

# params: warehouse ('' for all), limit. Out of stock first, then the fewest days of
# cover. The most urgent `limit` items are picked first, then given their category from
# product_performance (ClickHouse: small side right).
_URGENT_ITEMS = """
    SELECT warehouse_code, product_id, product_name, stock_status, quantity_on_hand,
           quantity_reserved, quantity_available, reorder_point, avg_daily_units_30d,
           days_of_cover, reorder_quantity, suggested_order_quantity,
           CASE WHEN stock_status = 'out_of_stock' THEN 0 ELSE 1 END AS urgency
    FROM marts.inventory_status
    WHERE stock_status IN ('out_of_stock', 'low')
      AND (%(warehouse)s = '' OR warehouse_code = %(warehouse)s)
    ORDER BY urgency, days_of_cover ASC NULLS FIRST, avg_daily_units_30d DESC,
             product_id, warehouse_code
    LIMIT %(limit)s
"""
_STOCK_ALERT_COLUMNS = """
    i.warehouse_code AS warehouse_code, i.product_id AS product_id,
    i.product_name AS product_name, p.category_name AS category_name,
    i.stock_status AS stock_status, i.quantity_on_hand AS quantity_on_hand,
    i.quantity_reserved AS quantity_reserved, i.quantity_available AS quantity_available,
    i.reorder_point AS reorder_point, i.avg_daily_units_30d AS avg_daily_units_30d,
    i.days_of_cover AS days_of_cover, i.reorder_quantity AS reorder_quantity,
    i.suggested_order_quantity AS suggested_order_quantity
"""
_STOCK_ALERT_ORDER = """
    i.urgency, i.days_of_cover ASC NULLS FIRST, i.avg_daily_units_30d DESC,
    i.product_id, i.warehouse_code
"""
STOCK_ALERTS = Query(
    "stock_alerts",
    f"""
    WITH urgent AS ({_URGENT_ITEMS})
    SELECT {_STOCK_ALERT_COLUMNS}
    FROM urgent AS i
    LEFT JOIN marts.product_performance AS p ON p.product_id = i.product_id
    ORDER BY {_STOCK_ALERT_ORDER}
    """,
    clickhouse_sql=f"""
    WITH urgent AS ({_URGENT_ITEMS})
    SELECT {_STOCK_ALERT_COLUMNS}
    FROM marts.product_performance AS p
    RIGHT JOIN urgent AS i ON p.product_id = i.product_id
    ORDER BY {_STOCK_ALERT_ORDER}
    """,
)

# --- promotions (all time, as of the last refresh) --------------------------------------

# Every promotion, the ones that brought most first (a shop runs tens to hundreds).
PROMOTION_PERFORMANCE = Query(
    "promotion_performance",
    """
    SELECT promotion_id, code, name, discount_type, redemptions, orders_count, revenue,
           discount_total, avg_order_value, avg_order_value_without, revenue_share,
           first_order_date, last_order_date
    FROM marts.promotion_performance
    ORDER BY revenue DESC, promotion_id
    """,
)

# --- what a shop's schema carries ------------------------------------------------------


def carried(mart: str, columns: tuple[str, ...]) -> Query:
    """Per column of ``mart``: 1 when some row holds a value, 0 when every row is NULL (a
    column the shop's schema cannot carry, docs/profiles.md); and ``rows_`` 1 when the
    mart has a row at all. Each probe stops at the first row found, so a carried
    column costs one row read."""
    probes = [
        f"(SELECT count(*) FROM (SELECT 1 FROM marts.{mart} WHERE {column} IS NOT NULL "
        f"LIMIT 1) AS probe) AS {column}"
        for column in columns
    ]
    probes.append(f"(SELECT count(*) FROM (SELECT 1 FROM marts.{mart} LIMIT 1) AS probe) AS rows_")
    return Query(f"carried_{mart}", "SELECT " + ", ".join(probes))


# Columns the pages show that a source profile may not carry (ingest/profiles/*/README.md).
SEGMENTS_CARRIED = carried("customer_segments", ("tier",))
PRODUCTS_CARRIED = carried(
    "product_performance",
    ("avg_rating", "is_active", "cost_of_goods", "gross_margin", "gross_margin_pct"),
)
CATEGORIES_CARRIED = carried(
    "category_performance",
    ("active_products_count", "cost_of_goods", "gross_margin", "gross_margin_pct"),
)
INVENTORY_CARRIED = carried("inventory_status", ("quantity_reserved",))

# --- freshness: the refresh log written by the gates and the publish step ---------------

# One row per refresh (pipelines/defs/refresh_log.py). ClickHouse keeps it in a
# ReplacingMergeTree: FINAL collapses a run reported by several writers to one row.
_REFRESH_LOG_COLUMNS = """
    run_id, refreshed_at, mode, status, gates_passed, marts_published, gates_failed,
    failing_expectations, detail
"""
LATEST_REFRESHES = Query(
    "latest_refreshes",
    f"""
    SELECT {_REFRESH_LOG_COLUMNS}
    FROM meta.refresh_log
    ORDER BY refreshed_at DESC, run_id
    LIMIT 50
    """,
    clickhouse_sql=f"""
    SELECT {_REFRESH_LOG_COLUMNS}
    FROM meta.refresh_log FINAL
    ORDER BY refreshed_at DESC, run_id
    LIMIT 50
    """,
)
