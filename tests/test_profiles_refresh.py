"""Simulate and the hourly refresh on every source profile, through Dagster, in both engines.

Per profile (tiny scale), one shop of its own and one shared load: generate, the nightly
refresh (the jobs' steps as real Dagster assets, the way `tests/test_profiles_gates.py`
runs them, with dbt's assets from the profile's own manifest), `simulate` (the canonical
shop kept in `shopmarts_canonical` advanced, the profile's tables synced from it), one
hard delete of the canonical shop synced too, then the hourly refresh. Raw equals the
shop (row count and a checksum per table, in both engines), the hard delete is gone from
both raws, tables with an `updated_at` that the hour changed were read incrementally and
the others whole, and the marts are published. Last, faults of the profile's own kind
(`test_profiles_gates.PROFILE_FAULTS`) loaded into raw are stopped by their named
expectations in both engines, the published marts unchanged; for the minimal shop, after
its nightly, an invented cost is stopped by its `not_carried` rule and every dashboard page
renders over its marts.

One logical shop: the canonical shop beside the profile's tables is, after the simulated
hours, exactly the canonical shop generated in `public` and simulated the same way, and a
second sync of the profile changes nothing (its tables are exactly what fill.sql makes of
the canonical shop). The session's canonical shop, raw and marts are restored afterwards
(`canonical_restored`).
"""

# No `from __future__ import annotations`: the imported Dagster helpers are read at run time.
import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from test_dbt_parse_state import reused_last_parse
from test_extract import fingerprint
from test_profiles_gates import (
    EVERY_TABLE,
    PROFILE_FAULTS,
    ProfileRun,
    assert_dashboards_render,
    assert_invented_cost_is_stopped,
    canonical_restored,  # noqa: F401  (a fixture: the session's canonical marts back)
    corrupt_raw,
    drop_raw,
)
from test_shop_generate import private_databases

from core.clients import clickhouse_client
from core.settings import SOURCE_PROFILE_VAR, Environment
from core.vocabulary import ENGINES, HOURLY_MARTS, MARTS, PARITY_CHECK_NAME
from ingest.extract.catalog import discover_source_tables
from ingest.profiles import CANONICAL_SCHEMA, PROFILES, get_profile
from ingest.shop.invariants import table_checksums
from pipelines.defs.keys import mart_key, raw_key

SCALE = 0.02  # 200 customers, 1,000 orders: a nightly and an hourly take seconds
SEED = 13
HOURS = 2
SIMULATE_SEED = 29
WALL_CLOCK_COLUMNS = ("updated_at", "changed_at")
REFRESHED = ("modestwear", "techally", "minimal", "solemate")


@pytest.fixture(scope="module")
def create_database(environment: Environment) -> Iterator[Callable[[str], str]]:
    with private_databases(environment.shop_url) as create:
        yield create


@pytest.fixture(scope="module")
def canonical_after_hours(create_database: Callable[[str], str]) -> dict[str, str]:
    """Checksums of the canonical shop generated in `public` and simulated as every
    profile's canonical shop is below (wall-clock columns aside)."""
    from ingest.shop.generate import generate_shop
    from ingest.shop.simulate import simulate_shop

    url = create_database("refresh_profile_canonical")
    generate_shop(url, scale=SCALE, seed=SEED, replace=False, progress=False)
    simulate_shop(url, hours=HOURS, seed=SIMULATE_SEED, progress=False, profile="canonical")
    with psycopg.connect(url) as conn:
        return table_checksums(conn, exclude_columns=WALL_CLOCK_COLUMNS)


def shop_fingerprints(environment: Environment, shop_url: str) -> dict[str, dict[str, Any]]:
    """Per table of the shop's `public`: (rows, checksum) in the shop, raw in the warehouse
    and raw in ClickHouse (`FINAL`: one row per key), with `tests/test_extract.py`'s
    engine-neutral row fingerprint."""
    with psycopg.connect(shop_url) as conn:
        tables = discover_source_tables(conn)
    found: dict[str, dict[str, Any]] = {}
    for table in tables.values():
        json_columns = [c.postgres_type in ("json", "jsonb") for c in table.columns]
        # Arrays as PostgreSQL's text form, as ClickHouse's raw keeps them.
        pg_columns = sql.SQL(", ").join(
            sql.SQL("{}::text").format(sql.Identifier(c.name))
            if c.postgres_type.endswith("[]")
            else sql.Identifier(c.name)
            for c in table.columns
        )
        prints: dict[str, Any] = {}
        for where, url, schema in (
            ("shop", shop_url, "public"),
            ("postgres", environment.warehouse_url, "raw"),
        ):
            with psycopg.connect(url) as conn:
                rows = conn.execute(
                    sql.SQL("SELECT {} FROM {}").format(
                        pg_columns, sql.Identifier(schema, table.name)
                    )
                )
                prints[where] = fingerprint(rows, json_columns)
        columns = ", ".join(f"`{name}`" for name in table.column_names)
        with clickhouse_client(environment.clickhouse_url) as client:
            result = client.query(f"SELECT {columns} FROM raw.`{table.name}` FINAL")
        prints["clickhouse"] = fingerprint(result.result_rows, json_columns)
        found[table.name] = prints
    return found


