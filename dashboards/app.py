"""The analysts' dashboards: the published marts as pictures, from either engine.

Run with ``make dashboards`` (``streamlit run dashboards/app.py``). This entry script
draws the sidebar (pages, engine switch, date range), the freshness banner, and then
the chosen page; it turns an engine that is down or marts that are missing or empty
into a message instead of a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import streamlit as st

from core.errors import ShopmartsError
from dashboards import data, freshness, queries, selection
from dashboards.data import ENGINE_LABELS, EngineUnavailable, MartsNotPublished, QueryFailed


def main() -> None:
    st.set_page_config(
        page_title="shopmarts dashboards", page_icon=":material/insights:", layout="wide"
    )
    # Page paths are relative to this script, as st.Page resolves them.
    navigation = st.navigation(
        [
            st.Page(
                "views/overview.py", title="Overview", icon=":material/dashboard:", default=True
            ),
            st.Page("views/trends.py", title="Revenue trends", icon=":material/trending_up:"),
            st.Page("views/segments.py", title="RFM segments", icon=":material/groups:"),
            st.Page("views/products.py", title="Products & categories", icon=":material/category:"),
            st.Page("views/inventory.py", title="Inventory alerts", icon=":material/inventory_2:"),
            st.Page("views/promotions.py", title="Promotions", icon=":material/sell:"),
        ]
    )
    engine = engine_switch()
    try:
        current = date_range(engine)
        if current is None:
            return
        selection.store(current)
        freshness.banner(engine)
        navigation.run()
    except EngineUnavailable as error:
        st.error(
            f"**{ENGINE_LABELS[engine]} is not available.** {error}\n\n"
            "Switch to the other engine in the sidebar, or start the engines and press Reload.",
            icon=":material/cloud_off:",
        )
    except MartsNotPublished as error:
        st.warning(
            f"**The marts are not published on {ENGINE_LABELS[engine]} yet.** Run a refresh "
            "(`shopmarts refresh --mode nightly`) and press Reload.\n\n"
            f"{ENGINE_LABELS[engine]} said: {error}",
            icon=":material/hourglass_empty:",
        )
        # What the last refresh did may explain it (a failed gate publishes nothing).
        with contextlib.suppress(ShopmartsError):
            freshness.banner(engine)
    except QueryFailed as error:
        st.error(
            f"**A query on {ENGINE_LABELS[engine]} failed.** {error}\n\n"
            "The published marts may not match what the dashboards expect (docs/design.md, Marts).",
            icon=":material/error:",
        )


def engine_switch() -> data.Engine:
    """The engine radio; ``?engine=clickhouse`` in the URL preselects it."""
    if "engine" not in st.session_state:
        wanted = st.query_params.get("engine", "postgres")
        st.session_state["engine"] = wanted if wanted in ENGINE_LABELS else "postgres"
    engine: data.Engine = st.sidebar.radio(
        "Engine",
        options=list(ENGINE_LABELS),
        format_func=ENGINE_LABELS.__getitem__,
        key="engine",
        horizontal=True,
        help="Both engines publish the same marts, row for row.",
    )
    if st.sidebar.button("Reload", icon=":material/refresh:", help="Ask the engine again"):
        data.clear_cache()
    return engine


def date_range(engine: data.Engine) -> selection.Selection | None:
    """The date filter, bounded by the dates ``daily_sales`` holds; None when it is empty."""
    # Every page needs the date bounds and the refresh log: ask for both at once. A
    # failure here is raised again, with its message, by the query that needs the answer.
    with contextlib.suppress(ShopmartsError):
        data.side_by_side(
            [
                lambda: data.fetch(engine, queries.SALES_DATE_RANGE),
                lambda: data.fetch_optional(engine, queries.LATEST_REFRESHES),
            ]
        )
    bounds = data.fetch(engine, queries.SALES_DATE_RANGE)
    if bounds.empty or not int(bounds["days"].iloc[0]):
        st.info(
            f"**The marts on {ENGINE_LABELS[engine]} are empty.** They are published but hold "
            "no recognized orders yet: generate a shop (`shopmarts generate`) and run a "
            "refresh (`shopmarts refresh --mode nightly`).",
            icon=":material/inbox:",
        )
        freshness.banner(engine)
        return None
    first: dt.date = bounds["first_date"].iloc[0].date()
    last: dt.date = bounds["last_date"].iloc[0].date()
    default = (max(first, last - dt.timedelta(days=selection.DEFAULT_DAYS - 1)), last)
    chosen = st.session_state.get("date_range")
    if not chosen or any(day < first or day > last for day in chosen):
        st.session_state["date_range"] = default
    picked = st.sidebar.date_input(
        "Date range",
        min_value=first,
        max_value=last,
        key="date_range",
        format="YYYY-MM-DD",
        help="Filters the overview and the revenue trends. Segments, products and "
        "inventory are snapshots as of the last refresh.",
    )
    # A range shows as a tuple; while the analyst is picking it holds the start only.
    ends = list(picked) if isinstance(picked, tuple) else [picked] if picked else []
    start, end = (ends[0], ends[-1]) if ends else default
    st.sidebar.caption(f"The marts hold {first:%d %b %Y} – {last:%d %b %Y}.")
    return selection.Selection(engine, start, end, first, last)


main()
