"""Benchmark a source profile's hourly path: simulate's sync, and the extract per table.

    .venv/bin/python -m bench.profile_hourly --profile solemate --scale 1

Against the running engines (`shopmarts up`; SHOPMARTS_HOME picks the stack), in a shop
database and a raw schema of its own (``bench_profile_shop``, ``raw_bench_profile``: the
stack's own shop and raw are not touched). Generates the profile's shop at ``--scale``, runs
a full extract (the nightly's), simulates ``--hours`` (default one) and reports the sync of
the profile's tables from the canonical shop (fill into temporary tables, then the DELETEs,
UPDATEs and INSERTs), then runs an incremental extract (the hourly's) and reports per table
and engine: the mode (incremental from the ``updated_at`` watermark, or full: no cursor),
rows read and seconds, beside the full load's seconds. What a table without ``updated_at``
costs the hourly refresh is its full reload: these figures are how each profile's README
chose per table.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

SHOP_DATABASE = "bench_profile_shop"
RAW_SCHEMA = "raw_bench_profile"


def _database_url(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def main() -> None:
    """Parse the arguments, run the benchmark, print the report."""
    from core.settings import get_environment
    from ingest.extract.options import ExtractOptions
    from ingest.extract.run import extract
    from ingest.profiles import get_profile
    from ingest.shop.generate import generate_shop
    from ingest.shop.simulate import simulate_shop

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="solemate")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    profile = get_profile(args.profile)

    environment = get_environment()
    admin = _database_url(environment.shop_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        name = sql.Identifier(SHOP_DATABASE)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    environment = dataclasses.replace(
        environment, shop_url=_database_url(environment.shop_url, SHOP_DATABASE)
    )
    options = ExtractOptions(raw_schema=RAW_SCHEMA)
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(RAW_SCHEMA)))
    from core.clients import clickhouse_client

    with clickhouse_client(environment.clickhouse_url) as client:
        client.command(f"DROP DATABASE IF EXISTS `{RAW_SCHEMA}` SYNC")

    began = time.perf_counter()
    generate_shop(
        environment.shop_url,
        scale=args.scale,
        seed=args.seed,
        replace=True,
        progress=False,
        profile=profile.name,
    )
    print(f"generate {profile.name} at scale {args.scale:g}: {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    full = extract(environment, "full", list(profile.table_names), options=options)
    print(f"full extract: {time.perf_counter() - began:.1f} s")
    report = simulate_shop(
        environment.shop_url, hours=args.hours, seed=args.seed, progress=False, profile=profile.name
    )
    print("\n".join(report.lines()))
    began = time.perf_counter()
    hourly = extract(environment, "incremental", list(profile.table_names), options=options)
    print(f"incremental extract: {time.perf_counter() - began:.1f} s")

    full_seconds = {(r.table, r.engine): r.seconds for r in full}
    print(
        f"{'table':<24}{'engine':<12}{'hourly mode':<13}{'rows':>10}{'deleted':>9}"
        f"{'hourly s':>10}{'full s':>8}"
    )
    for load in sorted(hourly, key=lambda r: (profile.table_names.index(r.table), r.engine)):
        print(
            f"{load.table:<24}{load.engine:<12}{load.mode:<13}{load.rows:>10,}"
            f"{load.deleted or 0:>9,}{load.seconds:>10.2f}"
            f"{full_seconds.get((load.table, load.engine), 0.0):>8.2f}"
        )


if __name__ == "__main__":
    main()
