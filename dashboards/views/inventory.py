"""Inventory alerts: out-of-stock and low items, days of cover, by warehouse."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, queries, selection
from dashboards import formatting as fmt
from dashboards.columns import key_column, say_not_carried

ALL_WAREHOUSES = "All warehouses"
ALERT_ROWS = 1_000

current = selection.current()
st.title("Inventory alerts")
st.caption(
    "Stock per product and warehouse as of the last refresh (inventory_status). Days of cover "
    "is stock available divided by the average units sold per day over the last 30 days. "
    "Suggested order: at or below the reorder point, the larger of the reorder quantity and "
    "the last 30 days' sales minus what is available. The date range does not apply here."
)


def warehouse_param(warehouse: str) -> str:
    return "" if warehouse == ALL_WAREHOUSES else warehouse


# Every figure's query side by side, the table with the warehouse of the last run.
stock, bands, _, reserved_probe = current.fetch_many(
    (queries.STOCK_BY_WAREHOUSE, {}),
    (queries.COVER_BANDS, {}),
    (
        queries.STOCK_ALERTS,
        {
            "warehouse": warehouse_param(st.session_state.get("warehouse", ALL_WAREHOUSES)),
            "limit": ALERT_ROWS,
        },
    ),
    (queries.INVENTORY_CARRIED, {}),
)
if stock.empty:
    st.info("No inventory recorded.")
    st.stop()
# Text order in pandas, not SQL: engines (and PostgreSQL collations) order text differently.
stock = stock.sort_values(["warehouse_code", "stock_status"], ignore_index=True)
bands = bands.sort_values(["warehouse_code", "cover_band"], ignore_index=True)

totals = stock.groupby("stock_status")["items"].sum()
tiles = st.columns(4)
for tile, status in zip(tiles, charts.STOCK_COLORS, strict=True):
    share = totals.get(status, 0) / totals.sum() * 100
    tile.metric(
        charts.STOCK_LABELS[status],
        fmt.count(totals.get(status, 0)),
        delta=f"{fmt.percent(share)} of items",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )

st.subheader("Stock status by warehouse")
st.altair_chart(charts.stock_by_warehouse(stock), width="stretch")
by_warehouse = (
    stock.pivot_table(index="warehouse_code", columns="stock_status", values="items", fill_value=0)
    .reindex(columns=list(charts.STOCK_COLORS), fill_value=0)
    .astype(int)
    .rename(columns=charts.STOCK_LABELS)
    .rename_axis(index="Warehouse", columns=None)
    .reset_index()
)
st.dataframe(
    by_warehouse,
    hide_index=True,
    column_config={
        label: st.column_config.NumberColumn(label, format="localized")
        for label in charts.STOCK_LABELS.values()
    },
)

st.subheader("Items to reorder")
warehouses = sorted(stock["warehouse_code"].unique())
warehouse = st.selectbox("Warehouse", [ALL_WAREHOUSES, *warehouses], key="warehouse")
alerts = current.fetch(queries.STOCK_ALERTS, warehouse=warehouse_param(warehouse), limit=ALERT_ROWS)
if alerts.empty:
    st.success("Nothing is out of stock or low.")
    st.stop()

st.altair_chart(charts.days_of_cover(bands), width="stretch")
st.caption("Items out of stock or low, by how many days their available stock lasts.")
in_scope = stock[stock["stock_status"].isin(["out_of_stock", "low"])]
if warehouse != ALL_WAREHOUSES:
    in_scope = in_scope[in_scope["warehouse_code"] == warehouse]
total_alerts = int(in_scope["items"].sum())
st.caption(
    f"{fmt.count(total_alerts)} items out of stock or low"
    + (f"; the {fmt.count(len(alerts))} most urgent" if len(alerts) < total_alerts else "")
    + ": out of stock first, then the fewest days of cover."
)
# A shop that keeps no reserved units (NULL in every row): the column is said so.
missing = fmt.not_carried_columns(reserved_probe)
st.dataframe(
    alerts.assign(stock_status=alerts["stock_status"].map(charts.STOCK_LABELS)).drop(
        columns=missing
    ),
    hide_index=True,
    placeholder="–",
    column_config={
        "warehouse_code": "Warehouse",
        "product_id": key_column("Product", alerts["product_id"]),
        "product_name": "Name",
        "category_name": "Category",
        "stock_status": "Stock",
        "quantity_on_hand": st.column_config.NumberColumn("On hand", format="localized"),
        "quantity_reserved": st.column_config.NumberColumn("Reserved", format="localized"),
        "quantity_available": st.column_config.NumberColumn("Available", format="localized"),
        "reorder_point": st.column_config.NumberColumn("Reorder point", format="localized"),
        "avg_daily_units_30d": st.column_config.NumberColumn("Units/day (30 d)", format="%.2f"),
        "days_of_cover": st.column_config.NumberColumn("Days of cover", format="%.1f"),
        "reorder_quantity": st.column_config.NumberColumn("Reorder qty", format="localized"),
        "suggested_order_quantity": st.column_config.NumberColumn(
            "Suggested order", format="localized"
        ),
    },
)
say_not_carried(missing, {"quantity_reserved": "Reserved"})
