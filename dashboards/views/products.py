"""Top products and categories by revenue (all time, as of the last refresh)."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, queries, selection
from dashboards import formatting as fmt
from dashboards.columns import key_column, say_not_carried

TOP_SIZES = (10, 25, 50, 100)
ALL_CATEGORIES = "All categories"
TOP_LEVEL = "Top-level categories"

current = selection.current()
st.title("Products & categories")
st.caption(
    "Revenue of recognized orders' lines (line totals) since the shop opened, as of the last "
    "refresh (product_performance, category_performance). Gross margin is revenue minus the "
    "units sold at today's cost price. The date range does not apply here."
)


def category_param(category: str) -> str:
    return "" if category == ALL_CATEGORIES else category


def parent_param(level: str) -> str:
    return "" if level == TOP_LEVEL else level


# Every figure's query side by side, with the filters of the last run.
filed_under, _, parents, _, products_probe, categories_probe = current.fetch_many(
    (queries.PRODUCT_CATEGORIES, {}),
    (
        queries.TOP_PRODUCTS,
        {
            "category": category_param(st.session_state.get("product_category", ALL_CATEGORIES)),
            "limit": st.session_state.get("product_top", TOP_SIZES[0]),
        },
    ),
    (queries.PARENT_CATEGORIES, {}),
    (
        queries.CATEGORY_PERFORMANCE,
        {"parent": parent_param(st.session_state.get("category_level", TOP_LEVEL))},
    ),
    (queries.PRODUCTS_CARRIED, {}),
    (queries.CATEGORIES_CARRIED, {}),
)
# Columns the shop's schema cannot carry (NULL in every row) are said so, not shown as
# empty cells or zeros.
products_missing = fmt.not_carried_columns(products_probe)
categories_missing = fmt.not_carried_columns(categories_probe)
LABELS = {
    "avg_rating": "Rating",
    "is_active": "On sale",
    "active_products_count": "On sale",
    "cost_of_goods": "Cost of goods",
    "gross_margin": "Gross margin",
    "gross_margin_pct": "Margin %",
}

st.subheader("Top products")
pick, size = st.columns([3, 1])
category = pick.selectbox(
    "Category",
    [ALL_CATEGORIES, *sorted(filed_under["category_name"])],
    key="product_category",
    help="The category a product is filed under.",
)
top = size.selectbox("Show", TOP_SIZES, format_func=lambda n: f"Top {n}", key="product_top")
products = current.fetch(queries.TOP_PRODUCTS, category=category_param(category), limit=top)
if products.empty:
    st.info("No products.")
else:
    st.altair_chart(charts.top_products(products), width="stretch")
    products = products.drop(columns=products_missing)
    st.dataframe(
        products,
        hide_index=True,
        placeholder="–",
        column_config={
            "revenue_rank": st.column_config.NumberColumn("Rank", format="%d"),
            "product_id": key_column("Product", products["product_id"]),
            "product_name": "Name",
            "category_name": "Category",
            "units_sold": st.column_config.NumberColumn("Units sold", format="localized"),
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "orders_count": st.column_config.NumberColumn("Orders", format="localized"),
            "review_count": st.column_config.NumberColumn("Reviews", format="localized"),
            "avg_rating": st.column_config.NumberColumn("Rating", format="%.2f"),
            "is_active": st.column_config.CheckboxColumn("On sale"),
            "cost_of_goods": st.column_config.NumberColumn("Cost of goods", format="dollar"),
            "gross_margin": st.column_config.NumberColumn("Gross margin", format="dollar"),
            "gross_margin_pct": st.column_config.NumberColumn("Margin %", format="%.1f%%"),
        },
    )
    say_not_carried(products_missing, LABELS)

st.subheader("Categories")
level = st.selectbox(
    "Level",
    [TOP_LEVEL, *sorted(parents["parent_category_name"])],
    format_func=lambda name: name if name == TOP_LEVEL else f"Inside {name}",
    key="category_level",
    help="A category's figures include its subcategories, so only one level at a time "
    "adds up: the top level, or the subcategories of one category.",
)
categories = current.fetch(queries.CATEGORY_PERFORMANCE, parent=parent_param(level))
if categories.empty:
    st.info("No categories.")
else:
    leader = categories.iloc[0]
    first, second, third = st.columns(3)
    first.metric("Categories", fmt.count(len(categories)), border=True)
    second.metric("Revenue", fmt.money(categories["revenue"].sum(), decimals=0), border=True)
    third.metric(
        "Top category",
        str(leader["category_name"]),
        delta=f"{fmt.percent(leader['revenue_share'] * 100)} of all revenue",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    st.altair_chart(charts.category_revenue(categories.head(30)), width="stretch")
    categories = categories.drop(columns=categories_missing)
    st.dataframe(
        categories,
        hide_index=True,
        placeholder="–",
        column_config={
            "category_id": key_column("Category", categories["category_id"]),
            "category_name": "Name",
            "parent_category_name": "Parent",
            "products_count": st.column_config.NumberColumn("Products", format="localized"),
            "active_products_count": st.column_config.NumberColumn("On sale", format="localized"),
            "units_sold": st.column_config.NumberColumn("Units sold", format="localized"),
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "revenue_share": st.column_config.NumberColumn("Share of revenue", format="percent"),
            "cost_of_goods": st.column_config.NumberColumn("Cost of goods", format="dollar"),
            "gross_margin": st.column_config.NumberColumn("Gross margin", format="dollar"),
            "gross_margin_pct": st.column_config.NumberColumn("Margin %", format="%.1f%%"),
        },
    )
    say_not_carried(categories_missing, LABELS)
    if len(filed_under) == 1 and parents.empty:
        # One category holding every product: the shop keeps none (the minimal shop's
        # documented `Uncategorized`, ingest/profiles/minimal/README.md).
        st.caption(
            f"Categories: {fmt.NOT_CARRIED}; every product is filed under one category, "
            f"“{filed_under['category_name'].iloc[0]}”."
        )
