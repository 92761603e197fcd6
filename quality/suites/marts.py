"""Mart suites: what the shadow marts must satisfy before they change places with the
published ones.

Per mart (``MART_RULES``): its grain present and unique and naming a row of the shop
(staging), counts and revenues present and not negative, scores 1..5, segments from the
known set, stock status and suggested orders consistent with the quantities, margins
consistent with revenue and cost, every category in the tree (no cycle), promotions'
orders within their redemptions. Across marts (:mod:`quality.suites.agreements`), when
the run rebuilt both: `daily_sales` summed by month equals `monthly_revenue`, the
customers' revenue adds up to `daily_sales`', every customer of `customer_segments` is in
`customer_analytics` with the same orders and revenue, and the top-level categories' line
revenue equals the products'. A cross-mart rule is left out when the run did not rebuild
the other mart: a fresh mart legitimately differs from a published one built from older
data.

These are the marts' data contracts, in one place: dbt keeps no data test on a mart
(dbt_project/README.md, "Where a rule lives").

A source profile whose shop cannot carry some mart columns (declared once per profile,
``NOT_CARRIED`` in :mod:`quality.suites.profiles`) gets the same suites, less the
expectations that read those columns, plus one ``<column>.not_carried`` per column: NULL
on every row (a value there would be invented); a mart it cannot fill at all gets
``rows.not_carried``: no row. The canonical shop's suites are exactly ``MART_RULES``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from core.settings import PROJECT_ROOT, source_profile_name
from core.vocabulary import MARTS, SHADOW_SCHEMA, STAGING_SCHEMA
from quality.suites.agreements import (
    CATEGORIES_MATCH_PRODUCT_PERFORMANCE,
    CUSTOMERS_REVENUE_MATCHES_DAILY_SALES,
    MONTHLY_MATCHES_DAILY_SALES,
    RFM_SCORE_CONSISTENT,
    SEGMENTS_MATCH_CUSTOMER_ANALYTICS,
    SEGMENTS_SUBSET_OF_CUSTOMER_ANALYTICS,
)
from quality.suites.profiles import PROFILE_NOT_CARRIED
from quality.suites.profiles.not_carried import NOTHING, NotCarried
from quality.suites.raw import CANONICAL_PROFILE
from quality.suites.rules import (
    CUSTOMER_TIERS,
    QUANTITY_AVAILABLE_IDENTITY,
    Agreement,
    AtLeast,
    Between,
    InSet,
    Key,
    NonNegative,
    NotNull,
    References,
    RowsRule,
    Rule,
    Scope,
    Unique,
    build_suite,
    never_empty,
)
from quality.suites.suite import Engine, TableSuite

STOCK_STATUSES = ("out_of_stock", "low", "ok", "overstock")

# The one table of RFM segment rules lives in the dbt project; the gate reads the
# segment names from it rather than keeping a second copy that could drift.
RFM_RULES_FILE = PROJECT_ROOT / "dbt_project" / "macros" / "rfm_segments.sql"


def known_segments() -> tuple[str, ...]:
    """Segment names of the dbt macro ``rfm_segment_rules``, in its order."""
    segments = re.findall(r"'segment':\s*'([^']+)'", RFM_RULES_FILE.read_text())
    if not segments:
        raise ValueError(f"no segment found in {RFM_RULES_FILE}")
    return tuple(segments)


# cost_of_goods, gross_margin and gross_margin_pct agree with revenue.
MARGIN_RULES: tuple[Rule, ...] = (
    NonNegative("cost_of_goods"),
    RowsRule(
        "gross_margin.identity",
        "gross_margin = revenue - cost_of_goods; gross_margin_pct is empty exactly "
        "without revenue and at most 100",
        "SELECT * FROM {batch} WHERE gross_margin IS NULL "
        "OR gross_margin <> revenue - cost_of_goods "
        "OR (gross_margin_pct IS NULL) <> (revenue = 0) OR gross_margin_pct > 100",
    ),
)


def customers_within_orders(customers: str) -> AtLeast:
    """A period's distinct customers are at most its orders."""
    return AtLeast(
        f"{customers}.within_orders_count",
        f"orders_count >= {customers} (each customer placed at least one order)",
        "orders_count",
        customers,
    )


