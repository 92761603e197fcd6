"""`shopmarts simulate` against the embedded PostgreSQL: DML through the triggers, no gaps,
constraints kept, deterministic for a seed, clear refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from test_shop_generate import checksums, private_databases, run_cli, scalar

from core.errors import ShopmartsError
from ingest.shop.generate import generate_shop
from ingest.shop.invariants import broken_rules, unvalidated_constraints
from ingest.shop.simulate import SimulateReport, simulate_shop

HOURS = 48
WALL_CLOCK_COLUMNS = ("updated_at", "changed_at")


@dataclass(frozen=True)
class Simulated:
    url: str
    newest_before: datetime
    last_order_before: int
    last_updated_before: datetime
    started_at: datetime  # wall clock
    report: SimulateReport


@pytest.fixture(scope="module")
def new_database(shop_url: str) -> Iterator[Callable[[str], str]]:
    with private_databases(shop_url) as create:
        yield create


@pytest.fixture(scope="module")
def simulated(new_database: Callable[[str], str]) -> Simulated:
    url = new_database("shop_simulate")
    generate_shop(url, scale=0.1, seed=3, replace=False, progress=False)
    newest = scalar(url, "SELECT max(order_date) FROM orders")
    last_order = scalar(url, "SELECT max(order_id) FROM orders")
    last_updated = scalar(url, "SELECT max(updated_at) FROM orders")
    started_at = scalar(url, "SELECT now()")
    report = simulate_shop(url, hours=HOURS, seed=5, progress=False)
    return Simulated(url, newest, last_order, last_updated, started_at, report)


def test_constraints_and_identities_still_hold(simulated: Simulated) -> None:
    with psycopg.connect(simulated.url) as conn:
        assert unvalidated_constraints(conn) == []
        assert broken_rules(conn) == {}
        orphans = conn.execute(
            """SELECT (SELECT count(*) FROM order_items i LEFT JOIN orders o USING (order_id)
                       WHERE o.order_id IS NULL),
                      (SELECT count(*) FROM order_promotions p LEFT JOIN orders o USING (order_id)
                       WHERE o.order_id IS NULL),
                      (SELECT count(*) FROM reviews r LEFT JOIN orders o USING (order_id)
                       WHERE r.order_id IS NOT NULL AND o.order_id IS NULL),
                      (SELECT count(*) FROM orders o LEFT JOIN order_items i USING (order_id)
                       WHERE i.order_id IS NULL)"""
        ).fetchone()
    assert orphans == (0, 0, 0, 0)


def test_the_clock_continues_from_the_newest_data_without_gaps(simulated: Simulated) -> None:
    report = simulated.report
    hour = simulated.newest_before.replace(minute=0, second=0, microsecond=0)
    assert report.start == hour + timedelta(hours=1)
    assert report.end == report.start + timedelta(hours=HOURS)
    assert len(report.orders_per_hour) == HOURS and min(report.orders_per_hour) >= 1
    with psycopg.connect(simulated.url) as conn:
        # Every order the run placed (deleted ones too) is in the audit log's insert images.
        placed_hours = conn.execute(
            """SELECT date_trunc('hour', (new_values ->> 'order_date')::timestamptz), count(*)
               FROM audit_log WHERE action = 'INSERT' AND changed_at >= %s
               GROUP BY 1 ORDER BY 1""",
            (simulated.started_at,),
        ).fetchall()
        window = conn.execute(
            "SELECT min(order_date), max(order_date) FROM orders WHERE order_id > %s",
            (simulated.last_order_before,),
        ).fetchone()
    assert [row[0] for row in placed_hours] == [
        report.start + timedelta(hours=h) for h in range(HOURS)
    ]
    assert sum(count for _, count in placed_hours) == sum(report.orders_per_hour)
    assert window is not None and report.start <= window[0] and window[1] < report.end


def test_updated_at_moves_and_the_audit_log_records_every_order_change(
    simulated: Simulated,
) -> None:
    report = simulated.report
    url = simulated.url
    moved_old_orders = scalar(
        url,
        "SELECT count(*) FROM orders WHERE order_id <= %s AND updated_at > %s",
        (simulated.last_order_before, simulated.last_updated_before),
    )
    assert moved_old_orders > 0, "status changes of existing orders move their updated_at"
    for table in ("orders", "order_items", "inventory", "customers", "products", "reviews"):
        moved = scalar(
            url, f"SELECT count(*) FROM {table} WHERE updated_at >= %s", (simulated.started_at,)
        )
        assert moved > 0, table
    with psycopg.connect(url) as conn:
        audit: dict[str, int] = dict(
            conn.execute(
                "SELECT action, count(*) FROM audit_log WHERE changed_at >= %s GROUP BY 1",
                (simulated.started_at,),
            ).fetchall()
        )
        # The generated history came before; the run's rows are the trigger's whole rows.
        inconsistent = conn.execute(
            """SELECT count(*) FROM audit_log
               WHERE changed_at >= %s AND (table_name <> 'orders'
                  OR record_id <> (coalesce(new_values, old_values) ->> 'order_id')::bigint
                  OR (action = 'UPDATE' AND old_values = new_values)
                  OR NOT (coalesce(new_values, old_values) ? 'updated_at'))""",
            (simulated.started_at,),
        ).fetchone()
        deleted_were_cancelled = conn.execute(
            "SELECT bool_and(old_values ->> 'order_status' = 'cancelled') FROM audit_log"
            " WHERE action = 'DELETE'"
        ).fetchone()
    assert audit.get("INSERT") == report.changes["orders", "insert"]
    assert audit.get("UPDATE") == report.changes["orders", "update"]
    assert audit.get("DELETE") == report.changes["orders", "delete"]
    assert inconsistent == (0,)
    assert deleted_were_cancelled == (True,)


def test_every_kind_of_change_happens(simulated: Simulated) -> None:
    changes = simulated.report.changes
    for key in [
        ("customers", "insert"),
        ("addresses", "insert"),
        ("orders", "insert"),
        ("order_items", "insert"),
        ("orders", "update"),
        ("inventory", "update"),
        ("reviews", "insert"),
        ("products", "update"),
        ("orders", "delete"),
        ("reviews", "delete"),
    ]:
        assert changes[key] > 0, key
    url = simulated.url
    assert scalar(url, "SELECT count(*) FROM customers WHERE NOT is_active AND updated_at >= %s",
                  (simulated.started_at,)) > 0  # fmt: skip
    statuses = scalar(
        url,
        "SELECT count(DISTINCT order_status) FROM orders WHERE updated_at >= %s",
        (simulated.started_at,),
    )
    assert statuses >= 4, "payments settle, orders ship, arrive, some are cancelled"
    report_text = "\n".join(simulated.report.lines())
    assert "orders" in report_text and "delete" in report_text


def test_same_seed_same_changes_and_the_next_run_continues(
    new_database: Callable[[str], str],
) -> None:
    first, second = new_database("shop_simulate_a"), new_database("shop_simulate_b")
    for url in (first, second):
        generate_shop(url, scale=0.05, seed=8, replace=False, progress=False)
        simulate_shop(url, hours=6, seed=9, progress=False)
    assert checksums(first, exclude_columns=WALL_CLOCK_COLUMNS) == checksums(
        second, exclude_columns=WALL_CLOCK_COLUMNS
    )
    before = checksums(second, exclude_columns=WALL_CLOCK_COLUMNS)
    previous = simulate_shop(first, hours=2, seed=10, progress=False)
    other = simulate_shop(second, hours=2, seed=11, progress=False)
    assert other.start == previous.start, "both continue from the same newest data"
    assert checksums(second, exclude_columns=WALL_CLOCK_COLUMNS)["orders"] != before["orders"]
    assert (
        checksums(first, exclude_columns=WALL_CLOCK_COLUMNS)["orders"]
        != checksums(second, exclude_columns=WALL_CLOCK_COLUMNS)["orders"]
    ), "another seed, other orders"
    following = simulate_shop(first, hours=1, seed=12, progress=False)
    assert following.start == previous.end


def test_refusals_change_nothing(new_database: Callable[[str], str], shop_url: str) -> None:
    empty = new_database("shop_simulate_empty")
    with pytest.raises(ShopmartsError, match="empty: run `shopmarts generate` first"):
        simulate_shop(empty, hours=1, seed=1, progress=False)

    url = new_database("shop_simulate_refusals")
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    generate_shop(url, scale=0.02, seed=4, replace=False, progress=False, end_date=yesterday)
    before = checksums(url)
    with pytest.raises(ShopmartsError, match="past the wall clock"):
        simulate_shop(url, hours=96, seed=1, progress=False)
    # Ranges are checked when the options are parsed (click: exit 2, the option named);
    # what a range cannot say (infinity) is refused before the shop is touched (exit 1).
    for args, status, message in [
        (("--hours", "-2"), 2, "shopmarts simulate: Invalid value for '--hours'"),
        (("--hours", "inf"), 1, "shopmarts: --hours must be a positive number"),
        (
            ("--hours", "1", "--intensity", "0"),
            2,
            "shopmarts simulate: Invalid value for '--intensity'",
        ),
        (("--hours", "1", "--seed", "-1"), 2, "shopmarts simulate: Invalid value for '--seed'"),
    ]:
        cli = run_cli("simulate", *args, shop_url=url)
        assert cli.returncode == status and cli.stderr.count("\n") == 1, cli.stderr
        assert cli.stderr.startswith(message), cli.stderr
    cli = run_cli("simulate", "--hours", "1", shop_url="postgresql://shop:pw@127.0.0.1:9/shop")
    assert cli.returncode == 1 and cli.stderr.count("\n") == 1
    assert "shop:***@127.0.0.1:9" in cli.stderr and "down or unreachable" in cli.stderr
    assert checksums(url) == before

    cli = run_cli("simulate", "--hours", "2", "--seed", "3", shop_url=url)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith("simulated 2 hours")
    assert checksums(url)["orders"] != before["orders"]
