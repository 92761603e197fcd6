"""`shopmarts generate` against the embedded PostgreSQL: constraints, determinism, realism, errors.

Each test module works in its own databases of the session's cluster, so the shop other
tests use is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from core.errors import ShopmartsError
from ingest.shop.generate import GenerateReport, generate_shop
from ingest.shop.invariants import broken_rules, table_checksums, unvalidated_constraints
from ingest.shop.schema import SHOP_TABLES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REALISM_SCALE = 0.2  # 2,000 customers, 10,000 orders: enough for stable shares
END = date(2026, 11, 1)


def database_url(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def scalar(url: str, query: Any, params: Any = None) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
        assert row is not None
        return row[0]


def checksums(url: str, **options: Any) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return table_checksums(conn, **options)


@contextmanager
def private_databases(shop_url: str) -> Iterator[Callable[[str], str]]:
    """Creates (or recreates) databases on the test cluster; drops them on the way out."""
    admin_url = database_url(shop_url, "postgres")
    created: list[str] = []

    def drop(admin: psycopg.Connection, name: str) -> None:
        query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        admin.execute(query.format(sql.Identifier(name)))

    def create(name: str) -> str:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            drop(admin, name)
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return database_url(shop_url, name)

    try:
        yield create
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            for name in created:
                drop(admin, name)


@pytest.fixture(scope="module")
def new_database(shop_url: str) -> Iterator[Callable[[str], str]]:
    with private_databases(shop_url) as create:
        yield create


@pytest.fixture(scope="module")
def realistic_shop(new_database: Callable[[str], str]) -> tuple[str, GenerateReport]:
    url = new_database("shop_generate_realism")
    report = generate_shop(url, scale=REALISM_SCALE, seed=42, replace=False, progress=False)
    return url, report


def run_cli(*args: str, shop_url: str) -> subprocess.CompletedProcess[str]:
    """`shopmarts ...` in a child process, pointed at ``shop_url`` through the env vars."""
    env = dict(os.environ)
    env.update(
        SHOP_DATABASE_URL=shop_url,
        WAREHOUSE_DATABASE_URL=shop_url,
        CLICKHOUSE_URL="http://default:@127.0.0.1:9/",  # not contacted by generate/simulate
    )
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- constraints and sizes -----------------------------------------------------------------


def test_every_constraint_and_identity_holds(realistic_shop: tuple[str, GenerateReport]) -> None:
    url, _ = realistic_shop
    with psycopg.connect(url) as conn:
        assert unvalidated_constraints(conn) == []
        assert broken_rules(conn) == {}
        kinds: dict[str, int] = dict(
            conn.execute(
                "SELECT contype, count(*) FROM pg_constraint"
                " WHERE connamespace = 'public'::regnamespace GROUP BY 1"
            ).fetchall()
        )
        triggers = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
            " AND tgrelid::regclass::text = ANY(%s)",
            (list(SHOP_TABLES),),
        ).fetchone()
    assert kinds["p"] == len(SHOP_TABLES)  # a primary key on every table
    assert kinds["f"] == 13 and kinds["u"] == 6 and kinds["c"] >= 40
    # updated_at on 10 tables, audit on orders (2), append-only on audit_log (2)
    assert triggers is not None and triggers[0] == 14
    # The generated history is as of the end date: nothing changed after it.
    for table in SHOP_TABLES:
        if table != "audit_log":
            query = sql.SQL("SELECT count(*) FROM {} WHERE updated_at >= %s").format(
                sql.Identifier(table)
            )
            assert scalar(url, query, (END,)) == 0, table
    assert scalar(url, "SELECT count(*) FROM audit_log WHERE changed_at >= %s", (END,)) == 0


def test_the_audit_log_holds_every_orders_status_history(
    realistic_shop: tuple[str, GenerateReport],
) -> None:
    url, report = realistic_shop
    with psycopg.connect(url) as conn:
        actions: dict[str, int] = dict(
            conn.execute("SELECT action, count(*) FROM audit_log GROUP BY 1").fetchall()
        )
        # Its last image of each order is the order as it stands; its first, the placement.
        disagreeing = conn.execute(
            """SELECT count(*) FROM orders o
               LEFT JOIN LATERAL (SELECT new_values FROM audit_log a
                   WHERE a.table_name = 'orders' AND a.record_id = o.order_id
                   ORDER BY audit_id DESC LIMIT 1) l ON true
               LEFT JOIN LATERAL (SELECT action, changed_at, new_values FROM audit_log a
                   WHERE a.table_name = 'orders' AND a.record_id = o.order_id
                   ORDER BY audit_id LIMIT 1) f ON true
               WHERE l.new_values ->> 'order_status' IS DISTINCT FROM o.order_status
                  OR l.new_values ->> 'payment_status' IS DISTINCT FROM o.payment_status
                  OR f.action <> 'INSERT' OR f.changed_at <> o.order_date
                  OR (f.new_values ->> 'total_amount')::numeric <> o.total_amount"""
        ).fetchone()
        # Ids follow time; a step's "before" is the previous step's "after".
        out_of_order = conn.execute(
            """SELECT count(*) FILTER (WHERE changed_at < previous_at),
                      count(*) FILTER (WHERE action = 'UPDATE' AND (
                          old_values ->> 'order_status' <> previous ->> 'order_status'
                          OR old_values ->> 'payment_status' <> previous ->> 'payment_status'))
               FROM (SELECT action, changed_at, old_values,
                            lag(changed_at) OVER (ORDER BY audit_id) AS previous_at,
                            lag(new_values) OVER (PARTITION BY record_id ORDER BY audit_id)
                              AS previous
                     FROM audit_log) t"""
        ).fetchone()
        shipped = conn.execute(
            """SELECT count(*) FROM audit_log a JOIN orders o ON o.order_id = a.record_id
               WHERE a.new_values @> '{"order_status": "shipped"}'
                 AND (a.new_values ->> 'shipped_at')::timestamptz <> o.shipped_at"""
        ).fetchone()
        indexes = {
            row[0]
            for row in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'audit_log'"
            ).fetchall()
        }
    assert actions["INSERT"] == report.tables["orders"].rows
    assert actions["UPDATE"] > 2 * actions["INSERT"]  # paid, shipped, delivered for most
    assert set(actions) == {"INSERT", "UPDATE"}
    assert report.tables["audit_log"].rows == sum(actions.values())
    assert disagreeing == (0,)
    assert out_of_order == (0, 0)
    assert shipped == (0,)
    assert any("USING gin (old_values)" in index for index in indexes), indexes
    assert any("USING gin (new_values)" in index for index in indexes), indexes
    assert any("(table_name, record_id)" in index for index in indexes), indexes
    assert any("btree (changed_at)" in index for index in indexes), indexes


def test_the_audit_log_is_append_only(new_database: Callable[[str], str]) -> None:
    url = new_database("shop_generate_append_only")
    generate_shop(url, scale=0.01, seed=5, replace=False, progress=False)
    with psycopg.connect(url, autocommit=True) as conn:
        before = conn.execute("SELECT count(*), max(audit_id) FROM audit_log").fetchone()
        for statement in (
            "UPDATE audit_log SET action = 'DELETE', new_values = NULL WHERE audit_id = 1",
            "DELETE FROM audit_log WHERE audit_id = 1",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.errors.RestrictViolation) as refused:
                conn.execute(statement)
            assert "audit_log is append-only" in str(refused.value), statement
            assert "audit records are immutable" in (refused.value.diag.message_detail or "")
        # Appending still works: the triggers on orders write to it.
        conn.execute(
            "UPDATE orders SET order_status = 'delivered', delivered_at = shipped_at"
            " + interval '1 day' WHERE order_id = (SELECT min(order_id) FROM orders"
            " WHERE order_status = 'shipped')"
        )
        after = conn.execute("SELECT count(*), max(audit_id) FROM audit_log").fetchone()
    assert before is not None and after is not None
    assert after[0] == before[0] + 1 and after[1] > before[1]


def test_sizes_follow_the_scale(realistic_shop: tuple[str, GenerateReport]) -> None:
    url, report = realistic_shop
    rows = {table: load.rows for table, load in report.tables.items()}
    for table in SHOP_TABLES:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        assert scalar(url, query) == rows[table], table
    assert rows["customers"] == 2_000
    assert rows["orders"] == 10_000
    assert 2.8 <= rows["order_items"] / rows["orders"] <= 3.3
    assert 0.45 <= rows["reviews"] / rows["orders"] <= 0.75
    assert rows["products"] == round(20_000 * REALISM_SCALE**0.5)
    assert 0.95 <= rows["inventory"] / rows["products"] <= 1.15
    assert rows["product_categories"] == 260


# -- realism ---------------------------------------------------------------------------------

RECOGNIZED = "payment_status = 'completed' AND order_status NOT IN ('cancelled', 'returned')"


def test_a_few_products_sell_most(realistic_shop: tuple[str, GenerateReport]) -> None:
    url, _ = realistic_shop
    top_share = scalar(
        url,
        """WITH units AS (SELECT p.product_id, coalesce(sum(i.quantity), 0) AS units
                          FROM products p LEFT JOIN order_items i USING (product_id) GROUP BY 1),
                ranked AS (SELECT units, ntile(5) OVER (ORDER BY units DESC, product_id) AS fifth
                           FROM units)
           SELECT sum(units) FILTER (WHERE fifth = 1)::float8 / sum(units) FROM ranked""",
    )
    assert 0.6 <= top_share <= 0.95


def test_december_peak_weekly_pattern_and_growth(
    realistic_shop: tuple[str, GenerateReport],
) -> None:
    url, _ = realistic_shop
    with psycopg.connect(url) as conn:
        december: dict[int, float] = dict(
            conn.execute(
                f"""WITH daily AS (SELECT order_date::date AS day, sum(total_amount) AS revenue
                                   FROM orders WHERE {RECOGNIZED} GROUP BY 1)
                    SELECT extract(year FROM day)::int,
                           (avg(revenue) FILTER (WHERE extract(month FROM day) = 12)
                            / avg(revenue))::float8
                    FROM daily WHERE extract(year FROM day) IN (2024, 2025) GROUP BY 1"""
            ).fetchall()
        )
        yearly: dict[int, float] = dict(
            conn.execute(
                f"""SELECT extract(year FROM order_date)::int, sum(total_amount)::float8
                    FROM orders WHERE {RECOGNIZED} GROUP BY 1"""
            ).fetchall()
        )
        weekday: dict[int, int] = dict(
            conn.execute(
                "SELECT extract(isodow FROM order_date)::int, count(*) FROM orders GROUP BY 1"
            ).fetchall()
        )
        black_friday, ordinary = conn.execute(
            """SELECT count(*) FILTER (WHERE order_date::date = '2025-11-28'),
                      count(*) FILTER (WHERE order_date::date BETWEEN '2025-11-03' AND '2025-11-09')
                        / 7.0
               FROM orders"""
        ).fetchone() or (0, 1)
    assert december[2024] >= 1.3 and december[2025] >= 1.3
    assert yearly[2025] >= 1.15 * yearly[2024], "the shop grows year over year"
    assert weekday[7] > weekday[6] and weekday[1] > weekday[5], "Sunday and Monday beat the weekend"
    assert black_friday >= 1.8 * float(ordinary)


def test_customers_differ_in_frequency_recency_and_spend(
    realistic_shop: tuple[str, GenerateReport],
) -> None:
    url, _ = realistic_shop
    with psycopg.connect(url) as conn:
        row = conn.execute(
            f"""WITH per_customer AS (
                    SELECT customer_id, count(*) AS orders, sum(total_amount) AS spend,
                           %s::date - max(order_date)::date AS recency
                    FROM orders WHERE {RECOGNIZED} GROUP BY 1)
                SELECT (stddev(orders) / avg(orders))::float8,
                       (stddev(spend) / avg(spend))::float8,
                       percentile_cont(0.2) WITHIN GROUP (ORDER BY recency),
                       percentile_cont(0.8) WITHIN GROUP (ORDER BY recency),
                       count(*) FILTER (WHERE orders = 1)::float8 / count(*)
                FROM per_customer""",
            (END,),
        ).fetchone()
        tiers: dict[str, int] = dict(
            conn.execute("SELECT tier, count(*) FROM customers GROUP BY 1").fetchall()
        )
    assert row is not None
    orders_cv, spend_cv, recency_p20, recency_p80, one_time = row
    assert orders_cv > 1 and spend_cv > 1
    assert recency_p20 < 60 and recency_p80 > 300, "some buy recently, others churned long ago"
    assert 0.1 <= one_time <= 0.5
    assert set(tiers) == {"bronze", "silver", "gold", "platinum"}
    assert tiers["bronze"] > tiers["silver"] > tiers["gold"] > tiers["platinum"]


def test_statuses_promotions_and_reviews_at_plausible_rates(
    realistic_shop: tuple[str, GenerateReport],
) -> None:
    url, _ = realistic_shop
    with psycopg.connect(url) as conn:
        shares = conn.execute(
            """SELECT avg((order_status = 'cancelled'
                           AND payment_status = 'refunded')::int)::float8,
                      avg((payment_status = 'failed')::int)::float8,
                      avg((order_status = 'returned')::int)::float8,
                      avg((order_status IN ('pending', 'processing', 'shipped'))::int)::float8,
                      avg((discount_amount > 0)::int)::float8,
                      avg((order_status = 'delivered')::int)::float8
               FROM orders"""
        ).fetchone()
        open_recent = conn.execute(
            "SELECT count(*) FROM orders WHERE order_status IN ('pending', 'processing', 'shipped')"
            " AND order_date >= %s::date - 7",
            (END,),
        ).fetchone()
        rating, top_ratings = conn.execute(
            "SELECT avg(rating)::float8, avg((rating >= 4)::int)::float8 FROM reviews"
        ).fetchone() or (0, 0)
    assert shares is not None and open_recent is not None
    cancelled, failed, returned, still_open, promoted, delivered = shares
    assert 0.01 <= cancelled <= 0.06
    assert 0.015 <= failed <= 0.06
    assert 0.03 <= returned <= 0.10
    assert 0.0005 <= still_open <= 0.03 and open_recent[0] > 0
    assert 0.10 <= promoted <= 0.20
    assert delivered >= 0.8
    assert rating >= 3.8 and top_ratings >= 0.6


def test_catalogue_and_stock(realistic_shop: tuple[str, GenerateReport]) -> None:
    url, _ = realistic_shop
    with psycopg.connect(url) as conn:
        levels = conn.execute(
            """WITH RECURSIVE tree AS (
                   SELECT category_id, 1 AS level FROM product_categories
                   WHERE parent_category_id IS NULL
                   UNION ALL
                   SELECT c.category_id, t.level + 1 FROM product_categories c
                   JOIN tree t ON c.parent_category_id = t.category_id)
               SELECT level, count(*) FROM tree GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        stock = conn.execute(
            """SELECT count(DISTINCT warehouse_code),
                      count(*) FILTER (WHERE quantity_available = 0),
                      count(*) FILTER (WHERE quantity_available > 0
                                         AND quantity_available < reorder_point),
                      count(*),
                      (SELECT count(*) FROM (SELECT product_id FROM inventory GROUP BY 1
                                             HAVING count(*) > 1) AS two)
               FROM inventory"""
        ).fetchone()
        reserved, open_units = conn.execute(
            """SELECT (SELECT sum(quantity_reserved) FROM inventory),
                      (SELECT sum(i.quantity) FROM order_items i JOIN orders o USING (order_id)
                       WHERE o.order_status IN ('pending', 'processing'))"""
        ).fetchone() or (0, 0)
        margin = scalar(url, "SELECT min(unit_price - cost_price) FROM products")
    assert levels == [(1, 10), (2, 50), (3, 200)]
    assert stock is not None
    warehouses, out_of_stock, low, rows, in_two = stock
    assert warehouses >= 2 and in_two > 0
    assert 0.02 <= out_of_stock / rows <= 0.12
    assert 0.05 <= low / rows <= 0.25
    assert reserved == open_units, "reserved stock is what open orders hold"
    assert margin >= 0


