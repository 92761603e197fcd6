"""Promotions: what each code brought, and what orders were worth with it and without."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, queries, selection
from dashboards import formatting as fmt

CHART_PROMOTIONS = 15

current = selection.current()
st.title("Promotions")
st.caption(
    "Every promotion since the shop opened, as of the last refresh (promotion_performance). "
    "Redemptions count every order the code was applied to; orders, revenue and averages "
    "count recognized orders only. *Without* is the average recognized order without any "
    "promotion placed while the code was in use (its first to last order date). The date "
    "range does not apply here."
)

(promotions,) = current.fetch_many((queries.PROMOTION_PERFORMANCE, {}))
if promotions.empty:
    st.info("The shop has no promotions.")
    st.stop()

# Ties in revenue ordered in pandas: engines order text differently.
promotions = promotions.sort_values(
    ["revenue", "promotion_id"], ascending=[False, True], ignore_index=True
)
# How much bigger (or smaller) a promoted order was than one without a promotion, in %.
promotions["order_value_uplift_pct"] = [
    None if ratio is None else (ratio - 1) * 100
    for ratio in map(
        fmt.ratio, promotions["avg_order_value"], promotions["avg_order_value_without"]
    )
]
used = promotions[promotions["orders_count"] > 0]
promoted_orders = int(promotions["orders_count"].sum())
promoted_revenue = float(promotions["revenue"].sum())

first, second, third, fourth = st.columns(4)
first.metric(
    "Promotions used",
    fmt.count(len(used)),
    delta=f"of {fmt.count(len(promotions))}",
    delta_color="off",
    delta_arrow="off",
    border=True,
)
second.metric("Promoted orders", fmt.count(promoted_orders), border=True)
third.metric(
    "Revenue of promoted orders",
    fmt.money_short(promoted_revenue),
    delta=f"{fmt.percent(float(promotions['revenue_share'].sum()) * 100)} of revenue",
    delta_color="off",
    delta_arrow="off",
    border=True,
)
fourth.metric(
    "Discounts given",
    fmt.money_short(float(promotions["discount_total"].sum())),
    help="Sum of what the promotions took off their recognized orders.",
    border=True,
)

if used.empty:
    st.info("No recognized order has used a promotion yet.")
else:
    top = used.head(CHART_PROMOTIONS)
    left, right = st.columns(2)
    with left:
        st.subheader("Revenue by promotion")
        st.altair_chart(charts.promotion_revenue(top), width="stretch")
    with right:
        st.subheader("Average order, with and without")
        st.altair_chart(charts.promotion_order_values(top), width="stretch")
    st.caption(f"The {fmt.count(len(top))} promotions that brought the most revenue.")

st.subheader("Every promotion")
st.dataframe(
    promotions[["code", "name", "discount_type", "redemptions", "orders_count", "revenue",
                "discount_total", "avg_order_value", "avg_order_value_without",
                "order_value_uplift_pct", "revenue_share", "first_order_date",
                "last_order_date"]],
    hide_index=True,
    placeholder="–",
    column_config={
        "code": "Code",
        "name": "Name",
        "discount_type": "Discount",
        "redemptions": st.column_config.NumberColumn("Redemptions", format="localized"),
        "orders_count": st.column_config.NumberColumn("Orders", format="localized"),
        "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
        "discount_total": st.column_config.NumberColumn("Discounts", format="dollar"),
        "avg_order_value": st.column_config.NumberColumn("Average order", format="dollar"),
        "avg_order_value_without": st.column_config.NumberColumn(
            "Without promotion", format="dollar"
        ),
        "order_value_uplift_pct": st.column_config.NumberColumn("Difference", format="%+.1f%%"),
        "revenue_share": st.column_config.NumberColumn("Share of revenue", format="percent"),
        "first_order_date": st.column_config.DateColumn("First order"),
        "last_order_date": st.column_config.DateColumn("Last order"),
    },
)  # fmt: skip
