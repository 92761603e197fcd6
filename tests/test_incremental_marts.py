"""Incremental marts (issue #17): hourly builds fold the change log; they equal a full rebuild.

One small shop, a nightly (full extract, full dbt build), then simulated hours: the
simulator's updates, cancellations, returns and hard deletes, plus what it does not make,
done here by SQL on the shop: a late-arriving order (dated days back), an order line
moved to another order, an order handed to another customer, an order deleted, a review
moved to another product, one rated again, one deleted. After each hour: the incremental
extract, the dbt build the hourly runs (the same vars as the nightly's: the change log says
what to fold) into one marts schema, and a full rebuild from the same raw into a sandbox
(`schema_prefix`: its own staging and intermediate tables too; `full_rebuild`); every mart
must hold the same rows in both, in each engine (EXCEPT ALL both ways).

Then a build that fails in the middle, by a real failing statement: a CHECK constraint on
the daily aggregate refuses the hour's rows after the facts and the customer summary were
already replaced. The watermark stays behind; once the constraint is gone the next build
converges to the full rebuild's marts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from core.clients import clickhouse_client
from core.settings import Environment
from core.vocabulary import MARTS
from ingest.extract.run import extract
from ingest.shop.generate import generate_shop
from ingest.shop.simulate import simulate_shop
from pipelines.defs.dbt.connection import DbtRun, dbt_target_root, run_dbt

SCALE = 0.02
SEED = 20261205
MARTS_SCHEMA = "incr_marts"  # the increments' marts (staging: the real intermediate tables)
FULL_PREFIX = "incr_full_"  # the full rebuild's sandbox: incr_full_staging, incr_full_incr_marts
AS_OF = "2030-01-01"  # the same as-of date for both builds (recency figures)


def dbt_build(environment: Environment, *, full_rebuild: bool = False) -> dict[str, DbtRun]:
    """The refresh's build (the change log decides what it folds), or with ``full_rebuild``
    the reference: every model rebuilt from raw in the sandbox."""
    variables: dict[str, str | bool] = {"marts_schema": MARTS_SCHEMA, "as_of_date": AS_OF}
    if full_rebuild:
        variables |= {"schema_prefix": FULL_PREFIX, "full_rebuild": True}
    # A folder per kind of build: each reuses its last parse (other vars: a full parse).
    artifacts = dbt_target_root() / ("incr-full" if full_rebuild else "incr-hourly")
    return run_dbt(environment, ["run", "--vars", json.dumps(variables)], artifacts_dir=artifacts)


def assert_ok(runs: dict[str, DbtRun]) -> None:
    for run in runs.values():
        assert run.ok, run.output[-4000:]


def differing_rows(environment: Environment, mart: str) -> dict[str, int]:
    """Rows of ``mart`` in one build and not the other (both ways), per engine."""
    built, full = f"{MARTS_SCHEMA}.{mart}", f"{FULL_PREFIX}{MARTS_SCHEMA}.{mart}"
    with psycopg.connect(environment.warehouse_url) as conn:
        row = conn.execute(
            f"SELECT (SELECT count(*) FROM (TABLE {built} EXCEPT ALL TABLE {full}) a)"
            f" + (SELECT count(*) FROM (TABLE {full} EXCEPT ALL TABLE {built}) b)"
        ).fetchone()
        assert row is not None
        postgres = int(row[0])
    one_way = "SELECT count() FROM (SELECT * FROM {} EXCEPT ALL SELECT * FROM {})"
    with clickhouse_client(environment.clickhouse_url) as client:
        clickhouse = int(
            client.command(
                f"SELECT ({one_way.format(built, full)}) + ({one_way.format(full, built)})"
            )
        )
    return {"postgres": postgres, "clickhouse": clickhouse}


def pending_touched_rows(environment: Environment) -> dict[str, int]:
    """Rows of the touched-keys table in each engine: an incremental build leaves the
    keys it folded there (the next one drops them); a full rebuild leaves none."""
    table = "staging.int_changes__orders"
    with psycopg.connect(environment.warehouse_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
    with clickhouse_client(environment.clickhouse_url) as client:
        clickhouse = int(client.command(f"SELECT count() FROM {table}"))
    return {"postgres": int(row[0]), "clickhouse": clickhouse}


def newest_order_dates(environment: Environment) -> dict[str, tuple[str, str]]:
    """The newest order's date (int_as_of_date) per engine: (increments, full rebuild)."""
    tables = [f"{prefix}staging.int_as_of_date" for prefix in ("", FULL_PREFIX)]
    with psycopg.connect(environment.warehouse_url) as conn:
        postgres = [
            conn.execute(f"SELECT newest_order_date::text FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in tables
        ]
    with clickhouse_client(environment.clickhouse_url) as client:
        clickhouse = [
            client.command(f"SELECT toString(newest_order_date) FROM {table}") for table in tables
        ]
    return {
        "postgres": (str(postgres[0]), str(postgres[1])),
        "clickhouse": (str(clickhouse[0]), str(clickhouse[1])),
    }


def assert_marts_equal_full_rebuild(environment: Environment) -> None:
    assert_ok(dbt_build(environment, full_rebuild=True))
    differing = {mart: differing_rows(environment, mart) for mart in MARTS}
    assert all(n == 0 for counts in differing.values() for n in counts.values()), differing
    # The as-of date is a var here (both builds measure from the same day); the newest
    # order's date it would come from must agree too.
    newest = newest_order_dates(environment)
    assert all(built == full for built, full in newest.values()), newest


def delete_the_newest_day(environment: Environment) -> None:
    """Every order of the newest UTC day hard-deleted: the newest date moves back."""
    with psycopg.connect(environment.shop_url, autocommit=True) as conn:
        deleted = conn.execute(
            "DELETE FROM orders WHERE (order_date AT TIME ZONE 'UTC')::date = "
            "(SELECT max((order_date AT TIME ZONE 'UTC')::date) FROM orders)"
        ).rowcount
    assert deleted > 0


def shop_changes_the_simulator_lacks(environment: Environment, hour: int) -> int:
    """A late-arriving order (its date days back), a line moved to another order, an
    order handed to another customer, an order hard-deleted, a review moved to another
    product, one rated again and one deleted; returns the deleted order."""
    with psycopg.connect(environment.shop_url, autocommit=True) as conn:
        recognized = [
            row[0]
            for row in conn.execute(
                "SELECT order_id FROM orders WHERE payment_status = 'completed' "
                "AND order_status NOT IN ('cancelled', 'returned') "
                "ORDER BY order_id OFFSET %s LIMIT 5",
                (10 * hour,),
            )
        ]
        first, second, third, fourth, fifth = recognized
        # Late: a copy of `first` dated 9 days before the newest order, with its lines.
        (late,) = conn.execute(
            """
            WITH shift AS (
                SELECT (SELECT max(order_date) FROM orders) - interval '9 days' - order_date
                    AS by
                FROM orders WHERE order_id = %s
            )
            INSERT INTO orders (customer_id, order_date, order_status, payment_status,
                subtotal, discount_amount, tax_amount, shipping_amount, total_amount,
                shipping_address_id, shipping_method, shipped_at, delivered_at, created_at)
            SELECT customer_id, order_date + by, order_status, payment_status, subtotal,
                discount_amount, tax_amount, shipping_amount, total_amount,
                shipping_address_id, shipping_method, shipped_at + by, delivered_at + by,
                created_at + by
            FROM orders, shift WHERE order_id = %s RETURNING order_id
            """,
            (first, first),
        ).fetchone()  # type: ignore[misc]
        conn.execute(
            """
            INSERT INTO order_items (order_id, product_id, quantity, unit_price,
                discount_amount, line_total, created_at)
            SELECT %s, product_id, quantity, unit_price, discount_amount, line_total,
                (SELECT created_at FROM orders WHERE order_id = %s)
            FROM order_items WHERE order_id = %s
            """,
            (late, late, first),
        )
        # A line moved from `second` to `third`.
        conn.execute(
            "UPDATE order_items SET order_id = %s WHERE order_item_id = "
            "(SELECT min(order_item_id) FROM order_items WHERE order_id = %s)",
            (third, second),
        )
        # `fourth` handed to the customer of `first`.
        conn.execute(
            "UPDATE orders SET customer_id = (SELECT customer_id FROM orders WHERE order_id = %s) "
            "WHERE order_id = %s",
            (first, fourth),
        )
        # `fifth` deleted (its lines and promotions go with it: ON DELETE CASCADE).
        conn.execute("DELETE FROM orders WHERE order_id = %s", (fifth,))
        # Reviews: one moved to another product (and off its order, which may have
        # reviewed that product already), one rated again, one deleted.
        moved, rerated, removed = (
            row[0]
            for row in conn.execute(
                "SELECT review_id FROM reviews ORDER BY review_id OFFSET %s LIMIT 3", (3 * hour,)
            )
        )
        conn.execute(
            "UPDATE reviews SET order_id = NULL, product_id = "
            "(SELECT max(product_id) FROM products WHERE product_id <> reviews.product_id) "
            "WHERE review_id = %s",
            (moved,),
        )
        conn.execute("UPDATE reviews SET rating = 6 - rating WHERE review_id = %s", (rerated,))
        conn.execute("DELETE FROM reviews WHERE review_id = %s", (removed,))
    return int(fifth)


def logged_deletes(environment: Environment, order_id: int) -> dict[str, int]:
    """Rows of the newest batch in each engine's change log saying ``order_id`` was deleted."""
    query = (
        "SELECT count(*) FROM raw._changes__orders WHERE _deleted AND order_id = {id} "
        "AND _batch = (SELECT max(batch) FROM raw._change_batches)"
    )
    with psycopg.connect(environment.warehouse_url) as conn:
        row = conn.execute(query.format(id=int(order_id))).fetchone()  # type: ignore[arg-type]
        assert row is not None
    with clickhouse_client(environment.clickhouse_url) as client:
        clickhouse = int(client.command(query.format(id=int(order_id))))
    return {"postgres": int(row[0]), "clickhouse": clickhouse}


@pytest.fixture(scope="module")
def nightly(environment: Environment) -> Iterator[Environment]:
    """A fresh shop, its full extract and a full build (the nightly's), once."""
    generate_shop(environment.shop_url, scale=SCALE, seed=SEED, replace=True, progress=False)
    extract(environment, "full")
    assert_ok(dbt_build(environment))  # nothing folded yet: a full build
    yield environment


def an_hour(environment: Environment, hour: int, *, newest_day_deleted: bool = False) -> None:
    """One simulated hour with the changes the simulator lacks, then the incremental extract."""
    simulate_shop(environment.shop_url, hours=1, seed=SEED + hour, progress=False)
    deleted = shop_changes_the_simulator_lacks(environment, hour)
    if newest_day_deleted:
        delete_the_newest_day(environment)
    extract(environment, "incremental")
    # The extract logged the hard delete in both engines, in this run's batch.
    assert logged_deletes(environment, deleted) == {"postgres": 1, "clickhouse": 1}


def hourly_build(environment: Environment) -> None:
    """The hourly's dbt build; it must have folded the change log, not rebuilt."""
    runs = dbt_build(environment)
    assert_ok(runs)
    pending = pending_touched_rows(environment)
    assert all(pending.values()), pending


def test_hourly_increments_equal_a_full_rebuild(nightly: Environment) -> None:
    # Hour 1 brings newer orders (the as-of date moves on from the touched orders alone);
    # hour 2 deletes the newest day's (it moves back: every order is read again).
    for hour in (1, 2):
        an_hour(nightly, hour, newest_day_deleted=hour == 2)
        hourly_build(nightly)
        assert_marts_equal_full_rebuild(nightly)
    # ClickHouse finds the stored lines of changed lines (int_changes__orders) through a
    # minmax index: the table is sorted by order, and line ids rise with it.
    with clickhouse_client(nightly.clickhouse_url) as client:
        indexes = client.query(
            "SELECT name, type FROM system.data_skipping_indices "
            "WHERE database = 'staging' AND table = 'int_order_items__recognized'"
        ).result_rows
        # The affected keys went by lightweight updates (patch parts), not by mutations,
        # which wait for the server's background workers; so did the extract's hard
        # deletes in raw.
        mutations = client.query(
            "SELECT database, table, command FROM system.mutations "
            "WHERE (database = 'staging' AND startsWith(table, 'int_') OR database = 'raw') "
            "AND NOT startsWith(command, '(MATERIALIZE INDEX')"
        ).result_rows
    assert [tuple(row) for row in indexes] == [("order_item_id_minmax", "minmax")]
    assert mutations == [], mutations
    # Postgres reads a touched customer's history, or a touched day, by index only.
    with psycopg.connect(nightly.warehouse_url) as conn:
        definitions = [
            row[0]
            for row in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'staging' "
                "AND tablename = 'int_orders__recognized' AND indexdef LIKE '%%INCLUDE%%'"
            )
        ]
    assert sorted(definition.split(" USING ")[1] for definition in definitions) == [
        "btree (customer_id) INCLUDE (order_date, total_amount)",
        "btree (order_date) INCLUDE (order_id, customer_id, subtotal, discount_amount, "
        "total_amount)",
    ]