def between_1_and_5(column: str, why: str = "") -> Between:
    """A score or rating: 1 to 5."""
    return Between(column, "between_1_and_5", f"{column} is 1 to 5{why}", min_value=1, max_value=5)


def share(column: str) -> Between:
    """A share of a whole: 0 to 1."""
    return Between(
        column, "between_0_and_1", f"{column} is a share: 0 to 1", min_value=0, max_value=1
    )


# The rules of each mart, in the order the gate evaluates and reports them.
MART_RULES: dict[str, tuple[Rule, ...]] = {
    "customer_analytics": (
        Key("customer_id", what="grain: one row per customer"),
        References("customer_id", "stg_shop__customers", "customer_id"),
        *never_empty(
            "orders_count",
            "lifetime_revenue",
            "items_purchased",
            why="0 for a customer who never bought",
        ),
        NonNegative(
            "orders_count",
            "lifetime_revenue",
            "avg_order_value",
            "items_purchased",
            "days_since_last_order",
        ),
        InSet("tier", CUSTOMER_TIERS, what="customer tiers"),
        AtLeast(
            "last_order_date.not_before_first",
            "last_order_date >= first_order_date",
            "last_order_date",
            "first_order_date",
        ),
        RowsRule(
            "days_since_last_order.consistent_with_orders",
            "days_since_last_order is empty exactly for the customers without a recognized order",
            "SELECT * FROM {batch} WHERE (days_since_last_order IS NULL) <> (orders_count = 0)",
        ),
        CUSTOMERS_REVENUE_MATCHES_DAILY_SALES,
    ),
    "customer_segments": (
        Key("customer_id", what="grain: one row per customer who bought"),
        *never_empty("recency_days", "frequency", "monetary", why="every buyer has them"),
        NonNegative("recency_days", "monetary"),
        Between(
            "frequency",
            "at_least_1",
            "frequency >= 1 (only customers with a recognized order)",
            min_value=1,
        ),
        *(
            rule
            for score in ("r_score", "f_score", "m_score")
            for rule in (between_1_and_5(score), NotNull(score, f"every customer has an {score}"))
        ),
        RFM_SCORE_CONSISTENT,
        NotNull("segment", "every customer has a segment"),
        InSet("segment", known_segments, what="RFM segments of dbt's rule table"),
        InSet("tier", CUSTOMER_TIERS, what="customer tiers"),
        SEGMENTS_SUBSET_OF_CUSTOMER_ANALYTICS,
        SEGMENTS_MATCH_CUSTOMER_ANALYTICS,
    ),
    "product_performance": (
        Key("product_id", what="grain: one row per product"),
        References("product_id", "stg_shop__products", "product_id"),
        *never_empty(
            "units_sold",
            "revenue",
            "orders_count",
            "review_count",
            "revenue_rank",
            "cost_of_goods",
            why="0 for a product never sold or reviewed",
        ),
        NonNegative("units_sold", "revenue", "orders_count", "review_count"),
        AtLeast(
            "orders_count.within_units_sold",
            "units_sold >= orders_count (every order of the product sold at least one unit)",
            "units_sold",
            "orders_count",
        ),
        between_1_and_5("avg_rating", " (empty without reviews)"),
        Between("revenue_rank", "at_least_1", "revenue_rank >= 1", min_value=1),
        Unique("revenue_rank", what="ties are ranked by product_id"),
        *MARGIN_RULES,
    ),
    "daily_sales": (
        Key("sales_date", what="grain: one row per day"),
        *never_empty(
            "orders_count",
            "items_sold",
            "gross_revenue",
            "discount_total",
            "net_revenue",
            "unique_customers",
            "new_customers",
            why="0 on a day without sales",
        ),
        NonNegative(
            "orders_count",
            "items_sold",
            "gross_revenue",
            "discount_total",
            "net_revenue",
            "avg_order_value",
            "unique_customers",
            "new_customers",
        ),
        AtLeast(
            "new_customers.within_unique_customers",
            "unique_customers >= new_customers",
            "unique_customers",
            "new_customers",
        ),
        customers_within_orders("unique_customers"),
    ),
    "monthly_revenue": (
        Key("month_start", what="grain: one row per month"),
        *never_empty(
            "revenue", "orders_count", "customers_count", why="0 in a month without sales"
        ),
        NonNegative("revenue", "orders_count", "customers_count", "avg_order_value"),
        customers_within_orders("customers_count"),
        MONTHLY_MATCHES_DAILY_SALES,
    ),
    "category_performance": (
        Key("category_id", what="grain: one row per category"),
        References("category_id", "stg_shop__product_categories", "category_id"),
        *never_empty(
            "products_count",
            "active_products_count",
            "units_sold",
            "revenue",
            "own_units_sold",
            "own_revenue",
            "cost_of_goods",
            why="0 for a category without products or sales",
        ),
        NonNegative("products_count", "active_products_count", "units_sold", "revenue"),
        share("revenue_share"),
        NonNegative("own_units_sold", "own_revenue"),
        NotNull(
            "category_level",
            "every category hangs from a top-level one (no cycle of parents in the tree)",
        ),
        RowsRule(
            "subtree.covers_own",
            "a category's subtree covers its own products: active_products_count <= "
            "products_count, own_units_sold <= units_sold, own_revenue <= revenue",
            "SELECT * FROM {batch} WHERE active_products_count > products_count "
            "OR own_units_sold > units_sold OR own_revenue > revenue",
        ),
        *MARGIN_RULES,
        CATEGORIES_MATCH_PRODUCT_PERFORMANCE,
    ),
    "inventory_status": (
        Key("product_id", "warehouse_code", what="grain: product x warehouse"),
        References("product_id", "stg_shop__products", "product_id"),
        *never_empty("avg_daily_units_30d", why="0 without recent sales"),
        NonNegative(
            "quantity_on_hand",
            "quantity_reserved",
            "reorder_point",
            "avg_daily_units_30d",
            "days_of_cover",
            "suggested_order_quantity",
        ),
        NotNull("stock_status", "every row has a stock_status"),
        InSet("stock_status", STOCK_STATUSES, what="stock statuses"),
        QUANTITY_AVAILABLE_IDENTITY,
        RowsRule(
            "stock_status.consistent_with_quantities",
            "out_of_stock exactly when nothing is available, low when available <= "
            "reorder_point, else ok or overstock",
            "SELECT * FROM {batch} WHERE "
            "(quantity_available <= 0 AND stock_status <> 'out_of_stock') "
            "OR (quantity_available > 0 AND quantity_available <= reorder_point "
            "AND stock_status <> 'low') "
            "OR (quantity_available > reorder_point AND stock_status NOT IN ('ok', 'overstock'))",
        ),
        RowsRule(
            "suggested_order_quantity.rule",
            "suggested_order_quantity is 0 above the reorder point, and at least "
            "reorder_quantity at or below it",
            "SELECT * FROM {batch} WHERE suggested_order_quantity IS NULL "
            "OR (quantity_available > reorder_point AND suggested_order_quantity <> 0) "
            "OR (quantity_available <= reorder_point "
            "AND suggested_order_quantity < reorder_quantity)",
        ),
    ),
    "promotion_performance": (
        Key("promotion_id", what="grain: one row per promotion"),
        References("promotion_id", "stg_shop__promotions", "promotion_id"),
        *never_empty("code", why="every promotion has its code"),
        Unique("code", what="codes are unique in the shop"),
        *never_empty(
            "redemptions",
            "orders_count",
            "revenue",
            "discount_total",
            why="0 for a promotion never used",
        ),
        NonNegative(
            "redemptions",
            "orders_count",
            "revenue",
            "discount_total",
            "avg_order_value",
            "avg_order_value_without",
        ),
        # No row is skipped: both counts are never empty (above).
        AtLeast(
            "orders_count.within_redemptions",
            "redemptions >= orders_count (recognized orders are some of the redemptions)",
            "redemptions",
            "orders_count",
            ignore_missing=False,
        ),
        share("revenue_share"),
        RowsRule(
            "orders.consistent",
            "a promotion without recognized orders has no revenue, average or period; one "
            "with orders has both dates, in order",
            "SELECT * FROM {batch} WHERE (orders_count = 0 AND (revenue <> 0 "
            "OR avg_order_value IS NOT NULL OR first_order_date IS NOT NULL)) "
            "OR (orders_count > 0 AND (first_order_date IS NULL OR last_order_date IS NULL "
            "OR last_order_date < first_order_date))",
        ),
    ),
}
if tuple(MART_RULES) != MARTS:
    raise ValueError("MART_RULES must hold one rule table per mart, in MARTS' order")


