"""The freshness banner: when the marts were last published, and how the last refresh went.

Reads the refresh log (``meta.refresh_log`` in both engines, one row per refresh) that
the gates, the publish step and the refresh jobs' sensors write: status ``published``,
``gate_failed`` (nothing published), ``publish_failed`` (validated, but the swap did not
happen) or ``failed`` (the run ended before a gate decided: an extract or dbt error, a
killed or terminated run). No log yet is not an error: the banner says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from dashboards import data, queries
from dashboards.data import ENGINE_LABELS, Engine, QueryFailed

PUBLISHED = "published"
GATE_FAILED = "gate_failed"
PUBLISH_FAILED = "publish_failed"
FAILED = "failed"
SHOWN_FAILURES = 5


@dataclass(frozen=True)
class Refresh:
    """One refresh as the log recorded it."""

    run_id: str
    refreshed_at: dt.datetime
    mode: str
    status: str
    gates_passed: bool
    marts_published: tuple[str, ...]
    gates_failed: tuple[str, ...]
    failing_expectations: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class Freshness:
    """The newest refresh, and the newest one that published marts (often the same)."""

    latest: Refresh | None
    last_published: Refresh | None
    history: tuple[Refresh, ...] = ()


def _strings(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ()
    return tuple(str(part) for part in value)


def _refresh(row: pd.Series) -> Refresh:
    return Refresh(
        run_id=str(row["run_id"]),
        refreshed_at=pd.Timestamp(row["refreshed_at"]).to_pydatetime(),
        mode=str(row["mode"]),
        status=str(row["status"]),
        gates_passed=bool(row["gates_passed"]),
        marts_published=_strings(row["marts_published"]),
        gates_failed=_strings(row["gates_failed"]),
        failing_expectations=_strings(row["failing_expectations"]),
        detail=str(row["detail"] or ""),
    )


def read(engine: Engine) -> Freshness:
    """The engine's refresh log, summarised; empty when nothing was recorded yet."""
    log = data.fetch_optional(engine, queries.LATEST_REFRESHES)
    if log is None:
        return Freshness(None, None)
    refreshes = tuple(_refresh(row) for _, row in log.iterrows())
    latest = refreshes[0] if refreshes else None
    published = next((r for r in refreshes if r.status == PUBLISHED and r.marts_published), None)
    return Freshness(latest, published, refreshes)


def when(moment: dt.datetime, now: dt.datetime) -> str:
    """``2025-03-01 02:04 UTC (3 h ago)``."""
    seconds = max(0.0, (now - moment).total_seconds())
    if seconds < 90:
        ago = "just now"
    elif seconds < 90 * 60:
        ago = f"{seconds / 60:.0f} min ago"
    elif seconds < 36 * 3600:
        ago = f"{seconds / 3600:.0f} h ago"
    else:
        ago = f"{seconds / 86400:.0f} days ago"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({ago})"


def _listed(items: tuple[str, ...], limit: int = SHOWN_FAILURES) -> str:
    shown = "; ".join(items[:limit])
    return shown + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def message(freshness: Freshness, engine: Engine, now: dt.datetime) -> tuple[str, str]:
    """The banner's kind (info, success, warning) and text."""
    label = ENGINE_LABELS[engine]
    latest, published = freshness.latest, freshness.last_published
    if latest is None:
        return "info", (
            f"No refresh recorded yet on {label}: these marts were not published by a "
            "gated refresh."
        )
    if latest.status == PUBLISHED:
        return "success", (
            f"Marts published {when(latest.refreshed_at, now)} by the {latest.mode} refresh, "
            f"all gates passed: {', '.join(latest.marts_published) or 'no marts'}."
        )
    shown = (
        f"The marts shown were published {when(published.refreshed_at, now)} by the "
        f"{published.mode} refresh."
        if published
        else "No refresh has published marts yet."
    )
    if latest.status == FAILED:
        # The sensor's detail reads "<job> failed before its gates decided: <reason>".
        reason = latest.detail.split(": ", 1)[1] if ": " in latest.detail else latest.detail
        return "warning", (
            f"The last refresh ({latest.mode}, {when(latest.refreshed_at, now)}) failed "
            f"before its gates decided, so it published nothing: {reason or 'see its run'}. "
            + shown
        )
    if latest.status == GATE_FAILED:
        failing = latest.failing_expectations or latest.gates_failed
        return "warning", (
            f"The last refresh ({latest.mode}, {when(latest.refreshed_at, now)}) failed its "
            f"gates, so it published nothing. Failing: {_listed(failing) or 'see its run'}. "
            + shown
        )
    return "warning", (
        f"The last refresh ({latest.mode}, {when(latest.refreshed_at, now)}) passed its gates "
        f"but could not publish{': ' + latest.detail if latest.detail else ''}. " + shown
    )


def banner(engine: Engine, now: dt.datetime | None = None) -> Freshness | None:
    """Draw the banner on top of the page and return what it showed (None: log unreadable)."""
    try:
        freshness = read(engine)
    except QueryFailed as error:
        # The log is a courtesy: never let it hide the marts themselves.
        st.warning(f"Could not read the refresh log: {error}", icon=":material/history:")
        return None
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    kind, text = message(freshness, engine, now)
    icons = {"info": ":material/history:", "success": ":material/verified:"}
    getattr(st, kind)(text, icon=icons.get(kind, ":material/gpp_maybe:"))
    if freshness.history:
        with st.sidebar.expander("Refresh history"):
            st.dataframe(
                pd.DataFrame(
                    {
                        "refreshed_at": [r.refreshed_at for r in freshness.history[:10]],
                        "mode": [r.mode for r in freshness.history[:10]],
                        "status": [r.status.replace("_", " ") for r in freshness.history[:10]],
                    }
                ),
                hide_index=True,
                column_config={
                    "refreshed_at": st.column_config.DatetimeColumn(
                        "UTC", format="YYYY-MM-DD HH:mm"
                    ),
                    "mode": "Mode",
                    "status": "Status",
                },
            )
    return freshness