def assert_raw_equals_shop(environment: Environment, shop_url: str, tables: Iterable[str]) -> None:
    prints = shop_fingerprints(environment, shop_url)
    assert set(prints) == set(tables)
    differing = {
        table: p for table, p in prints.items() if not p["shop"] == p["postgres"] == p["clickhouse"]
    }
    assert not differing, f"raw differs from the shop: {differing}"


def purge_a_cancelled_order(shop_url: str, profile: str) -> tuple[str, str]:
    """Hard-delete one cancelled order of the canonical shop (as the simulator's
    housekeeping does) and sync the profile: its order table and key, now gone."""
    from ingest.shop.profile_sync import sync_profile

    with psycopg.connect(shop_url) as conn:
        # The canonical audit trigger names audit_log unqualified: the canonical schema.
        conn.execute(sql.SQL("SET LOCAL search_path = {}").format(sql.Identifier(CANONICAL_SCHEMA)))
        row = conn.execute(
            "SELECT min(order_id) FROM orders WHERE order_status = 'cancelled'"
        ).fetchone()
        assert row and row[0] is not None
        order_id = int(row[0])
        for table in ("reviews", "order_promotions", "order_items", "orders"):
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE order_id = %s").format(sql.Identifier(table)),
                (order_id,),
            )
        conn.execute("SET LOCAL search_path TO DEFAULT")
        report = sync_profile(conn, get_profile(profile))
    orders = "orders_order" if profile == "modestwear" else "orders"
    assert report.tables[orders].deleted == 1, report.lines()
    serial = get_profile(profile).table(orders).key_type == "serial"
    key = str(order_id) if serial else str(_uuid_of(f"order:{order_id}"))
    return orders, key


def _uuid_of(text: str) -> str:
    """md5(text)::uuid, as fill.sql keys a canonical id."""
    digest = hashlib.md5(text.encode()).hexdigest()  # noqa: S324 (a key, not a secret)
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"


def assert_gone_from_raw(environment: Environment, shop_url: str, table: str, key: str) -> None:
    where = sql.SQL("SELECT count(*) FROM {} WHERE id::text = %s")
    with psycopg.connect(shop_url) as conn:
        assert conn.execute(where.format(sql.Identifier("public", table)), (key,)).fetchone() == (
            0,
        )
    with psycopg.connect(environment.warehouse_url) as conn:
        assert conn.execute(where.format(sql.Identifier("raw", table)), (key,)).fetchone() == (0,)
    with clickhouse_client(environment.clickhouse_url) as client:
        count = client.command(
            f"SELECT count() FROM raw.`{table}` FINAL WHERE toString(id) = %(key)s",
            parameters={"key": key},
        )
    assert int(str(count)) == 0, (table, key)


def newest_build_reused_its_parse(target: str) -> bool:
    """Whether the newest refresh build on ``target`` took the last one's parse as it was."""
    from pipelines.defs.dbt.connection import dbt_runs_dir

    runs = [path for path in dbt_runs_dir(target).iterdir() if path.is_dir()]
    newest = max(runs, key=lambda path: path.stat().st_mtime)
    return reused_last_parse(newest / "dbt.log")


def load_modes(environment: Environment, tables: Iterable[str]) -> dict[tuple[str, str], str]:
    """{(table, engine): mode} of the last load, from raw._watermarks."""
    with psycopg.connect(environment.warehouse_url) as conn:
        rows = conn.execute(
            "SELECT table_name, engine, mode FROM raw._watermarks WHERE table_name = ANY(%s)",
            (list(tables),),
        ).fetchall()
    return {(table, engine): mode for table, engine, mode in rows}