def not_carried(profile: str | None = None) -> NotCarried:
    """What source ``profile`` (default: the configured one) cannot carry into the marts."""
    name = profile or source_profile_name()
    if name == CANONICAL_PROFILE:
        return NOTHING
    try:
        return PROFILE_NOT_CARRIED[name]
    except KeyError:
        known = ", ".join((CANONICAL_PROFILE, *PROFILE_NOT_CARRIED))
        raise ValueError(f"no mart rules for source profile {name!r}; known: {known}") from None


def mart_suites(
    engine: Engine,
    *,
    schema: str = SHADOW_SCHEMA,
    marts: Collection[str] | None = None,
    rebuilt_together: Collection[str] | None = None,
    profile: str | None = None,
) -> list[TableSuite]:
    """The suites of ``marts`` (default all) in ``engine``'s ``schema``, for source
    ``profile`` (default: the configured one; see :func:`not_carried`).

    ``rebuilt_together``: the marts built in the same run, in the same schema (default:
    ``marts``); cross-mart rules are included only when both sides are among them.
    """
    wanted = list(MARTS if marts is None else marts)
    unknown = set(wanted) - set(MARTS)
    if unknown:
        raise ValueError(f"no mart suite for: {', '.join(sorted(unknown))}")
    together = set(wanted if rebuilt_together is None else rebuilt_together)
    scope = Scope(engine, schema, parent_schema=STAGING_SCHEMA)
    profile = profile or source_profile_name()
    carried = not_carried(profile)
    suites = []
    for name in wanted:
        suite = build_suite(
            TableSuite("marts", scope.sibling(name)),
            [r for r in MART_RULES[name] if not isinstance(r, Agreement) or r.other in together],
            scope,
        )
        # The canonical shop carries everything: its suites are MART_RULES, untouched.
        if carried is not NOTHING:
            suite = without_columns(suite, carried.of(name), scope, profile)
            if name in carried.empty_marts:
                RowsRule(
                    "rows.not_carried",
                    f"no row: the {profile} shop keeps none of what {name} counts "
                    "(a row would be invented)",
                    "SELECT * FROM {batch}",
                ).add_to(suite, scope)
        suites.append(suite)
    return suites


