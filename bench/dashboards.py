"""Time each dashboard page's queries on both engines against the published marts.

    .venv/bin/python -m bench.dashboards              # the running stack's published marts
    .venv/bin/python -m bench.dashboards --scale 20   # build a scale-20 shop first

Without ``--scale`` it measures whatever the running stack (or the URLs in the
environment) publishes: refresh a scale-20 shop first for the issue's figure. With
``--scale`` it starts a throwaway stack in a temporary SHOPMARTS_HOME, generates the
shop, extracts it and builds the marts with dbt on both engines, then measures.

A page's time is what an analyst waits for on the first look after a refresh: the
queries it runs at its default settings (last 30 days, top 10 products, 1,000
customers, every warehouse), without the app's cache, on warm connections, batched as
the app batches them (the entry script's date bounds and refresh log side by side, then
the page's own queries side by side). The same queries one after another are timed too.
Each page runs ``--repeat`` times after one warm-up; medians and the slowest run are
printed with the 100 ms target.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboards.data import Engine

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Issue #18: every page's median under 100 ms on ClickHouse at scale 20.
TARGET_MS = 100.0
ENGINES: tuple[Engine, ...] = ("postgres", "clickhouse")


@dataclass
class PageTiming:
    page: str
    engine: str
    queries: int
    median_ms: float  # what the analyst waits for: the app's two batches, side by side
    max_ms: float
    sequential_median_ms: float  # the same queries one after another, for comparison
    per_query_median_ms: dict[str, float] = field(default_factory=dict)


Request = tuple[Any, dict[str, Any]]


def page_queries(last_date: dt.date) -> tuple[list[Request], dict[str, list[Request]]]:
    """What the entry script runs on every page, and what each page then runs, at the
    defaults, as dashboards/app.py and dashboards/views run them (each list side by side)."""
    from dashboards import queries as q
    from dashboards.selection import DEFAULT_DAYS, Selection

    start = last_date - dt.timedelta(days=DEFAULT_DAYS - 1)
    period = Selection("postgres", start, last_date, start, last_date).period_params()
    every_page: list[Request] = [(q.SALES_DATE_RANGE, {}), (q.LATEST_REFRESHES, {})]
    return every_page, {
        "Overview": [
            (q.PERIOD_TOTALS, period),
            (q.ACTIVE_CUSTOMERS, period),
            (q.DAILY_SALES, period),
            (q.STOCK_ALERT_COUNTS, {}),
        ],
        "Revenue trends": [(q.DAILY_SALES, period), (q.MONTHLY_REVENUE, period)],
        "RFM segments": [
            (q.SEGMENT_SUMMARY, {}),
            (q.RFM_GRID, {}),
            (q.SEGMENT_TIERS, {}),
            (q.SEGMENT_CUSTOMERS, {"segments": [], "limit": 1_000}),  # []: every segment
        ],
        "Products & categories": [
            (q.PRODUCT_CATEGORIES, {}),
            (q.TOP_PRODUCTS, {"category": "", "limit": 10}),
            (q.PARENT_CATEGORIES, {}),
            (q.CATEGORY_PERFORMANCE, {"parent": ""}),
        ],
        "Inventory alerts": [
            (q.STOCK_BY_WAREHOUSE, {}),
            (q.COVER_BANDS, {}),
            (q.STOCK_ALERTS, {"warehouse": "", "limit": 1_000}),
        ],
        "Promotions": [(q.PROMOTION_PERFORMANCE, {})],
    }


def _timed(task: Any) -> float:
    started = time.perf_counter()
    task()
    return (time.perf_counter() - started) * 1000


def measure(repeat: int) -> list[PageTiming]:
    """Time every page on both engines against what they publish now."""
    from dashboards import queries as q
    from dashboards.data import engine_url, run_many, run_query, table_exists

    timings = []
    for engine in ENGINES:
        url = engine_url(engine)
        bounds = run_query(engine, url, q.SALES_DATE_RANGE)
        if bounds.empty or not int(bounds["days"].iloc[0]):
            raise SystemExit(f"{engine}: marts.daily_sales is empty; refresh a shop first")
        every_page, pages = page_queries(bounds["last_date"].iloc[0].date())
        # Asked as the owner: the analyst may not read the catalog (system.tables).
        if not table_exists(engine, _owner_url(engine), "meta", "refresh_log"):
            print(f"{engine}: no refresh log yet; its query is left out")
            every_page = [
                (query, params) for query, params in every_page if query.name != "latest_refreshes"
            ]

        for page, own in pages.items():
            steps = [*every_page, *own]
            waits, sums = [], []
            per_query: dict[str, list[float]] = {query.name: [] for query, _ in steps}
            for round_number in range(repeat + 1):  # round 0 warms connections and caches
                wait = _timed(lambda: run_many(engine, url, every_page)) + _timed(  # noqa: B023
                    lambda: run_many(engine, url, own)  # noqa: B023
                )
                single = {
                    query.name: _timed(lambda: run_query(engine, url, query, params))  # noqa: B023
                    for query, params in steps
                }
                if round_number:
                    waits.append(wait)
                    sums.append(sum(single.values()))
                    for name, ms in single.items():
                        per_query[name].append(ms)
            timings.append(
                PageTiming(
                    page=page,
                    engine=engine,
                    queries=len(steps),
                    median_ms=round(statistics.median(waits), 1),
                    max_ms=round(max(waits), 1),
                    sequential_median_ms=round(statistics.median(sums), 1),
                    per_query_median_ms={
                        name: round(statistics.median(values), 1)
                        for name, values in per_query.items()
                    },
                )
            )
    return timings


def report(timings: list[PageTiming]) -> str:
    pages = list(dict.fromkeys(t.page for t in timings))
    by_key = {(t.page, t.engine): t for t in timings}
    lines = [
        "ms per page: median / slowest of the runs (one after another: median)",
        f"{'page':<24}{'queries':>8}  {'PostgreSQL':>26}  {'ClickHouse':>26}  "
        f"target {TARGET_MS:.0f} ms",
    ]
    for page in pages:
        postgres, clickhouse = by_key[(page, "postgres")], by_key[(page, "clickhouse")]
        verdict = "ok" if clickhouse.median_ms < TARGET_MS else "SLOW"
        lines.append(
            f"{page:<24}{clickhouse.queries:>8}  "
            + "  ".join(
                f"{t.median_ms:>7.1f} / {t.max_ms:>6.1f} ({t.sequential_median_ms:>6.1f})"
                for t in (postgres, clickhouse)
            )
            + f"  ClickHouse {verdict}"
        )
    slowest = max(timings, key=lambda t: t.median_ms)
    query, ms = max(slowest.per_query_median_ms.items(), key=lambda item: item[1])
    lines.append(
        f"slowest page: {slowest.page} on {slowest.engine}; its slowest query {query} {ms:.1f} ms"
    )
    return "\n".join(lines)


def _owner_url(engine: Engine) -> str:
    """The engine's URL as the pipeline itself connects (not the analyst)."""
    from core.settings import get_environment

    environment = get_environment()
    return environment.warehouse_url if engine == "postgres" else environment.clickhouse_url