def _refuse_daily_rows(environment: Environment, refuse: bool) -> None:
    """A CHECK on the daily aggregate that every row fails (or its removal)."""
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        if refuse:
            conn.execute(
                "ALTER TABLE staging.int_sales__daily "
                "ADD CONSTRAINT refuse_all CHECK (orders_count < 0) NOT VALID"
            )
        else:
            conn.execute("ALTER TABLE staging.int_sales__daily DROP CONSTRAINT refuse_all")
    with clickhouse_client(environment.clickhouse_url) as client:
        if refuse:
            client.command(
                "ALTER TABLE staging.int_sales__daily "
                "ADD CONSTRAINT refuse_all CHECK orders_count < 0"
            )
        else:
            client.command("ALTER TABLE staging.int_sales__daily DROP CONSTRAINT refuse_all")


def test_a_build_failing_midway_converges_next_time(nightly: Environment) -> None:
    an_hour(nightly, 3)
    _refuse_daily_rows(nightly, True)
    try:
        runs = dbt_build(nightly)
    finally:
        _refuse_daily_rows(nightly, False)
    for target, run in runs.items():
        assert not run.ok, f"{target}: the refused insert should fail the build"
        results = {r["unique_id"].split(".")[-1]: r["status"] for r in run.artifact()["results"]}
        # The facts and the customer summary were replaced; the watermark was not moved.
        assert results["int_customers__order_summary"] == "success", results
        assert results["int_sales__daily"] == "error", results
        assert results["int_changes__folded"] == "skipped", results
    # Another hour on top, then a build that succeeds: everything pending is folded in.
    an_hour(nightly, 4)
    hourly_build(nightly)
    assert_marts_equal_full_rebuild(nightly)


