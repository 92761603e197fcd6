"""Benchmark the marts build: every mart on Postgres and on ClickHouse, side by side.

    .venv/bin/python -m bench.marts --scale 20

Generates a shop at ``--scale`` in a throwaway SHOPMARTS_HOME (``--home DIR`` keeps it
and reuses its shop and raw tables on the next run), extracts it in full, builds the
staging views on both targets, then builds the eight marts from scratch into the schema
`bench_marts`, one engine after the other and one mart at a time (``--threads 1``, so
no two marts share the two cores). Each mart's seconds are dbt's own
(run_results.json: the whole materialization, DDL and indexes included). Prints the
seconds per mart and engine, the totals, the Postgres/ClickHouse ratio, the targets
and whether they are met, and checks the two engines' marts are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BENCH_SCHEMA = "bench_marts"
TARGET_RATIO = 5.0  # the ClickHouse marts together at least 5x faster than Postgres
TARGET_SEGMENTS_SECONDS = 1.0  # customer_segments on ClickHouse under 1 s


def drop_bench_marts(environment) -> None:  # noqa: ANN001 - Environment, imported late
    """Start from nothing, so both engines create every mart (no refresh path)."""
    import clickhouse_connect
    import psycopg

    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {BENCH_SCHEMA} cascade")
    client = clickhouse_connect.get_client(dsn=environment.clickhouse_url)
    client.command(f"DROP DATABASE IF EXISTS {BENCH_SCHEMA}")
    client.close()


def shop_orders(environment) -> int:  # noqa: ANN001
    import psycopg

    with psycopg.connect(environment.shop_url) as conn:
        exists = conn.execute("select to_regclass('public.orders') is not null").fetchone()
        if not (exists and exists[0]):
            return 0
        count = conn.execute("select count(*) from orders").fetchone()
        return int(count[0]) if count else 0


def report(seconds: dict[str, dict[str, float]], scale: float) -> tuple[str, bool]:
    marts = sorted(seconds["postgres"])
    postgres_total = sum(seconds["postgres"].values())
    clickhouse_total = sum(seconds["clickhouse"].values())
    ratio = postgres_total / clickhouse_total if clickhouse_total else float("inf")
    lines = [
        f"marts build at scale {scale:g} (seconds, one mart at a time, from scratch)",
        f"{'mart':<24}{'postgres':>10}{'clickhouse':>12}{'ratio':>8}",
    ]
    for mart in marts:
        postgres, clickhouse = seconds["postgres"][mart], seconds["clickhouse"].get(mart, 0.0)
        mart_ratio = f"{postgres / clickhouse:.1f}x" if clickhouse else "-"
        lines.append(f"{mart:<24}{postgres:>10.2f}{clickhouse:>12.2f}{mart_ratio:>8}")
    lines.append(f"{'total':<24}{postgres_total:>10.2f}{clickhouse_total:>12.2f}{ratio:>7.1f}x")
    segments = seconds["clickhouse"].get("customer_segments", float("inf"))
    ratio_met = ratio >= TARGET_RATIO
    segments_met = segments < TARGET_SEGMENTS_SECONDS
    lines += [
        "",
        f"target: ClickHouse marts together >= {TARGET_RATIO:g}x faster than Postgres: "
        f"{ratio:.1f}x -> {'met' if ratio_met else 'NOT met'}",
        f"target: customer_segments on ClickHouse < {TARGET_SEGMENTS_SECONDS:g} s: "
        f"{segments:.2f} s -> {'met' if segments_met else 'NOT met'}",
    ]
    return "\n".join(lines), ratio_met and segments_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.marts", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--scale", type=float, default=20.0, help="shop scale to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--home",
        type=Path,
        help="SHOPMARTS_HOME to use and keep; its shop and raw tables are reused when present",
    )
    parser.add_argument("--output", type=Path, help="also write the measurements as JSON")
    args = parser.parse_args(argv)

    home = (args.home or Path(tempfile.mkdtemp(prefix="shopmarts-bench-marts-"))).resolve()
    os.environ["SHOPMARTS_HOME"] = str(home)
    for variable in ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL"):
        os.environ.pop(variable, None)

    from core.settings import get_environment
    from ingest.extract.run import extract
    from ingest.shop.generate import generate_shop
    from pipelines import stack
    from pipelines.defs.dbt.connection import run_dbt
    from quality.parity import check_parity

    artifacts = home / "bench-dbt"
    try:
        print(f"starting the embedded engines in {home}", flush=True)
        stack.up(engines=("postgres", "clickhouse"))
        environment = get_environment()
        reuse = args.home is not None and shop_orders(environment) > 0
        if reuse:
            print(f"reusing the shop in {home} ({shop_orders(environment):,} orders)", flush=True)
        else:
            started = time.perf_counter()
            generate_shop(
                environment.shop_url,
                scale=args.scale,
                seed=args.seed,
                replace=True,
                progress=False,
            )
            print(
                f"generated the shop at scale {args.scale:g} in "
                f"{time.perf_counter() - started:.0f}s",
                flush=True,
            )
            started = time.perf_counter()
            extract(environment, mode="full")
            print(f"full extract in {time.perf_counter() - started:.0f}s", flush=True)

        bench_vars = ["--vars", json.dumps({"marts_schema": BENCH_SCHEMA})]
        staging = ["run", "--select", "staging", *bench_vars]
        for run in run_dbt(environment, staging, artifacts_dir=artifacts).values():
            if not run.ok:
                print(run.output[-4000:], file=sys.stderr)
                return 1

        drop_bench_marts(environment)
        seconds: dict[str, dict[str, float]] = {}
        marts = ["run", "--select", "marts", "--threads", "1", *bench_vars]
        for target in ("postgres", "clickhouse"):
            print(f"building the marts on {target} ...", flush=True)
            run = run_dbt(environment, marts, targets=[target], artifacts_dir=artifacts)[target]
            if not run.ok:
                print(run.output[-4000:], file=sys.stderr)
                return 1
            seconds[target] = run.node_seconds()
            print(f"  {sum(seconds[target].values()):.2f}s (dbt wall {run.seconds:.1f}s)")

        text, met = report(seconds, args.scale)
        # Two shared cores: the load says how much the timings were disturbed.
        load = os.getloadavg()[0]
        print("\n" + text + f"\n(load average {load:.1f} on {os.cpu_count()} cores)")
        parity = check_parity(environment, schema=BENCH_SCHEMA)
        rows = {mart.mart: mart.warehouse_rows for mart in parity.marts}
        print(
            "\nparity: "
            + ("identical in both engines" if parity.passed else "DIFFERENT\n" + parity.summary())
            + f" ({', '.join(f'{name} {count:,}' for name, count in rows.items())} rows)"
        )
        if args.output:
            args.output.write_text(
                json.dumps(
                    {
                        "scale": args.scale,
                        "seconds": seconds,
                        "rows": rows,
                        "targets_met": met,
                        "load_average": load,
                        "parity": parity.passed,
                    },
                    indent=2,
                )
            )
        return 0 if parity.passed else 1
    finally:
        stack.down()
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
