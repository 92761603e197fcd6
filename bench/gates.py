"""Benchmark the gates alone: a shop loaded into raw once, then each gate timed in rounds.

    .venv/bin/python -m bench.gates --scale 1 --rounds 3
    .venv/bin/python -m bench.gates --scale 20 --rounds 1 --nightly-only

Generates a shop at ``--scale`` in a throwaway SHOPMARTS_HOME (``--home DIR`` keeps it and
reuses its shop and raw), starts both engines, loads raw with a full extract, builds the
shadow marts once with dbt (models only), then times, ``--rounds`` times each, keeping the
fastest and the slowest:

- nightly: the PostgreSQL and ClickHouse raw gates on every table, the mart gates of the
  eight marts;
- hourly (unless ``--nightly-only``): one simulated hour, an incremental extract, the raw
  gates on the rows it wrote, and the mart gates again (the hourly gates every mart).

Where the time goes is printed per suite too (each suite alone, one round), beside the
bare one-pass aggregate query of the table (what one scan of it costs).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def _rounds(rounds: int, work: Callable[[], Any]) -> tuple[float, float, Any]:
    """(fastest, slowest, last outcome) of ``rounds`` runs of ``work``."""
    times = []
    outcome = None
    for _ in range(rounds):
        started = time.perf_counter()
        outcome = work()
        times.append(time.perf_counter() - started)
    return min(times), max(times), outcome


def _without_one_pass() -> None:
    """The gates as they were: no one pass on PostgreSQL, every ClickHouse row rule asked
    by a query of its own, no uniqueness taken from FINAL's sorting key."""
    from quality import clickhouse_validation, postgres_runner

    postgres_runner.one_pass = lambda *args, **kwargs: None  # type: ignore[assignment]
    clickhouse_validation._SIMPLE_ROWS_RULE = re.compile(r"(?!)")  # matches nothing
    clickhouse_validation.replacing_sorting_keys = lambda *args, **kwargs: {}  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--nightly-only", action="store_true")
    parser.add_argument("--per-suite", action="store_true", help="time each suite alone too")
    parser.add_argument(
        "--gx-alone",
        action="store_true",
        help="the gates as before the one pass: GX validates every PostgreSQL expectation, "
        "ClickHouse asks each row rule by a query of its own",
    )
    parser.add_argument("--raw-only", action="store_true", help="no dbt, no mart gates")
    args = parser.parse_args(argv)

    home = (args.home or Path(tempfile.mkdtemp(prefix="shopmarts-bench-gates-"))).resolve()
    os.environ["SHOPMARTS_HOME"] = str(home)
    for variable in ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL"):
        os.environ.pop(variable, None)

    from bench.marts import shop_orders
    from core.settings import get_environment
    from core.vocabulary import ENGINES, MARTS, SHADOW_SCHEMA
    from ingest.extract.run import extract
    from ingest.shop.generate import generate_shop
    from ingest.shop.simulate import simulate_shop
    from pipelines import stack
    from pipelines.defs.dbt.assets import dbt_build_args
    from pipelines.defs.dbt.connection import run_dbt
    from quality.gate import run_mart_gate, run_raw_gate, run_suites
    from quality.suites import mart_suites, raw_suites

    if args.gx_alone:
        _without_one_pass()
    stack.up(engines=("postgres", "clickhouse"))
    try:
        environment = get_environment()
        reuse = args.home is not None and shop_orders(environment) > 0
        if not reuse:
            started = time.perf_counter()
            generate_shop(
                environment.shop_url, scale=args.scale, seed=args.seed, replace=True, progress=False
            )
            print(f"generated scale {args.scale:g} in {time.perf_counter() - started:.0f} s")
            started = time.perf_counter()
            rows = sum(r.rows for r in extract(environment, "full"))
            print(f"full extract: {rows:,} rows in {time.perf_counter() - started:.1f} s")
        if not reuse and not args.raw_only:
            # Models only: the shadow marts the mart gates read.
            build = [*dbt_build_args(SHADOW_SCHEMA), "--exclude", "resource_type:test"]
            started = time.perf_counter()
            for engine, run in run_dbt(environment, build, targets=list(ENGINES)).items():
                if not run.ok:
                    raise RuntimeError(run.output[-3000:])
                print(f"dbt {engine}: {time.perf_counter() - started:.1f} s")
        print(f"shop: {shop_orders(environment):,} orders; load average {os.getloadavg()}")

        def gate_round(label: str, changed: Mapping[str, Mapping[str, Any]] | None = None) -> None:
            for engine in ENGINES:
                fastest, slowest, result = _rounds(
                    args.rounds,
                    functools.partial(
                        run_raw_gate,
                        environment,
                        engine,
                        remember_counts=False,
                        changed_since=(changed or {}).get(engine),
                    ),
                )
                print(f"{label} {engine}_raw_gate: {fastest:.2f} s (slowest {slowest:.2f})")
                if not result.success:
                    print(result.describe())
            for engine in ENGINES if not args.raw_only else ():
                fastest, slowest, result = _rounds(
                    args.rounds,
                    functools.partial(
                        run_mart_gate, environment, engine, MARTS, rebuilt_together=MARTS
                    ),
                )
                print(f"{label} {engine}_mart_gate: {fastest:.2f} s (slowest {slowest:.2f})")
                if not result.success:
                    print(result.describe())

        gate_round("nightly")
        if args.per_suite:
            for engine in ENGINES:
                suites = raw_suites(engine)
                if not args.raw_only:
                    suites += mart_suites(engine, schema=SHADOW_SCHEMA)
                for suite in suites:
                    fastest, _, _ = _rounds(
                        1,
                        functools.partial(run_suites, environment, suite.layer, engine, [suite]),
                    )
                    print(
                        f"  {engine} {suite.name}: {fastest:.2f} s "
                        f"({len(suite.expectations)} expectations)"
                    )
        if not args.nightly_only:
            simulate_shop(environment.shop_url, hours=1, seed=args.seed, progress=False)
            reports = extract(environment, "incremental")
            changed: dict[str, Mapping[str, Any]] = {
                engine: {
                    r.table: (r.cursor_column, r.lower_bound)
                    for r in reports
                    if r.engine == engine and r.cursor_column and r.lower_bound
                }
                for engine in ENGINES
            }
            print(f"hourly: {sum(r.rows for r in reports):,} changed rows")
            gate_round("hourly", changed)
    finally:
        stack.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