# --- building a shop for --scale ---------------------------------------------------------


def _dbt_run(environment: Any, artifacts: Path) -> None:
    import psycopg

    from pipelines.defs.dbt.connection import run_dbt
    from pipelines.engines.analyst import ensure_postgres_analyst

    for run in run_dbt(environment, ["run"], artifacts_dir=artifacts).values():
        if not run.ok:
            raise SystemExit(f"dbt run failed on {run.target}:\n{run.output[-3000:]}")
    # The dashboards read as the analyst; marts built by dbt outside a publish get the
    # grant a publish would give them.
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        ensure_postgres_analyst(conn)


@contextlib.contextmanager
def scratch_shop(scale: float, seed: int) -> Iterator[None]:
    """A throwaway stack holding a generated shop at ``scale`` with its marts built."""
    from core.settings import get_environment
    from ingest.extract.run import extract
    from ingest.shop.generate import generate_shop
    from pipelines import stack

    with tempfile.TemporaryDirectory(prefix="bench-dashboards-") as home:
        previous = os.environ.get("SHOPMARTS_HOME")
        os.environ["SHOPMARTS_HOME"] = home
        try:
            steps: list[tuple[str, Any]] = []
            stack.up(engines=("postgres", "clickhouse"))
            environment = get_environment()
            steps.append(
                (
                    "generate",
                    lambda: generate_shop(
                        environment.shop_url, scale=scale, seed=seed, replace=True, progress=False
                    ),
                )
            )
            steps.append(("extract", lambda: extract(environment, "full")))
            steps.append(
                ("dbt run, both engines", lambda: _dbt_run(environment, Path(home) / "dbt"))
            )
            for name, step in steps:
                started = time.perf_counter()
                print(f"{name} (scale {scale:g}) ...", end=" ", flush=True)
                step()
                print(f"{time.perf_counter() - started:.0f} s", flush=True)
            yield
        finally:
            stack.down()
            if previous is None:
                os.environ.pop("SHOPMARTS_HOME", None)
            else:
                os.environ["SHOPMARTS_HOME"] = previous  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, help="build a shop at this scale first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds per page")
    parser.add_argument("--output", type=Path, help="also write the timings as JSON")
    args = parser.parse_args(argv)

    shop = scratch_shop(args.scale, args.seed) if args.scale else contextlib.nullcontext()
    with shop:
        timings = measure(args.repeat)
    print(report(timings))
    if args.output:
        args.output.write_text(json.dumps([asdict(t) for t in timings], indent=2))


if __name__ == "__main__":
    main()
