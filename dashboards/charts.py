"""Altair charts for the pages: each takes the DataFrame of one query and returns a chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

REVENUE_COLOR = "#4C78A8"
AVERAGE_COLOR = "#F58518"
GROWTH_UP = "#54A24B"
GROWTH_DOWN = "#E45756"
STOCK_COLORS = {
    "out_of_stock": "#E45756",
    "low": "#F2A33A",
    "ok": "#54A24B",
    "overstock": "#4C78A8",
}
# The RFM segments from best to worst, green to red, so every chart colours them alike.
SEGMENT_COLORS = {
    "Champions": "#1A7F37",
    "Loyal Customers": "#54A24B",
    "Potential Loyalists": "#88D27A",
    "New Customers": "#4C78A8",
    "Promising": "#9ECAE9",
    "Need Attention": "#EECA3B",
    "About To Sleep": "#F2A33A",
    "At Risk": "#F58518",
    "Cannot Lose Them": "#E45756",
    "Hibernating": "#B279A2",
    "Lost": "#9D755D",
}
COVER_BANDS = (
    "out of stock",
    "under 7 days",
    "7 to 14 days",
    "14 to 30 days",
    "30 days or more",
    "no sales in 30 days",
)
STOCK_LABELS = {
    "out_of_stock": "Out of stock",
    "low": "Low",
    "ok": "OK",
    "overstock": "Overstock",
}


def daily_revenue(daily: pd.DataFrame, height: int = 280) -> alt.Chart:
    """Net revenue per day as an area, with its 7-day moving average as a line."""
    frame = daily[["sales_date", "net_revenue", "orders_count"]].copy()
    frame["average_7d"] = frame["net_revenue"].rolling(7, min_periods=1).mean()
    base = alt.Chart(frame).encode(x=alt.X("sales_date:T", title=None))
    area = base.mark_area(color=REVENUE_COLOR, opacity=0.35, line={"color": REVENUE_COLOR}).encode(
        y=alt.Y("net_revenue:Q", title="Net revenue", axis=alt.Axis(format="$,.0f")),
        tooltip=[
            alt.Tooltip("sales_date:T", title="Date"),
            alt.Tooltip("net_revenue:Q", title="Net revenue", format="$,.2f"),
            alt.Tooltip("orders_count:Q", title="Orders", format=","),
            alt.Tooltip("average_7d:Q", title="7-day average", format="$,.2f"),
        ],
    )
    line = base.mark_line(color=AVERAGE_COLOR, strokeWidth=2).encode(y="average_7d:Q")
    return (area + line).properties(height=height)


def daily_orders(daily: pd.DataFrame, height: int = 220) -> alt.Chart:
    """Orders per day as bars, new customers as a line."""
    base = alt.Chart(daily).encode(x=alt.X("sales_date:T", title=None))
    bars = base.mark_bar(color=REVENUE_COLOR, opacity=0.8).encode(
        y=alt.Y("orders_count:Q", title="Orders / new customers"),
        tooltip=[
            alt.Tooltip("sales_date:T", title="Date"),
            alt.Tooltip("orders_count:Q", title="Orders", format=","),
            alt.Tooltip("unique_customers:Q", title="Customers", format=","),
            alt.Tooltip("new_customers:Q", title="New customers", format=","),
        ],
    )
    line = base.mark_line(color=AVERAGE_COLOR, point=True).encode(y="new_customers:Q")
    return (bars + line).properties(height=height)


def monthly_revenue(monthly: pd.DataFrame, height: int = 280) -> alt.Chart:
    """Revenue per month as bars, labelled with month-over-month growth."""
    frame = monthly.copy()
    frame["growth_label"] = frame["mom_growth_pct"].map(
        lambda v: "" if pd.isna(v) else f"{v:+.1f}%"
    )
    base = alt.Chart(frame).encode(x=alt.X("yearmonth(month_start):O", title=None))
    bars = base.mark_bar(color=REVENUE_COLOR).encode(
        y=alt.Y("revenue:Q", title="Revenue", axis=alt.Axis(format="$,.0f")),
        tooltip=[
            alt.Tooltip("yearmonth(month_start):T", title="Month"),
            alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
            alt.Tooltip("orders_count:Q", title="Orders", format=","),
            alt.Tooltip("customers_count:Q", title="Customers", format=","),
            alt.Tooltip("avg_order_value:Q", title="Average order", format="$,.2f"),
            alt.Tooltip("mom_growth_pct:Q", title="Growth vs. previous month %", format="+.1f"),
        ],
    )
    labels = base.mark_text(dy=-8, fontSize=12).encode(y="revenue:Q", text="growth_label:N")
    return (bars + labels).properties(height=height)


def monthly_growth(monthly: pd.DataFrame, height: int = 200) -> alt.Chart:
    """Month-over-month growth in percent, green up and red down."""
    frame = monthly.dropna(subset=["mom_growth_pct"])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(month_start):O", title=None),
            y=alt.Y("mom_growth_pct:Q", title="Growth vs. previous month (%)"),
            color=alt.condition(
                alt.datum.mom_growth_pct >= 0, alt.value(GROWTH_UP), alt.value(GROWTH_DOWN)
            ),
            tooltip=[
                alt.Tooltip("yearmonth(month_start):T", title="Month"),
                alt.Tooltip("mom_growth_pct:Q", title="Growth %", format="+.1f"),
            ],
        )
        .properties(height=height)
    )


def _segment_color(segments: pd.Series) -> alt.Color:
    known = [name for name in SEGMENT_COLORS if name in set(segments)]
    others = sorted(set(segments) - set(SEGMENT_COLORS))
    return alt.Color(
        "segment:N",
        title="Segment",
        scale=alt.Scale(
            domain=known + others,
            range=[SEGMENT_COLORS[name] for name in known] + ["#BAB0AC"] * len(others),
        ),
        sort=known + others,
    )


def segment_sizes(summary: pd.DataFrame, height: int = 300) -> alt.Chart:
    """Customers per segment, largest first."""
    return (
        alt.Chart(summary)
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", sort="-x", title=None),
            x=alt.X("customers:Q", title="Customers", axis=alt.Axis(format=",d", tickMinStep=1)),
            color=_segment_color(summary["segment"]).legend(None),
            tooltip=[
                alt.Tooltip("segment:N", title="Segment"),
                alt.Tooltip("customers:Q", title="Customers", format=","),
                alt.Tooltip("customer_share_pct:Q", title="Share of customers %", format=".1f"),
            ],
        )
        .properties(height=height)
    )


def segment_revenue_share(summary: pd.DataFrame, height: int = 300) -> alt.Chart:
    """Each segment's share of revenue as a donut."""
    return (
        alt.Chart(summary)
        .mark_arc(innerRadius=60)
        .encode(
            theta=alt.Theta("revenue:Q"),
            color=_segment_color(summary["segment"]),
            order=alt.Order("revenue:Q", sort="descending"),
            tooltip=[
                alt.Tooltip("segment:N", title="Segment"),
                alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
                alt.Tooltip("revenue_share_pct:Q", title="Share of revenue %", format=".1f"),
            ],
        )
        .properties(height=height)
    )


