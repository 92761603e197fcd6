"""What the analyst picked in the sidebar: the engine and the date range.

The app's entry script decides the selection once per run and stores it; every page
reads it back with :func:`current`, so pages never draw the sidebar themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from dashboards import data
from dashboards.data import Engine

_STATE_KEY = "dashboards_selection"
# The date range a session starts with: the newest days the marts hold.
DEFAULT_DAYS = 30
# The monthly trend shows at least this many months up to the end of the range.
TREND_MONTHS = 12


@dataclass(frozen=True)
class Selection:
    """An engine and an inclusive date range ``start``..``end`` (UTC calendar dates)."""

    engine: Engine
    start: dt.date
    end: dt.date
    first_date: dt.date
    last_date: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def end_next(self) -> dt.date:
        """The day after ``end``: ranges in SQL are half-open."""
        return self.end + dt.timedelta(days=1)

    @property
    def previous_start(self) -> dt.date:
        """Start of the equally long period just before this one."""
        return self.start - dt.timedelta(days=self.days)

    @property
    def previous_end(self) -> dt.date:
        return self.start - dt.timedelta(days=1)

    @property
    def month_start(self) -> dt.date:
        """First month the monthly figures show: the range's first month, or earlier so
        that at least the ``TREND_MONTHS`` months up to the range's end show."""
        last_month = self.end.replace(day=1)
        months_back = last_month.year * 12 + last_month.month - 1 - (TREND_MONTHS - 1)
        earliest = dt.date(months_back // 12, months_back % 12 + 1, 1)
        return min(self.start.replace(day=1), earliest)

    def period_params(self) -> dict[str, Any]:
        """Query parameters for the date range (and the period before it)."""
        return {
            "start": self.start,
            "end_next": self.end_next,
            "previous_start": self.previous_start,
            "month_start": self.month_start,
        }

    def fetch(self, query: Any, **params: Any) -> pd.DataFrame:
        """Run ``query`` on the selected engine, cached per engine, URL and parameters."""
        return data.fetch(self.engine, query, **params)

    def fetch_many(self, *requests: tuple[Any, dict[str, Any]]) -> list[pd.DataFrame]:
        """Run every ``(query, params)`` on the selected engine side by side, cached."""
        return data.fetch_many(self.engine, requests)

    def describe(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y} ({self.days} days)"


def store(selection: Selection) -> None:
    st.session_state[_STATE_KEY] = selection


def current() -> Selection:
    """The selection the entry script stored for this run."""
    selection = st.session_state.get(_STATE_KEY)
    if selection is None:  # a page opened without the entry script: never in the app
        st.error("Open the dashboards through `dashboards/app.py`.")
        st.stop()
    return selection