# -- determinism -----------------------------------------------------------------------------


def test_same_seed_same_rows_other_seed_other_rows(new_database: Callable[[str], str]) -> None:
    first, second = new_database("shop_generate_a"), new_database("shop_generate_b")
    generate_shop(first, scale=0.05, seed=11, replace=False, progress=False)
    generate_shop(second, scale=0.05, seed=11, replace=False, progress=False)
    same = checksums(first)
    assert same == checksums(second)
    generate_shop(second, scale=0.05, seed=12, replace=True, progress=False)
    other = checksums(second)
    for table in ("products", "customers", "addresses", "orders", "order_items", "reviews"):
        assert other[table] != same[table], table


# -- refusals and errors ---------------------------------------------------------------------


def test_refuses_a_non_empty_shop_without_replace(new_database: Callable[[str], str]) -> None:
    url = new_database("shop_generate_refuse")
    generate_shop(url, scale=0.02, seed=1, replace=False, progress=False)
    before = checksums(url)
    with pytest.raises(ShopmartsError, match="already has data.*--replace"):
        generate_shop(url, scale=0.02, seed=2, replace=False, progress=False)
    assert checksums(url) == before
    cli = run_cli("generate", "--scale", "0.02", "--seed", "3", shop_url=url)
    assert cli.returncode == 1
    assert cli.stderr.strip().count("\n") == 0 and "--replace" in cli.stderr
    assert checksums(url) == before