@pytest.mark.parametrize("profile", REFRESHED)
def test_profile_simulate_then_hourly_refresh_keeps_raw_equal_to_the_shop(
    profile: str,
    environment: Environment,
    create_database: Callable[[str], str],
    canonical_after_hours: dict[str, str],
    canonical_restored: None,  # noqa: F811
) -> None:
    from test_profiles_dbt import profile_manifests
    from test_quality_gates import assert_stopped_by, failed_rules, failure_messages

    from ingest.shop.generate import generate_shop
    from ingest.shop.profile_sync import sync_profile
    from ingest.shop.simulate import simulate_shop
    from pipelines.defs.publish.marts import mart_fingerprints
    from quality import records

    chosen = PROFILES[profile]
    shop_url = create_database(f"refresh_profile_{profile}")
    generate_shop(shop_url, scale=SCALE, seed=SEED, replace=False, progress=False, profile=profile)
    run = ProfileRun(environment, chosen, shop_url, profile_manifests(environment, profile))
    # dbt's staging of this profile reads exactly its raw tables.
    raw = {raw_key(engine, table) for engine in ENGINES for table in chosen.table_names}
    sources = {
        dep
        for assets in run.dbt
        for deps in assets.asset_deps.values()
        for dep in deps
        if dep.path[1:2] == ["raw"]
    }
    assert sources and sources <= raw
    drop_raw(environment, EVERY_TABLE)  # raw afresh for this profile (see drop_raw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SOURCE_PROFILE_VAR, profile)
        records.forget_good_counts(environment.warehouse_url)
        pipeline = run.pipeline()
        nightly = pipeline.run()
        assert nightly.success, failure_messages(nightly)
        materialized = {m.asset_key for m in nightly.get_asset_materialization_events()}
        assert raw <= materialized
        assert_raw_equals_shop(environment, shop_url, chosen.table_names)
        before = mart_fingerprints(environment)
        assert all(before.values()), before
        # Parity decided every mart by the engines' fingerprints (UUID keys too), not by
        # streaming the rows.
        parity = [
            evaluation.metadata["method"].value
            for evaluation in nightly.get_asset_check_evaluations()
            if evaluation.check_name == PARITY_CHECK_NAME
        ]
        assert parity and set(parity) == {"fingerprint"}, parity
        if chosen.tables[0].key_type == "uuid":  # the marts keep the shop's own keys
            with psycopg.connect(environment.warehouse_url) as conn:
                types = conn.execute(
                    "SELECT pg_typeof(customer_id)::text, count(*) "
                    "FROM marts.customer_analytics GROUP BY 1"
                ).fetchall()
            assert len(types) == 1 and types[0][0] == "uuid" and types[0][1] > 0, types
        if profile == "minimal":
            assert_invented_cost_is_stopped(environment)
            assert_dashboards_render(environment)

        # simulate: the canonical shop advanced, the profile's tables synced from it.
        report = simulate_shop(
            shop_url, hours=HOURS, seed=SIMULATE_SEED, progress=False, profile=profile
        )
        assert report.sync is not None and report.sync.profile == profile
        synced = {table: done.changed for table, done in report.sync.tables.items()}
        assert sum(synced.values()) > 0, report.lines()
        with psycopg.connect(shop_url) as conn:
            # The canonical shop beside it is the canonical shop simulated alone ...
            kept = table_checksums(
                conn, exclude_columns=WALL_CLOCK_COLUMNS, schema=CANONICAL_SCHEMA
            )
            assert kept == canonical_after_hours
            # ... and the profile's tables are exactly fill.sql of it: nothing left to sync.
            again = sync_profile(conn, chosen)
            assert {t: d.changed for t, d in again.tables.items() if d.changed} == {}
            conn.rollback()
        orders, gone = purge_a_cancelled_order(shop_url, profile)

        hourly = pipeline.run(extract="incremental", marts=HOURLY_MARTS, mode="hourly")
        assert hourly.success, failure_messages(hourly)
        # The hourly's dbt reused the nightly's parse: the two pass dbt the same vars.
        assert all(newest_build_reused_its_parse(target) for target in ENGINES)
        assert_raw_equals_shop(environment, shop_url, chosen.table_names)
        assert_gone_from_raw(environment, shop_url, orders, gone)
        # A table with an updated_at (kept by a trigger) that the hour changed is read
        # from its watermark; one without is read whole (the choice per table: the
        # profile's README). An unchanged table may be skipped: its mode stays the nightly's.
        modes = load_modes(environment, chosen.table_names)
        changed = {table for table, n in synced.items() if n} | {orders}
        for spec in chosen.tables:
            for engine in ENGINES:
                if not spec.updated_at:
                    assert modes[spec.name, engine] == "full", (spec.name, engine)
                elif spec.name in changed:
                    assert modes[spec.name, engine] == "incremental", (spec.name, engine)
        # Published: the hourly marts anew, the others as they were.
        after = mart_fingerprints(environment)
        for engine in ENGINES:
            for mart in MARTS:
                old, new = before[engine, mart], after[engine, mart]
                if mart in HOURLY_MARTS:
                    assert new is not None, (engine, mart)
                    assert new.identity != old.identity, (engine, mart)
                else:
                    assert new == old, (engine, mart)

        # Faults of the profile's own kind, loaded into raw: each stopped by the rule
        # meant for it, in both engines, and the published marts left as they were.
        faults = PROFILE_FAULTS[profile]
        for fault in faults:
            corrupt_raw(environment, fault)
        result = pipeline.run(extract=None)
        for fault in faults:
            rules = assert_stopped_by(result, fault.rule)
            counts = {engine: rules[engine, fault.rule]["unexpected_count"] for engine in ENGINES}
            assert counts["postgres"] == counts["clickhouse"] == 1, (fault.name, counts)
            assert fault.rule in failure_messages(result)
        assert {rule for _engine, rule in failed_rules(result)} == {f.rule for f in faults}
        materialized = {m.asset_key for m in result.get_asset_materialization_events()}
        assert not materialized & {mart_key(e, m) for e in ENGINES for m in MARTS}
        assert mart_fingerprints(environment) == after
