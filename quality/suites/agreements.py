"""The mart suites' rules that read other relations: cross-mart agreements and the SQL
that differs between engines.

A cross-mart rule is wrapped in :class:`~quality.suites.rules.Agreement`: the mart suites
keep it only when the run rebuilt the other mart too.
"""

from __future__ import annotations

from quality.suites.rules import Agreement, RowsRule, Scope, totals_differ


def _rfm_score_differs(scope: Scope) -> str:
    concatenated = (
        "concat(toString(r_score), toString(f_score), toString(m_score))"
        if scope.engine == "clickhouse"
        else "r_score::text || f_score::text || m_score::text"
    )
    return f"SELECT * FROM {{batch}} WHERE rfm_score IS NULL OR rfm_score <> {concatenated}"


RFM_SCORE_CONSISTENT = RowsRule(
    "rfm_score.consistent",
    "rfm_score is r_score, f_score and m_score written together",
    _rfm_score_differs,
)


def _customers_revenue_differs(scope: Scope) -> str:
    return totals_differ(
        "SELECT coalesce(sum(lifetime_revenue), 0) AS customers_revenue FROM {batch}",
        "SELECT coalesce(sum(net_revenue), 0) AS daily_revenue "
        f"FROM {scope.sibling('daily_sales').qualified}",
        "customers_revenue <> daily_revenue",
    )


CUSTOMERS_REVENUE_MATCHES_DAILY_SALES = Agreement(
    "daily_sales",
    RowsRule(
        "lifetime_revenue.matches_daily_sales",
        "the customers' lifetime_revenue adds up to daily_sales' net_revenue",
        _customers_revenue_differs,
    ),
)


def _segmented_customer_missing(scope: Scope) -> str:
    analytics = scope.sibling("customer_analytics")
    if scope.engine == "clickhouse":
        return (
            "SELECT * FROM {batch} WHERE customer_id NOT IN "
            f"(SELECT customer_id FROM {analytics.qualified})"
        )
    return (
        f"SELECT segments.* FROM {{batch}} AS segments "
        f"LEFT JOIN {analytics.qualified} AS analytics "
        "ON analytics.customer_id = segments.customer_id "
        "WHERE analytics.customer_id IS NULL"
    )


SEGMENTS_SUBSET_OF_CUSTOMER_ANALYTICS = Agreement(
    "customer_analytics",
    RowsRule(
        "customer_id.subset_of_customer_analytics",
        "every segmented customer is a customer of customer_analytics",
        _segmented_customer_missing,
    ),
)


def _segment_figures_differ(scope: Scope) -> str:
    # Inner join: a customer missing from customer_analytics is the rule above's.
    return (
        "SELECT segments.customer_id, segments.frequency, segments.monetary, "
        "analytics.orders_count, analytics.lifetime_revenue "
        f"FROM {{batch}} AS segments "
        f"INNER JOIN {scope.sibling('customer_analytics').qualified} AS analytics "
        "ON analytics.customer_id = segments.customer_id "
        "WHERE segments.frequency <> analytics.orders_count "
        "OR segments.monetary <> analytics.lifetime_revenue"
    )


SEGMENTS_MATCH_CUSTOMER_ANALYTICS = Agreement(
    "customer_analytics",
    RowsRule(
        "monetary.matches_customer_analytics",
        "each customer's frequency and monetary equal their orders_count and "
        "lifetime_revenue in customer_analytics",
        _segment_figures_differ,
    ),
)


def _monthly_differs_from_daily(scope: Scope) -> str:
    daily_sales = scope.sibling("daily_sales")
    if scope.engine == "clickhouse":
        return (
            "SELECT * FROM (SELECT month_start, revenue, orders_count FROM {batch}) AS m "
            "FULL OUTER JOIN (SELECT toStartOfMonth(sales_date) AS month_start, "
            "sum(net_revenue) AS daily_revenue, sum(orders_count) AS daily_orders_count "
            f"FROM {daily_sales.qualified} GROUP BY month_start) AS d USING (month_start) "
            "WHERE revenue != daily_revenue OR orders_count != daily_orders_count"
        )
    return (
        "SELECT m.month_start, m.revenue, m.orders_count, d.month_start AS daily_month, "
        "d.revenue AS daily_revenue, d.orders_count AS daily_orders_count "
        "FROM {batch} AS m FULL JOIN ("
        "SELECT date_trunc('month', sales_date)::date AS month_start, "
        "sum(net_revenue) AS revenue, sum(orders_count) AS orders_count "
        f"FROM {daily_sales.qualified} GROUP BY 1) AS d "
        "ON d.month_start = m.month_start "
        "WHERE m.month_start IS NULL OR d.month_start IS NULL "
        "OR m.revenue <> d.revenue OR m.orders_count <> d.orders_count"
    )


MONTHLY_MATCHES_DAILY_SALES = Agreement(
    "daily_sales",
    RowsRule(
        "revenue.matches_daily_sales",
        "each month's revenue and orders_count equal daily_sales summed over the month",
        _monthly_differs_from_daily,
    ),
)


def _categories_differ_from_products(scope: Scope) -> str:
    # Products filed under no existing category are in no category's figures.
    sold = (
        "SELECT coalesce(sum(sold.revenue), 0) AS product_revenue, "
        "coalesce(sum(sold.units_sold), 0) AS product_units "
        f"FROM {scope.sibling('product_performance').qualified} AS sold "
        f"INNER JOIN {scope.parent('stg_shop__products').qualified} AS products "
        "ON products.product_id = sold.product_id "
        f"INNER JOIN {scope.parent('stg_shop__product_categories').qualified} AS filed "
        "ON filed.category_id = products.category_id"
    )
    return totals_differ(
        "SELECT coalesce(sum(revenue), 0) AS category_revenue, "
        "coalesce(sum(units_sold), 0) AS category_units "
        "FROM {batch} WHERE category_level = 1",
        sold,
        "category_revenue <> product_revenue OR category_units <> product_units",
    )


CATEGORIES_MATCH_PRODUCT_PERFORMANCE = Agreement(
    "product_performance",
    RowsRule(
        "revenue.matches_product_performance",
        "the top-level categories' revenue and units_sold add up to product_performance's "
        "(of the products filed under a category)",
        _categories_differ_from_products,
    ),
)