def test_cli_generates_with_an_end_date(new_database: Callable[[str], str]) -> None:
    url = new_database("shop_generate_cli")
    cli = run_cli(
        "generate", "--scale", "0.01", "--seed", "5", "--end-date", "2025-06-01", shop_url=url
    )
    assert cli.returncode == 0, cli.stderr
    assert "shop generated: scale 0.01, seed 5" in cli.stdout
    newest, oldest = (
        scalar(url, "SELECT max(order_date)::date::text FROM orders"),
        scalar(url, "SELECT min(order_date)::date::text FROM orders"),
    )
    assert newest == "2025-05-31" and oldest.startswith("2022-06")


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        # Ranges are checked when the options are parsed (click: exit 2, the option named).
        (("--scale", "-1"), 2, "shopmarts generate: Invalid value for '--scale'"),
        (("--scale", "nan"), 1, "shopmarts: --scale must be a positive number"),
        (("--scale", "0.1", "--seed", "-4"), 2, "shopmarts generate: Invalid value for '--seed'"),
        (("--scale", "0.1", "--end-date", "2999-01-01"), 1, "must not be in the future"),
        (("--bogus",), 2, "shopmarts generate: No such option '--bogus'"),
        (("--scale", "lots"), 2, "shopmarts generate: Invalid value for '--scale'"),
    ],
)
def test_bad_arguments_give_one_clear_line_and_change_nothing(
    new_database: Callable[[str], str], args: tuple[str, ...], status: int, message: str
) -> None:
    url = new_database("shop_generate_arguments")
    cli = run_cli("generate", "--replace", *args, shop_url=url)
    assert cli.returncode == status
    assert cli.stderr.count("\n") == 1 and message in cli.stderr, cli.stderr
    assert scalar(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0


def test_unreachable_shop_is_named_without_its_password(shop_url: str) -> None:
    closed = "postgresql://shop:s3cret@127.0.0.1:9/shop"  # port 9 (discard): nobody listens
    cli = run_cli("generate", "--scale", "0.01", shop_url=closed)
    assert cli.returncode == 1
    assert cli.stderr.count("\n") == 1, cli.stderr
    assert "postgresql://shop:***@127.0.0.1:9/shop" in cli.stderr and "s3cret" not in cli.stderr
    assert "down or unreachable" in cli.stderr
