"""How numbers read on the dashboards: one place, so tests can format the same way."""

from __future__ import annotations

import math

import pandas as pd

CURRENCY = "$"
MISSING = "–"
# A mart column the shop's schema has no source for: NULL in every row, never a 0.
NOT_CARRIED = "not carried by this shop's schema"


def money(value: float | None, decimals: int = 2) -> str:
    """``$1,234.56``; a dash for no value."""
    if value is None or math.isnan(value):
        return MISSING
    sign = "-" if value < 0 else ""
    return f"{sign}{CURRENCY}{abs(value):,.{decimals}f}"


def money_short(value: float | None) -> str:
    """``$7.62M``, ``$76.2K``, ``$812``: big amounts that must fit a KPI tile."""
    if value is None or math.isnan(value):
        return MISSING
    size = abs(value)
    if size >= 1_000_000:
        return money(value / 1_000_000) + "M"
    if size >= 10_000:
        return money(value / 1_000, decimals=1) + "K"
    return money(value, decimals=0)


def count(value: float | None) -> str:
    """``12,345``; a dash for no value."""
    if value is None or math.isnan(value):
        return MISSING
    return f"{round(value):,}"


def percent(value: float | None, decimals: int = 1, signed: bool = False) -> str:
    """``12.3%`` from a value already in percent (``+12.3%`` with ``signed``)."""
    if value is None or math.isnan(value):
        return MISSING
    return f"{value:+,.{decimals}f}%" if signed else f"{value:,.{decimals}f}%"


def change(current: float | None, previous: float | None) -> str | None:
    """Relative change as ``+12.3%``, or None when there is nothing to compare with."""
    if current is None or previous is None or math.isnan(current) or math.isnan(previous):
        return None
    if previous == 0:
        return None
    return percent((current - previous) / abs(previous) * 100, signed=True)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None for an empty denominator."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    if math.isnan(numerator) or math.isnan(denominator):
        return None
    return numerator / denominator


def not_carried_columns(probe: pd.DataFrame) -> list[str]:
    """The columns a ``queries.carried`` probe found NULL in every row of a mart that has
    rows (none for an empty mart: nothing to say of its columns)."""
    if probe.empty or not int(probe["rows_"].iloc[0]):
        return []
    return [c for c in probe.columns if c != "rows_" and not int(probe[c].iloc[0])]


def not_carried_note(labels: list[str]) -> str:
    """``Cost of goods, Gross margin: not carried by this shop's schema.``"""
    return f"{', '.join(labels)}: {NOT_CARRIED}."
