"""How numbers read on the dashboards: one place, so tests can format the same way."""

from __future__ import annotations

import math

CURRENCY = "$"


def _missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None, decimals: int = 2) -> str:
    """``$1,234.56``; a dash for no value."""
    if _missing(value):
        return "–"
    sign = "-" if value < 0 else ""
    return f"{sign}{CURRENCY}{abs(value):,.{decimals}f}"


def money_short(value: float | None) -> str:
    """``$7.62M``, ``$76.2K``, ``$812``: big amounts that must fit a KPI tile."""
    if _missing(value):
        return "–"
    size = abs(value)
    if size >= 1_000_000:
        return money(value / 1_000_000) + "M"
    if size >= 10_000:
        return money(value / 1_000, decimals=1) + "K"
    return money(value, decimals=0)


def count(value: float | int | None) -> str:
    """``12,345``; a dash for no value."""
    if _missing(value):
        return "–"
    return f"{round(value):,}"


def percent(value: float | None, decimals: int = 1, signed: bool = False) -> str:
    """``12.3%`` from a value already in percent (``+12.3%`` with ``signed``)."""
    if _missing(value):
        return "–"
    return f"{value:+,.{decimals}f}%" if signed else f"{value:,.{decimals}f}%"


def change(current: float | None, previous: float | None) -> str | None:
    """Relative change as ``+12.3%``, or None when there is nothing to compare with."""
    if _missing(current) or _missing(previous) or previous == 0:
        return None
    return percent((current - previous) / abs(previous) * 100, signed=True)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None for an empty denominator."""
    if _missing(numerator) or _missing(denominator) or denominator == 0:
        return None
    return numerator / denominator
