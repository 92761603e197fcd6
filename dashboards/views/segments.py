"""RFM segments: sizes, revenue share, recency x frequency heatmap, customers with CSV."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, queries, selection
from dashboards import formatting as fmt
from dashboards.columns import key_column, say_not_carried

ROW_LIMITS = (100, 1_000, 10_000)

current = selection.current()
st.title("RFM segments")
st.caption(
    "Customers with at least one recognized order, scored 1–5 on recency, frequency and "
    "monetary value as of the last refresh (customer_segments). The date range does not "
    "apply here."
)


def segments_param(chosen: list[str] | None, every: list[str] | None) -> list[str]:
    """The segments filter as the query takes it: empty for every segment."""
    if not chosen or (every is not None and set(chosen) >= set(every)):
        return []
    return sorted(chosen)


# Every figure's query side by side, the customer table with the filters of the last run.
summary, grid, tiers, _, tier_probe = current.fetch_many(
    (queries.SEGMENT_SUMMARY, {}),
    (queries.RFM_GRID, {}),
    (queries.SEGMENT_TIERS, {}),
    (
        queries.SEGMENT_CUSTOMERS,
        {
            "segments": segments_param(
                st.session_state.get("rfm_segments"), st.session_state.get("rfm_every_segment")
            ),
            "limit": st.session_state.get("rfm_rows", ROW_LIMITS[1]),
        },
    ),
    (queries.SEGMENTS_CARRIED, {}),
)
if summary.empty:
    st.info("No segmented customers yet.")
    st.stop()

# Ties in revenue ordered by name in pandas: engines (and collations) order text differently.
summary = summary.sort_values(["revenue", "segment"], ascending=[False, True], ignore_index=True)
customers_total = summary["customers"].sum()
# Averages from exact sums here: the engines' avg() round differently.
summary["avg_recency_days"] = summary["recency_days_sum"] / summary["customers"]
summary["avg_frequency"] = summary["frequency_sum"] / summary["customers"]
summary["avg_monetary"] = summary["revenue"] / summary["customers"]
revenue_total = summary["revenue"].sum()
summary["customer_share_pct"] = summary["customers"] / customers_total * 100
summary["revenue_share_pct"] = summary["revenue"] / revenue_total * 100 if revenue_total else 0.0
top = summary.iloc[0]

first, second, third = st.columns(3)
first.metric("Segmented customers", fmt.count(customers_total), border=True)
second.metric("Revenue (all time)", fmt.money(revenue_total, decimals=0), border=True)
third.metric(
    "Top segment by revenue",
    str(top["segment"]),
    delta=f"{fmt.percent(top['revenue_share_pct'])} of revenue",
    delta_color="off",
    delta_arrow="off",
    border=True,
)

left, right = st.columns(2)
with left:
    st.subheader("Segment sizes")
    st.altair_chart(charts.segment_sizes(summary), width="stretch")
with right:
    st.subheader("Share of revenue")
    st.altair_chart(charts.segment_revenue_share(summary), width="stretch")

st.dataframe(
    summary[["segment", "customers", "customer_share_pct", "revenue", "revenue_share_pct",
             "avg_recency_days", "avg_frequency", "avg_monetary"]],
    hide_index=True,
    placeholder="–",
    column_config={
        "segment": "Segment",
        "customers": st.column_config.NumberColumn("Customers", format="localized"),
        "customer_share_pct": st.column_config.NumberColumn("Customers %", format="%.1f%%"),
        "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
        "revenue_share_pct": st.column_config.NumberColumn("Revenue %", format="%.1f%%"),
        "avg_recency_days": st.column_config.NumberColumn("Avg. days since order", format="%.0f"),
        "avg_frequency": st.column_config.NumberColumn("Avg. orders", format="%.1f"),
        "avg_monetary": st.column_config.NumberColumn("Avg. revenue", format="dollar"),
    },
)  # fmt: skip

st.subheader("Recency × frequency")
st.altair_chart(charts.rfm_heatmap(grid), width="stretch")
st.caption("Customers per recency and frequency score; top right are the best customers.")

st.subheader("Segments by loyalty tier")
if fmt.not_carried_columns(tier_probe):
    # A shop without loyalty tiers (tier NULL in every row): said, not drawn empty.
    say_not_carried(["tier"], {"tier": "Loyalty tier"})
else:
    st.altair_chart(charts.tier_segments(tiers), width="stretch")
    # Text order in pandas, not SQL: engines (and PostgreSQL collations) order text differently.
    by_tier = (
        tiers.pivot_table(
            index="tier", columns="segment", values="customers", fill_value=0, aggfunc="sum"
        )
        .reindex(index=[t for t in charts.TIERS if t in set(tiers["tier"])])
        .reindex(
            columns=[s for s in charts.SEGMENT_COLORS if s in set(tiers["segment"])], fill_value=0
        )
        .astype(int)
    )
    tier_revenue = tiers.groupby("tier")["revenue"].sum()
    by_tier.insert(0, "Customers", by_tier.sum(axis=1))
    by_tier.insert(1, "Revenue", tier_revenue.reindex(by_tier.index).fillna(0.0))
    st.dataframe(
        by_tier.rename_axis(index="Tier", columns=None).reset_index(),
        hide_index=True,
        column_config={
            "Customers": st.column_config.NumberColumn("Customers", format="localized"),
            "Revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
        },
    )
    st.caption(
        "Customers of each loyalty tier (as the shop holds it today) per RFM segment: "
        "whether the tiers reward the customers who buy most, and who is slipping away."
    )

st.subheader("Customers")
segments = summary["segment"].tolist()
pick, size = st.columns([3, 1])
chosen = pick.multiselect("Segments", segments, default=segments, key="rfm_segments")
limit = size.selectbox(
    "Rows", ROW_LIMITS, index=1, format_func=fmt.count, key="rfm_rows",
    help="Customers with the highest revenue first.",
)  # fmt: skip
st.session_state["rfm_every_segment"] = segments
customers = current.fetch(
    queries.SEGMENT_CUSTOMERS, segments=segments_param(chosen, segments), limit=limit
)
in_segments = int(summary.loc[summary["segment"].isin(chosen or segments), "customers"].sum())
st.caption(
    f"{fmt.count(len(customers))} of {fmt.count(in_segments)} customers in the chosen "
    "segments, highest revenue first."
)
st.dataframe(
    customers,
    hide_index=True,
    placeholder="–",
    column_config={
        "customer_id": key_column("Customer", customers["customer_id"]),
        "segment": "Segment",
        "rfm_score": "RFM",
        "recency_days": st.column_config.NumberColumn("Days since order", format="localized"),
        "frequency": st.column_config.NumberColumn("Orders", format="localized"),
        "monetary": st.column_config.NumberColumn("Revenue", format="dollar"),
        "first_order_date": st.column_config.DateColumn("First order"),
        "last_order_date": st.column_config.DateColumn("Last order"),
        "avg_order_value": st.column_config.NumberColumn("Average order", format="dollar"),
        "items_purchased": st.column_config.NumberColumn("Items", format="localized"),
    },
)
export = customers.copy()
for column in ("first_order_date", "last_order_date"):
    export[column] = export[column].dt.date
st.download_button(
    "Download these customers as CSV",
    export.to_csv(index=False).encode(),
    file_name=f"customer_segments_{current.engine}.csv",
    mime="text/csv",
    icon=":material/download:",
)
