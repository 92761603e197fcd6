"""The freshness banner: when the marts were last published, and how the last refresh went.

Reads the refresh log the publish step writes (``meta.refresh_log`` in both engines,
one row per refresh). No log yet is not an error: the banner says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from dashboards import data, queries
from dashboards.data import ENGINE_LABELS, Engine, MartsNotPublished, QueryFailed


@dataclass(frozen=True)
class Refresh:
    """One refresh as the log recorded it."""

    refreshed_at: dt.datetime
    mode: str
    gates_passed: bool
    published: tuple[str, ...]
    failures: tuple[str, ...]


@dataclass(frozen=True)
class Freshness:
    """The newest refresh, and the newest one that published marts (often the same)."""

    latest: Refresh | None
    last_published: Refresh | None


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
    return tuple(str(part) for part in value)


def _refresh(row: pd.Series) -> Refresh:
    return Refresh(
        refreshed_at=pd.Timestamp(row["refreshed_at"]).to_pydatetime(),
        mode=str(row.get("mode", "") or ""),
        gates_passed=bool(row.get("gates_passed", False)),
        published=_as_tuple(row.get("marts_published")),
        failures=_as_tuple(row.get("failing_expectations")),
    )


def read(engine: Engine) -> Freshness:
    """The engine's refresh log, summarised; empty when nothing was recorded yet."""
    try:
        log = data.fetch(engine, queries.LATEST_REFRESHES)
    except MartsNotPublished:
        return Freshness(None, None)
    refreshes = [_refresh(row) for _, row in log.iterrows()]
    latest = refreshes[0] if refreshes else None
    published = next((r for r in refreshes if r.gates_passed and r.published), None)
    return Freshness(latest, published)


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    seconds = max(0, (now - moment).total_seconds())
    if seconds < 90:
        ago = "just now"
    elif seconds < 90 * 60:
        ago = f"{seconds / 60:.0f} min ago"
    elif seconds < 36 * 3600:
        ago = f"{seconds / 3600:.0f} h ago"
    else:
        ago = f"{seconds / 86400:.0f} days ago"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({ago})"


def banner(engine: Engine, now: dt.datetime | None = None) -> Freshness | None:
    """Draw the banner on top of the page and return what it showed (None: log unreadable)."""
    try:
        freshness = read(engine)
    except QueryFailed as error:
        # The log is a courtesy: never let it hide the marts themselves.
        st.warning(f"Could not read the refresh log: {error}", icon=":material/history:")
        return None
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    label = ENGINE_LABELS[engine]
    latest, published = freshness.latest, freshness.last_published
    if latest is None:
        st.info(
            f"No refresh recorded yet on {label}: these marts were not published by a "
            "gated refresh.",
            icon=":material/history:",
        )
    elif latest.gates_passed:
        marts = ", ".join(latest.published) if latest.published else "no marts"
        st.success(
            f"Marts published {_when(latest.refreshed_at, now)} by the {latest.mode} refresh; "
            f"all gates passed. Published: {marts}.",
            icon=":material/verified:",
        )
    else:
        failing = "; ".join(latest.failures[:5]) or "see the Dagster run"
        if len(latest.failures) > 5:
            failing += f"; and {len(latest.failures) - 5} more"
        shown = (
            f"The marts shown were published {_when(published.refreshed_at, now)}."
            if published
            else "No refresh has published marts yet."
        )
        st.warning(
            f"The last refresh ({latest.mode}, {_when(latest.refreshed_at, now)}) failed its "
            f"gates, so it published nothing. Failing: {failing}. {shown}",
            icon=":material/gpp_maybe:",
        )
    return freshness