def reads_column(expectation: Any, column: str) -> bool:
    """Whether ``expectation`` reads ``column``: names it as a column, or as a word of its
    SQL (a row rule, a cross-mart agreement)."""
    named = {getattr(expectation, attr, None) for attr in ("column", "column_A", "column_B")}
    named.update(getattr(expectation, "column_list", None) or ())
    if column in named:
        return True
    query = getattr(expectation, "unexpected_rows_query", None)
    return isinstance(query, str) and re.search(rf"\b{re.escape(column)}\b", query) is not None


def without_columns(
    suite: TableSuite, columns: frozenset[str], scope: Scope, profile: str
) -> TableSuite:
    """``suite`` less every expectation reading one of ``columns``, plus one
    ``<column>.not_carried`` each: the profile's shop cannot carry them, so they are NULL
    on every row, and a value there would be invented."""
    grain = set(suite.key) & columns
    if grain:
        raise ValueError(
            f"profile {profile}: {suite.relation.name}'s grain {sorted(grain)} cannot be "
            "declared not carried"
        )
    suite.expectations = [
        e for e in suite.expectations if not any(reads_column(e, c) for c in columns)
    ]
    for column in sorted(columns):
        RowsRule(
            f"{column}.not_carried",
            f"{column} is empty on every row: the {profile} shop's schema does not carry it "
            "(a value would be invented)",
            f"SELECT * FROM {{batch}} WHERE {column} IS NOT NULL",
        ).add_to(suite, scope)
    return suite