def _drop_intermediate(environment: Environment, table: str) -> None:
    """Drop an intermediate table in both engines (in Postgres with the marts built on it)."""
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE staging.{table} CASCADE")
    with clickhouse_client(environment.clickhouse_url) as client:
        client.command(f"DROP TABLE staging.{table}")


def test_a_missing_incremental_table_makes_the_whole_build_full(nightly: Environment) -> None:
    """One incremental table gone (a model new in this release, or dropped by hand): the
    build rebuilds every incremental table in full, not only those that run before the
    missing one is made again; those after it would find them all and fold the hour with
    the touched keys of a full build, which are none."""
    an_hour(nightly, 5)
    _drop_intermediate(nightly, "int_sales__monthly")
    assert_ok(dbt_build(nightly))
    assert_marts_equal_full_rebuild(nightly)
    # The build after it folds the change log again (it leaves touched keys pending).
    an_hour(nightly, 6)
    hourly_build(nightly)


def test_the_build_after_a_full_extract_rebuilds_from_raw(nightly: Environment) -> None:
    """The nightly's reconciliation needs no var: its full extract logs a full load of
    every table, and the build after it (the same command as the hourly's) rebuilds the
    aggregates from raw, folding nothing."""
    an_hour(nightly, 7)
    hourly_build(nightly)  # keys pending: a full rebuild would leave none
    extract(nightly, "full")
    runs = dbt_build(nightly)
    assert_ok(runs)
    for target, run in runs.items():
        assert "incremental marts: a full load since batch" in run.output, target
    assert pending_touched_rows(nightly) == {"postgres": 0, "clickhouse": 0}