def rfm_heatmap(grid: pd.DataFrame, height: int = 320) -> alt.Chart:
    """Customers by recency score (x) and frequency score (y), 5 is best."""
    frame = grid.copy()
    # Light text on dark cells, dark text on light ones.
    frame["dark_cell"] = frame["customers"] > frame["customers"].max() / 2
    base = alt.Chart(frame).encode(
        x=alt.X("r_score:O", title="Recency score (5 = most recent)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("f_score:O", title="Frequency score (5 = most orders)", sort="descending"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("customers:Q", title="Customers", scale=alt.Scale(scheme="blues")),
        tooltip=[
            alt.Tooltip("r_score:O", title="Recency score"),
            alt.Tooltip("f_score:O", title="Frequency score"),
            alt.Tooltip("customers:Q", title="Customers", format=","),
            alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
        ],
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("customers:Q", format=","),
        color=alt.condition(alt.datum.dark_cell, alt.value("white"), alt.value("#262730")),
    )
    return (cells + text).properties(height=height)


def top_products(products: pd.DataFrame, step: int = 26) -> alt.Chart:
    """Revenue of the top products as horizontal bars, coloured by category."""
    return (
        alt.Chart(products)
        .mark_bar()
        .encode(
            y=alt.Y("product_name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
            x=alt.X("revenue:Q", title="Revenue", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("category_name:N", title="Category"),
            tooltip=[
                alt.Tooltip("product_name:N", title="Product"),
                alt.Tooltip("category_name:N", title="Category"),
                alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
                alt.Tooltip("units_sold:Q", title="Units sold", format=","),
                alt.Tooltip("orders_count:Q", title="Orders", format=","),
                alt.Tooltip("avg_rating:Q", title="Average rating", format=".2f"),
            ],
        )
        .properties(height=alt.Step(step))
    )


def category_revenue(categories: pd.DataFrame, step: int = 30) -> alt.Chart:
    """Revenue per category with its share of all revenue as a label."""
    frame = categories.copy()
    frame["share_label"] = frame["revenue_share"].map(
        lambda v: "" if pd.isna(v) else f"{v * 100:.1f}%"
    )
    base = alt.Chart(frame).encode(
        y=alt.Y("category_name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X("revenue:Q", title="Revenue", axis=alt.Axis(format="$,.0f")),
    )
    bars = base.mark_bar(color=REVENUE_COLOR).encode(
        tooltip=[
            alt.Tooltip("category_name:N", title="Category"),
            alt.Tooltip("parent_category_name:N", title="Parent"),
            alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
            alt.Tooltip("units_sold:Q", title="Units sold", format=","),
            alt.Tooltip("products_count:Q", title="Products", format=","),
        ]
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11).encode(text="share_label:N")
    return (bars + labels).properties(height=alt.Step(step))


def stock_by_warehouse(stock: pd.DataFrame, height: int | None = None) -> alt.Chart:
    """Items per warehouse stacked by stock status."""
    frame = stock.copy()
    frame["status"] = frame["stock_status"].map(lambda s: STOCK_LABELS.get(s, s))
    order = [STOCK_LABELS[s] for s in STOCK_COLORS]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("warehouse_code:N", title=None),
            x=alt.X("items:Q", title="Product × warehouse items", stack="normalize",
                    axis=alt.Axis(format="%")),
            color=alt.Color(
                "status:N",
                title="Stock",
                scale=alt.Scale(domain=order, range=list(STOCK_COLORS.values())),
                sort=order,
            ),
            order=alt.Order("status_order:Q"),
            tooltip=[
                alt.Tooltip("warehouse_code:N", title="Warehouse"),
                alt.Tooltip("status:N", title="Stock"),
                alt.Tooltip("items:Q", title="Items", format=","),
            ],
        )
        .transform_calculate(
            status_order=" + ".join(
                f"(datum.status == '{label}' ? {i} : 0)" for i, label in enumerate(order)
            )
        )
        .properties(height=height or max(120, 40 * frame["warehouse_code"].nunique()))
    )  # fmt: skip


def days_of_cover(bands: pd.DataFrame, height: int = 240) -> alt.Chart:
    """Items out of stock or low per band of days of cover, one colour per warehouse."""
    return (
        alt.Chart(bands)
        .mark_bar()
        .encode(
            x=alt.X("cover_band:N", sort=list(COVER_BANDS), title="Days of cover",
                    axis=alt.Axis(labelAngle=0)),
            y=alt.Y("items:Q", title="Items", axis=alt.Axis(format=",d", tickMinStep=1)),
            color=alt.Color("warehouse_code:N", title="Warehouse"),
            xOffset=alt.XOffset("warehouse_code:N"),
            tooltip=[
                alt.Tooltip("warehouse_code:N", title="Warehouse"),
                alt.Tooltip("cover_band:N", title="Days of cover"),
                alt.Tooltip("items:Q", title="Items", format=","),
            ],
        )
        .properties(height=height)
    )  # fmt: skip


def promotion_revenue(promotions: pd.DataFrame, step: int = 26) -> alt.Chart:
    """Revenue of the recognized orders carrying each promotion, as horizontal bars."""
    return (
        alt.Chart(promotions)
        .mark_bar(color=REVENUE_COLOR)
        .encode(
            y=alt.Y("code:N", sort="-x", title=None, axis=alt.Axis(labelLimit=180)),
            x=alt.X("revenue:Q", title="Revenue", axis=alt.Axis(format="$,.0f")),
            tooltip=[
                alt.Tooltip("code:N", title="Code"),
                alt.Tooltip("name:N", title="Name"),
                alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
                alt.Tooltip("orders_count:Q", title="Orders", format=","),
                alt.Tooltip("redemptions:Q", title="Redemptions", format=","),
                alt.Tooltip("discount_total:Q", title="Discounts", format="$,.2f"),
            ],
        )
        .properties(height=alt.Step(step))
    )


def promotion_order_values(promotions: pd.DataFrame, step: int = 13) -> alt.Chart:
    """Average order value with each promotion next to that of orders without any."""
    frame = promotions[["code", "revenue", "avg_order_value", "avg_order_value_without"]].melt(
        id_vars=["code", "revenue"],
        value_vars=["avg_order_value", "avg_order_value_without"],
        var_name="orders",
        value_name="value",
    )
    labels = {
        "avg_order_value": "with the promotion",
        "avg_order_value_without": "without any promotion",
    }
    frame["orders"] = frame["orders"].map(labels)
    order = list(labels.values())
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("code:N", sort=alt.EncodingSortField("revenue", order="descending"),
                    title=None, axis=alt.Axis(labelLimit=180)),
            yOffset=alt.YOffset("orders:N", sort=order),
            x=alt.X("value:Q", title="Average order value", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("orders:N", title="Orders",
                            scale=alt.Scale(domain=order, range=[REVENUE_COLOR, AVERAGE_COLOR])),
            tooltip=[
                alt.Tooltip("code:N", title="Code"),
                alt.Tooltip("orders:N", title="Orders"),
                alt.Tooltip("value:Q", title="Average order value", format="$,.2f"),
            ],
        )
        .properties(height=alt.Step(step))
    )  # fmt: skip


TIERS = ("platinum", "gold", "silver", "bronze")


def tier_segments(tiers: pd.DataFrame, height: int = 220) -> alt.Chart:
    """Customers per loyalty tier (rows) and RFM segment (columns)."""
    frame = tiers.copy()
    frame["dark_cell"] = frame["customers"] > frame["customers"].max() / 2
    base = alt.Chart(frame).encode(
        x=alt.X("segment:N", title=None, sort=list(SEGMENT_COLORS),
                axis=alt.Axis(labelAngle=-30, labelLimit=140)),
        y=alt.Y("tier:N", title="Tier", sort=list(TIERS)),
    )  # fmt: skip
    cells = base.mark_rect().encode(
        color=alt.Color("customers:Q", title="Customers", scale=alt.Scale(scheme="greens")),
        tooltip=[
            alt.Tooltip("tier:N", title="Tier"),
            alt.Tooltip("segment:N", title="Segment"),
            alt.Tooltip("customers:Q", title="Customers", format=","),
            alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("customers:Q", format=","),
        color=alt.condition(alt.datum.dark_cell, alt.value("white"), alt.value("#262730")),
    )
    return (cells + text).properties(height=height)
