"""Mart suites: what the shadow marts must satisfy before they change places with the
published ones.

Per mart: its grain present and unique and naming a row of the shop (staging), counts
and revenues present and not negative, scores 1..5, segments from the known set, stock
status and suggested orders consistent with the quantities, margins consistent with
revenue and cost, every category in the tree (no cycle), promotions' orders within their
redemptions. Across marts, when the run rebuilt both: `daily_sales` summed by month
equals `monthly_revenue`, the customers' revenue adds up to `daily_sales`', every
customer of `customer_segments` is in `customer_analytics` with the same orders and
revenue, and the top-level categories' line revenue equals the products'. A cross-mart
rule is left out when the run did not rebuild the other mart: a fresh mart legitimately
differs from a published one built from older data.

These are the marts' data contracts, in one place: dbt keeps no data test on a mart
(dbt_project/README.md, "Where a rule lives").
"""

from __future__ import annotations

import re
from collections.abc import Collection

import great_expectations.expectations as gxe

from core.settings import PROJECT_ROOT
from core.vocabulary import MARTS, SHADOW_SCHEMA, STAGING_SCHEMA
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
)

STOCK_STATUSES = ("out_of_stock", "low", "ok", "overstock")
CUSTOMER_TIERS = ("bronze", "silver", "gold", "platinum")

# The one table of RFM segment rules lives in the dbt project; the gate reads the
# segment names from it rather than keeping a second copy that could drift.
RFM_RULES_FILE = PROJECT_ROOT / "dbt_project" / "macros" / "rfm_segments.sql"


def known_segments() -> tuple[str, ...]:
    """Segment names of the dbt macro ``rfm_segment_rules``, in its order."""
    segments = re.findall(r"'segment':\s*'([^']+)'", RFM_RULES_FILE.read_text())
    if not segments:
        raise ValueError(f"no segment found in {RFM_RULES_FILE}")
    return tuple(segments)


