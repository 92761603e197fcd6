"""Revenue trends: daily revenue and orders, monthly revenue with month-over-month growth."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, queries, selection
from dashboards import formatting as fmt

current = selection.current()
st.title("Revenue trends")
st.caption(f"Recognized orders, {current.describe()}.")

period = current.period_params()
daily, monthly = current.fetch_many(
    (queries.DAILY_SALES, period), (queries.MONTHLY_REVENUE, period)
)
st.subheader("Daily")
if daily.empty:
    st.info("No recognized orders in this period.")
else:
    st.altair_chart(charts.daily_revenue(daily), width="stretch")
    st.caption("Area: net revenue per day. Line: 7-day moving average.")
    st.altair_chart(charts.daily_orders(daily), width="stretch")
    st.caption("Bars: orders per day. Line: new customers per day.")

st.subheader("Monthly")
st.caption(
    "Whole months (monthly_revenue): the 12 months up to the end of the date range, or every "
    "month the range touches if it is longer. Growth compares each month with the one before."
)
if monthly.empty:
    st.info("No months in this period.")
else:
    left, right = st.columns([3, 2])
    left.altair_chart(charts.monthly_revenue(monthly), width="stretch")
    right.altair_chart(charts.monthly_growth(monthly), width="stretch")
    table = monthly.assign(month=monthly["month_start"].dt.strftime("%Y-%m"))
    st.dataframe(
        table[
            [
                "month",
                "revenue",
                "orders_count",
                "customers_count",
                "avg_order_value",
                "mom_growth_pct",
            ]
        ],
        hide_index=True,
        placeholder="–",
        column_config={
            "month": st.column_config.TextColumn("Month"),
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "orders_count": st.column_config.NumberColumn("Orders", format="localized"),
            "customers_count": st.column_config.NumberColumn("Customers", format="localized"),
            "avg_order_value": st.column_config.NumberColumn("Average order", format="dollar"),
            "mom_growth_pct": st.column_config.NumberColumn("Growth", format="%+.1f%%"),
        },
    )
    latest = monthly.iloc[-1]
    st.caption(
        f"Latest month {latest['month_start']:%B %Y}: {fmt.money(latest['revenue'])} "
        f"({fmt.percent(latest['mom_growth_pct'], signed=True)} vs. the month before)."
    )
