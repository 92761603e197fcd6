"""The overview's KPIs for a period and the period before it, from the published marts."""

from __future__ import annotations

from dataclasses import dataclass

from dashboards import formatting as fmt
from dashboards import queries
from dashboards.selection import Selection


@dataclass(frozen=True)
class Kpi:
    """One headline number for the period, the same number for the previous period."""

    label: str
    current: float | None
    previous: float | None
    display: str
    help: str
    # False when the marts cannot give the previous period's figure on the same footing.
    comparable: bool = True


def period_kpis(selection: Selection) -> list[Kpi]:
    """Revenue, orders, average order value, active and new customers, with the period before."""
    params = selection.period_params()
    totals = selection.fetch(queries.PERIOD_TOTALS, **params).set_index("period")
    active = selection.fetch(queries.ACTIVE_CUSTOMERS, **params)

    def total(period: str, column: str) -> float:
        return float(totals.at[period, column]) if period in totals.index else 0.0

    revenue = (total("current", "revenue"), total("previous", "revenue"))
    orders = (total("current", "orders"), total("previous", "orders"))
    new = (total("current", "new_customers"), total("previous", "new_customers"))
    average = (fmt.ratio(revenue[0], orders[0]), fmt.ratio(revenue[1], orders[1]))
    customers = (float(active["customers"].iloc[0]), None)
    return [
        Kpi(
            "Revenue",
            *revenue,
            fmt.money_short(revenue[0]),
            "Net revenue: sum of total_amount of recognized orders (daily_sales.net_revenue).",
        ),
        Kpi("Orders", *orders, fmt.count(orders[0]), "Recognized orders (daily_sales)."),
        Kpi(
            "Average order value",
            *average,
            fmt.money(average[0]),
            "Revenue divided by orders over the period.",
        ),
        Kpi(
            "Active customers",
            *customers,
            fmt.count(customers[0]),
            "Customers whose recognized orders span the period (first order before its end, "
            "last order after its start; customer_analytics). Exact for a period that ends on "
            "the newest date; for older periods it also counts customers who ordered before "
            "and after it. No change is shown: the marts keep no customer-by-day figures, so "
            "the previous period cannot be counted the same way.",
            comparable=False,
        ),
        Kpi(
            "New customers",
            *new,
            fmt.count(new[0]),
            "Customers whose first recognized order falls in the period (daily_sales).",
        ),
    ]