def mart_suites(
    engine: Engine,
    *,
    schema: str = SHADOW_SCHEMA,
    marts: Collection[str] | None = None,
    rebuilt_together: Collection[str] | None = None,
) -> list[TableSuite]:
    """The suites of ``marts`` (default all) in ``engine``'s ``schema``.

    ``rebuilt_together``: the marts built in the same run, in the same schema (default:
    ``marts``); cross-mart rules are included only when both sides are among them.
    """
    wanted = list(MARTS if marts is None else marts)
    unknown = set(wanted) - set(MARTS)
    if unknown:
        raise ValueError(f"no mart suite for: {', '.join(sorted(unknown))}")
    together = set(wanted if rebuilt_together is None else rebuilt_together)

    def relation(name: str) -> Relation:
        return Relation(engine, schema, name)

    def staging(name: str) -> Relation:
        return Relation(engine, STAGING_SCHEMA, name)

    suites: dict[str, TableSuite] = {name: TableSuite("marts", relation(name)) for name in MARTS}

    customer_analytics = suites["customer_analytics"]
    add_key(customer_analytics, ["customer_id"], what="grain: one row per customer")
    add_reference(customer_analytics, "customer_id", staging("stg_shop__customers"), "customer_id")
    _add_not_null(
        customer_analytics,
        "orders_count",
        "lifetime_revenue",
        "items_purchased",
        why="0 for a customer who never bought",
    )
    add_non_negative(
        customer_analytics,
        "orders_count",
        "lifetime_revenue",
        "avg_order_value",
        "items_purchased",
        "days_since_last_order",
    )
    add_in_set(customer_analytics, "tier", CUSTOMER_TIERS, what="customer tiers")
    customer_analytics.add(
        "last_order_date.not_before_first",
        gxe.ExpectColumnPairValuesAToBeGreaterThanB,
        "last_order_date >= first_order_date",
        column_A="last_order_date",
        column_B="first_order_date",
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )
    add_unexpected_rows(
        customer_analytics,
        "days_since_last_order.consistent_with_orders",
        "days_since_last_order is empty exactly for the customers without a recognized order",
        "SELECT * FROM {batch} WHERE (days_since_last_order IS NULL) <> (orders_count = 0)",
    )
    if "daily_sales" in together:
        add_unexpected_rows(
            customer_analytics,
            "lifetime_revenue.matches_daily_sales",
            "the customers' lifetime_revenue adds up to daily_sales' net_revenue",
            _totals_differ(
                "SELECT coalesce(sum(lifetime_revenue), 0) AS customers_revenue FROM {batch}",
                "SELECT coalesce(sum(net_revenue), 0) AS daily_revenue "
                f"FROM {relation('daily_sales').qualified}",
                "customers_revenue <> daily_revenue",
            ),
        )

    segments = suites["customer_segments"]
    add_key(segments, ["customer_id"], what="grain: one row per customer who bought")
    _add_not_null(segments, "recency_days", "frequency", "monetary", why="every buyer has them")
    add_non_negative(segments, "recency_days", "monetary")
    segments.add(
        "frequency.at_least_1",
        gxe.ExpectColumnValuesToBeBetween,
        "frequency >= 1 (only customers with a recognized order)",
        column="frequency",
        min_value=1,
    )
    for score in ("r_score", "f_score", "m_score"):
        segments.add(
            f"{score}.between_1_and_5",
            gxe.ExpectColumnValuesToBeBetween,
            f"{score} is 1 to 5",
            column=score,
            min_value=1,
            max_value=5,
        )
        segments.add(
            f"{score}.not_null",
            gxe.ExpectColumnValuesToNotBeNull,
            f"every customer has an {score}",
            column=score,
        )
    concatenated = (
        "concat(toString(r_score), toString(f_score), toString(m_score))"
        if engine == "clickhouse"
        else "r_score::text || f_score::text || m_score::text"
    )
    add_unexpected_rows(
        segments,
        "rfm_score.consistent",
        "rfm_score is r_score, f_score and m_score written together",
        f"SELECT * FROM {{batch}} WHERE rfm_score IS NULL OR rfm_score <> {concatenated}",
    )
    segments.add(
        "segment.not_null",
        gxe.ExpectColumnValuesToNotBeNull,
        "every customer has a segment",
        column="segment",
    )
    add_in_set(segments, "segment", known_segments(), what="RFM segments of dbt's rule table")
    add_in_set(segments, "tier", CUSTOMER_TIERS, what="customer tiers")
    if "customer_analytics" in together:
        analytics = relation("customer_analytics")
        if engine == "clickhouse":
            query = (
                "SELECT * FROM {batch} WHERE customer_id NOT IN "
                f"(SELECT customer_id FROM {analytics.qualified})"
            )
        else:
            query = (
                f"SELECT segments.* FROM {{batch}} AS segments "
                f"LEFT JOIN {analytics.qualified} AS analytics "
                "ON analytics.customer_id = segments.customer_id "
                "WHERE analytics.customer_id IS NULL"
            )
        add_unexpected_rows(
            segments,
            "customer_id.subset_of_customer_analytics",
            "every segmented customer is a customer of customer_analytics",
            query,
        )
        # Inner join: a customer missing from customer_analytics is the rule above's.
        add_unexpected_rows(
            segments,
            "monetary.matches_customer_analytics",
            "each customer's frequency and monetary equal their orders_count and "
            "lifetime_revenue in customer_analytics",
            "SELECT segments.customer_id, segments.frequency, segments.monetary, "
            "analytics.orders_count, analytics.lifetime_revenue "
            f"FROM {{batch}} AS segments INNER JOIN {analytics.qualified} AS analytics "
            "ON analytics.customer_id = segments.customer_id "
            "WHERE segments.frequency <> analytics.orders_count "
            "OR segments.monetary <> analytics.lifetime_revenue",
        )

    products = suites["product_performance"]
    add_key(products, ["product_id"], what="grain: one row per product")
    add_reference(products, "product_id", staging("stg_shop__products"), "product_id")
    _add_not_null(
        products,
        "units_sold",
        "revenue",
        "orders_count",
        "review_count",
        "revenue_rank",
        "cost_of_goods",
        why="0 for a product never sold or reviewed",
    )
    add_non_negative(products, "units_sold", "revenue", "orders_count", "review_count")
    products.add(
        "orders_count.within_units_sold",
        gxe.ExpectColumnPairValuesAToBeGreaterThanB,
        "units_sold >= orders_count (every order of the product sold at least one unit)",
        column_A="units_sold",
        column_B="orders_count",
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )
    products.add(
        "avg_rating.between_1_and_5",
        gxe.ExpectColumnValuesToBeBetween,
        "avg_rating is 1 to 5 (empty without reviews)",
        column="avg_rating",
        min_value=1,
        max_value=5,
    )
    products.add(
        "revenue_rank.at_least_1",
        gxe.ExpectColumnValuesToBeBetween,
        "revenue_rank >= 1",
        column="revenue_rank",
        min_value=1,
    )
    add_unique(products, ["revenue_rank"], what="ties are ranked by product_id")
    _add_margin_rules(products)

    daily = suites["daily_sales"]
    add_key(daily, ["sales_date"], what="grain: one row per day")
    _add_not_null(
        daily,
        "orders_count",
        "items_sold",
        "gross_revenue",
        "discount_total",
        "net_revenue",
        "unique_customers",
        "new_customers",
        why="0 on a day without sales",
    )
    add_non_negative(
        daily,
        "orders_count",
        "items_sold",
        "gross_revenue",
        "discount_total",
        "net_revenue",
        "avg_order_value",
        "unique_customers",
        "new_customers",
    )
    daily.add(
        "new_customers.within_unique_customers",
        gxe.ExpectColumnPairValuesAToBeGreaterThanB,
        "unique_customers >= new_customers",
        column_A="unique_customers",
        column_B="new_customers",
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )
    _add_customers_within_orders(daily, "unique_customers")

    monthly = suites["monthly_revenue"]
    add_key(monthly, ["month_start"], what="grain: one row per month")
    _add_not_null(
        monthly, "revenue", "orders_count", "customers_count", why="0 in a month without sales"
    )
    add_non_negative(monthly, "revenue", "orders_count", "customers_count", "avg_order_value")
    _add_customers_within_orders(monthly, "customers_count")
    if "daily_sales" in together:
        daily_sales = relation("daily_sales")
        if engine == "clickhouse":
            query = (
                "SELECT * FROM (SELECT month_start, revenue, orders_count FROM {batch}) AS m "
                "FULL OUTER JOIN (SELECT toStartOfMonth(sales_date) AS month_start, "
                "sum(net_revenue) AS daily_revenue, sum(orders_count) AS daily_orders_count "
                f"FROM {daily_sales.qualified} GROUP BY month_start) AS d USING (month_start) "
                "WHERE revenue != daily_revenue OR orders_count != daily_orders_count"
            )
        else:
            query = (
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
        add_unexpected_rows(
            monthly,
            "revenue.matches_daily_sales",
            "each month's revenue and orders_count equal daily_sales summed over the month",
            query,
        )

    categories = suites["category_performance"]
    add_key(categories, ["category_id"], what="grain: one row per category")
    add_reference(categories, "category_id", staging("stg_shop__product_categories"), "category_id")
    _add_not_null(
        categories,
        "products_count",
        "active_products_count",
        "units_sold",
        "revenue",
        "own_units_sold",
        "own_revenue",
        "cost_of_goods",
        why="0 for a category without products or sales",
    )
    add_non_negative(categories, "products_count", "active_products_count", "units_sold", "revenue")
    categories.add(
        "revenue_share.between_0_and_1",
        gxe.ExpectColumnValuesToBeBetween,
        "revenue_share is a share: 0 to 1",
        column="revenue_share",
        min_value=0,
        max_value=1,
    )
    add_non_negative(categories, "own_units_sold", "own_revenue")
    categories.add(
        "category_level.not_null",
        gxe.ExpectColumnValuesToNotBeNull,
        "every category hangs from a top-level one (no cycle of parents in the tree)",
        column="category_level",
    )
    add_unexpected_rows(
        categories,
        "subtree.covers_own",
        "a category's subtree covers its own products: active_products_count <= "
        "products_count, own_units_sold <= units_sold, own_revenue <= revenue",
        "SELECT * FROM {batch} WHERE active_products_count > products_count "
        "OR own_units_sold > units_sold OR own_revenue > revenue",
    )
    _add_margin_rules(categories)
    if "product_performance" in together:
        # Products filed under no existing category are in no category's figures.
        sold = (
            "SELECT coalesce(sum(sold.revenue), 0) AS product_revenue, "
            "coalesce(sum(sold.units_sold), 0) AS product_units "
            f"FROM {relation('product_performance').qualified} AS sold "
            f"INNER JOIN {staging('stg_shop__products').qualified} AS products "
            "ON products.product_id = sold.product_id "
            f"INNER JOIN {staging('stg_shop__product_categories').qualified} AS filed "
            "ON filed.category_id = products.category_id"
        )
        add_unexpected_rows(
            categories,
            "revenue.matches_product_performance",
            "the top-level categories' revenue and units_sold add up to product_performance's "
            "(of the products filed under a category)",
            _totals_differ(
                "SELECT coalesce(sum(revenue), 0) AS category_revenue, "
                "coalesce(sum(units_sold), 0) AS category_units "
                "FROM {batch} WHERE category_level = 1",
                sold,
                "category_revenue <> product_revenue OR category_units <> product_units",
            ),
        )

    inventory = suites["inventory_status"]
    add_key(inventory, ["product_id", "warehouse_code"], what="grain: product x warehouse")
    add_reference(inventory, "product_id", staging("stg_shop__products"), "product_id")
    _add_not_null(inventory, "avg_daily_units_30d", why="0 without recent sales")
    add_non_negative(
        inventory,
        "quantity_on_hand",
        "quantity_reserved",
        "reorder_point",
        "avg_daily_units_30d",
        "days_of_cover",
        "suggested_order_quantity",
    )
    inventory.add(
        "stock_status.not_null",
        gxe.ExpectColumnValuesToNotBeNull,
        "every row has a stock_status",
        column="stock_status",
    )
    add_in_set(inventory, "stock_status", STOCK_STATUSES, what="stock statuses")
    add_unexpected_rows(
        inventory,
        "quantity_available.identity",
        "quantity_available = quantity_on_hand - quantity_reserved",
        "SELECT * FROM {batch} WHERE quantity_available <> quantity_on_hand - quantity_reserved",
    )
    add_unexpected_rows(
        inventory,
        "stock_status.consistent_with_quantities",
        "out_of_stock exactly when nothing is available, low when available <= "
        "reorder_point, else ok or overstock",
        "SELECT * FROM {batch} WHERE "
        "(quantity_available <= 0 AND stock_status <> 'out_of_stock') "
        "OR (quantity_available > 0 AND quantity_available <= reorder_point "
        "AND stock_status <> 'low') "
        "OR (quantity_available > reorder_point AND stock_status NOT IN ('ok', 'overstock'))",
    )
    add_unexpected_rows(
        inventory,
        "suggested_order_quantity.rule",
        "suggested_order_quantity is 0 above the reorder point, and at least "
        "reorder_quantity at or below it",
        "SELECT * FROM {batch} WHERE suggested_order_quantity IS NULL "
        "OR (quantity_available > reorder_point AND suggested_order_quantity <> 0) "
        "OR (quantity_available <= reorder_point "
        "AND suggested_order_quantity < reorder_quantity)",
    )

    promotions = suites["promotion_performance"]
    add_key(promotions, ["promotion_id"], what="grain: one row per promotion")
    add_reference(promotions, "promotion_id", staging("stg_shop__promotions"), "promotion_id")
    _add_not_null(promotions, "code", why="every promotion has its code")
    add_unique(promotions, ["code"], what="codes are unique in the shop")
    _add_not_null(
        promotions,
        "redemptions",
        "orders_count",
        "revenue",
        "discount_total",
        why="0 for a promotion never used",
    )
    add_non_negative(
        promotions,
        "redemptions",
        "orders_count",
        "revenue",
        "discount_total",
        "avg_order_value",
        "avg_order_value_without",
    )
    promotions.add(
        "orders_count.within_redemptions",
        gxe.ExpectColumnPairValuesAToBeGreaterThanB,
        "redemptions >= orders_count (recognized orders are some of the redemptions)",
        column_A="redemptions",
        column_B="orders_count",
        or_equal=True,
    )
    promotions.add(
        "revenue_share.between_0_and_1",
        gxe.ExpectColumnValuesToBeBetween,
        "revenue_share is a share: 0 to 1",
        column="revenue_share",
        min_value=0,
        max_value=1,
    )
    add_unexpected_rows(
        promotions,
        "orders.consistent",
        "a promotion without recognized orders has no revenue, average or period; one "
        "with orders has both dates, in order",
        "SELECT * FROM {batch} WHERE (orders_count = 0 AND (revenue <> 0 "
        "OR avg_order_value IS NOT NULL OR first_order_date IS NOT NULL)) "
        "OR (orders_count > 0 AND (first_order_date IS NULL OR last_order_date IS NULL "
        "OR last_order_date < first_order_date))",
    )

    return [suites[name] for name in wanted]


def _add_not_null(suite: TableSuite, *columns: str, why: str) -> None:
    """Each of ``columns`` is never empty (``why``: what stands in for "nothing")."""
    for column in columns:
        suite.add(
            f"{column}.not_null",
            gxe.ExpectColumnValuesToNotBeNull,
            f"{column} is never empty ({why})",
            column=column,
        )


def _add_customers_within_orders(suite: TableSuite, customers: str) -> None:
    """A period's distinct customers are at most its orders."""
    suite.add(
        f"{customers}.within_orders_count",
        gxe.ExpectColumnPairValuesAToBeGreaterThanB,
        f"orders_count >= {customers} (each customer placed at least one order)",
        column_A="orders_count",
        column_B=customers,
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )


def _totals_differ(left: str, right: str, differ: str) -> str:
    """A row-level rule comparing two one-row totals: the row when ``differ`` holds."""
    return (
        f"SELECT * FROM ({left}) AS left_total CROSS JOIN ({right}) AS right_total WHERE {differ}"
    )


def _add_margin_rules(suite: TableSuite) -> None:
    """cost_of_goods, gross_margin and gross_margin_pct agree with revenue."""
    add_non_negative(suite, "cost_of_goods")
    add_unexpected_rows(
        suite,
        "gross_margin.identity",
        "gross_margin = revenue - cost_of_goods; gross_margin_pct is empty exactly "
        "without revenue and at most 100",
        "SELECT * FROM {batch} WHERE gross_margin IS NULL "
        "OR gross_margin <> revenue - cost_of_goods "
        "OR (gross_margin_pct IS NULL) <> (revenue = 0) OR gross_margin_pct > 100",
    )
