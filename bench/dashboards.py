"""Time each dashboard page's queries on both engines against the published marts.

    .venv/bin/python -m bench.dashboards              # the running stack's published marts
    .venv/bin/python -m bench.dashboards --scale 20   # build a scale-20 shop first

Without ``--scale`` it measures whatever the running stack (or the URLs in the
environment) publishes: refresh a scale-20 shop first for the issue's figure. With
``--scale`` it starts a throwaway stack in a temporary SHOPMARTS_HOME, generates the
shop, extracts it and builds the marts with dbt on both engines, then measures.

A page's time is the sum of the queries it runs at its default settings (last 30 days,
top 10 products, 1,000 customers, every warehouse), on a warm connection and without
the app's cache: what an analyst waits for on the first look after a refresh. Each page
runs ``--repeat`` times after one warm-up; the median and the slowest are printed with
the 200 ms target.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 200.0
ENGINES = ("postgres", "clickhouse")


@dataclass
class PageTiming:
    page: str
    engine: str
    queries: int
    median_ms: float
    max_ms: float
    per_query_median_ms: dict[str, float] = field(default_factory=dict)


def page_queries(last_date: dt.date) -> dict[str, list[tuple[Any, dict[str, Any]]]]:
    """Every query each page runs at its defaults, as the views in dashboards/views run them."""
    from dashboards import queries as q
    from dashboards.selection import DEFAULT_DAYS, Selection

    start = last_date - dt.timedelta(days=DEFAULT_DAYS - 1)
    period = Selection("postgres", start, last_date, start, last_date).period_params()
    # The entry script runs these two on every page: date bounds and the freshness banner.
    every_page: list[tuple[Any, dict[str, Any]]] = [
        (q.SALES_DATE_RANGE, {}),
        (q.LATEST_REFRESHES, {}),
    ]
    return {
        "Overview": [
            *every_page,
            (q.PERIOD_TOTALS, period),
            (q.ACTIVE_CUSTOMERS, period),
            (q.DAILY_SALES, period),
            (q.STOCK_ALERT_COUNTS, {}),
        ],
        "Revenue trends": [*every_page, (q.DAILY_SALES, period), (q.MONTHLY_REVENUE, period)],
        "RFM segments": [
            *every_page,
            (q.SEGMENT_SUMMARY, {}),
            (q.RFM_GRID, {}),
            (q.SEGMENT_CUSTOMERS, {"segments": None, "limit": 1_000}),  # None: every segment
        ],
        "Products & categories": [
            *every_page,
            (q.PRODUCT_CATEGORIES, {}),
            (q.TOP_PRODUCTS, {"category": "", "limit": 10}),
            (q.PARENT_CATEGORIES, {}),
            (q.CATEGORY_PERFORMANCE, {"parent": ""}),
        ],
        "Inventory alerts": [
            *every_page,
            (q.STOCK_BY_WAREHOUSE, {}),
            (q.COVER_BANDS, {}),
            (q.STOCK_ALERTS, {"warehouse": "", "limit": 1_000}),
        ],
    }


def _run(engine: str, url: str, query: Any, params: dict[str, Any]) -> float:
    from dashboards.data import MartsNotPublished, run_query

    started = time.perf_counter()
    with contextlib.suppress(MartsNotPublished):  # no refresh log yet: still a round trip
        run_query(engine, url, query, params)  # type: ignore[arg-type]
    return (time.perf_counter() - started) * 1000


def measure(repeat: int) -> list[PageTiming]:
    """Time every page on both engines against what they publish now."""
    from dashboards import queries as q
    from dashboards.data import engine_url, run_query

    timings = []
    for engine in ENGINES:
        url = engine_url(engine)  # type: ignore[arg-type]
        bounds = run_query(engine, url, q.SALES_DATE_RANGE)  # type: ignore[arg-type]
        if bounds.empty or not int(bounds["days"].iloc[0]):
            raise SystemExit(f"{engine}: marts.daily_sales is empty; refresh a shop first")
        last_date = bounds["last_date"].iloc[0].date()
        segments = run_query(engine, url, q.SEGMENT_SUMMARY)["segment"].tolist()  # type: ignore[arg-type]
        for page, steps in page_queries(last_date).items():
            steps = [
                (query, {**params, "segments": segments} if "segments" in params else params)
                for query, params in steps
            ]
            per_query: dict[str, list[float]] = {query.name: [] for query, _ in steps}
            totals = []
            for round_number in range(repeat + 1):
                total = 0.0
                for query, params in steps:
                    elapsed = _run(engine, url, query, params)
                    total += elapsed
                    if round_number:
                        per_query[query.name].append(elapsed)
                if round_number:  # round 0 warms connections and the engine's caches
                    totals.append(total)
            timings.append(
                PageTiming(
                    page=page,
                    engine=engine,
                    queries=len(steps),
                    median_ms=statistics.median(totals),
                    max_ms=max(totals),
                    per_query_median_ms={
                        name: round(statistics.median(values), 2)
                        for name, values in per_query.items()
                    },
                )
            )
    return timings


def report(timings: list[PageTiming]) -> str:
    pages = list(dict.fromkeys(t.page for t in timings))
    by_key = {(t.page, t.engine): t for t in timings}
    lines = [
        f"{'page':<24}{'queries':>8}  {'PostgreSQL median / max':>26}  "
        f"{'ClickHouse median / max':>26}  target {TARGET_MS:.0f} ms",
    ]
    for page in pages:
        postgres, clickhouse = by_key[(page, "postgres")], by_key[(page, "clickhouse")]
        verdict = "ok" if clickhouse.median_ms < TARGET_MS else "SLOW"
        lines.append(
            f"{page:<24}{clickhouse.queries:>8}  "
            f"{postgres.median_ms:>12.1f} / {postgres.max_ms:>7.1f} ms  "
            f"{clickhouse.median_ms:>12.1f} / {clickhouse.max_ms:>7.1f} ms  "
            f"ClickHouse {verdict}"
        )
    slowest = max(timings, key=lambda t: t.median_ms)
    query, ms = max(slowest.per_query_median_ms.items(), key=lambda item: item[1])
    lines.append(
        f"slowest page: {slowest.page} on {slowest.engine}; its slowest query {query} {ms:.1f} ms"
    )
    return "\n".join(lines)


# --- building a shop for --scale ---------------------------------------------------------


def _dbt_build(target: str, environment: Any) -> None:
    from pipelines.defs.dbt.connection import DBT_PROJECT_DIR, dbt_env

    command = [
        str(Path(sys.executable).with_name("dbt")), "run",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", target, "--target-path", f"target/bench-{target}",
        "--vars", json.dumps({"marts_schema": "marts"}),
        "--quiet",
    ]  # fmt: skip
    result = subprocess.run(
        command, env={**os.environ, **dbt_env(environment)}, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"dbt run ({target}) failed:\n{result.stdout[-3000:]}{result.stderr}")


@contextlib.contextmanager
def scratch_shop(scale: float, seed: int) -> Iterator[None]:
    """A throwaway stack holding a generated shop at ``scale`` with its marts built."""
    from ingest.extract import extract
    from ingest.generate import generate_shop
    from pipelines.engines import stack
    from pipelines.engines.settings import get_environment

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
            steps.append(("dbt postgres", lambda: _dbt_build("postgres", environment)))
            steps.append(("dbt clickhouse", lambda: _dbt_build("clickhouse", environment)))
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
