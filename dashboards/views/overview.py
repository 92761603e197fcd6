"""Overview: the period's KPIs against the period before, daily revenue, stock alerts."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, kpis, queries, selection
from dashboards import formatting as fmt

current = selection.current()
st.title("Overview")
st.caption(
    f"Recognized orders, {current.describe()}, compared with the {current.days} days before "
    f"({current.previous_start:%d %b} – {current.previous_end:%d %b %Y})."
)

# Every figure's query side by side; the code below then reads the warm cache.
period = current.period_params()
current.fetch_many(
    (queries.PERIOD_TOTALS, period),
    (queries.ACTIVE_CUSTOMERS, period),
    (queries.DAILY_SALES, period),
    (queries.STOCK_ALERT_COUNTS, {}),
)
figures = kpis.period_kpis(current)
columns = st.columns(5)
for column, kpi in zip(columns, figures, strict=True):
    column.metric(
        kpi.label,
        kpi.display,
        delta=fmt.change(kpi.current, kpi.previous) if kpi.comparable else "no comparison",
        delta_color="normal" if kpi.comparable else "off",
        delta_arrow="auto" if kpi.comparable else "off",
        help=kpi.help,
        border=True,
    )

daily = current.fetch(queries.DAILY_SALES, **period)
st.subheader("Daily net revenue")
if daily.empty:
    st.info("No recognized orders in this period.")
else:
    st.altair_chart(charts.daily_revenue(daily), width="stretch")
    st.caption("Area: net revenue per day. Line: 7-day moving average.")

st.subheader("Stock alerts")
alerts = current.fetch(queries.STOCK_ALERT_COUNTS)
counts = dict(zip(alerts["stock_status"], alerts["items"], strict=True))
left, right, link = st.columns([1, 1, 2], vertical_alignment="center")
left.metric("Out of stock", fmt.count(counts.get("out_of_stock", 0)), border=True)
right.metric("Low stock", fmt.count(counts.get("low", 0)), border=True)
link.page_link(
    "views/inventory.py", label="See inventory alerts by warehouse", icon=":material/arrow_forward:"
)
