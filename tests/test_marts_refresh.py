"""The marts analysts asked for next (issue #18) through a gated refresh.

Categories of any depth and a deleted parent category. Seed 003: the category tree
"supports unlimited depth", and "deleting parent category -> child becomes top-level".
A small generated shop (three levels) gets a chain of three
more levels below one of its leaves, products moved into them, and one mid-level
category deleted in the shop. The refresh (extract, raw gates, dbt, mart gates, parity,
publish) must publish, and `category_performance` must equal, in both engines, the
roll-up computed here in Python from the shop's own tables. Then the mart gate's new
rules (promotions, the tree, margins, suggested orders) must catch tampered copies of
the published marts in the shadow.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest
from test_dbt_marts import mart_reloptions
from test_quality_gates import Pipeline, failure_messages

from core.clients import clickhouse_client
from core.settings import Environment
from core.vocabulary import ENGINES, MARTS, SHADOW_SCHEMA
from ingest.shop.generate import generate_shop
from pipelines.defs.publish.marts import mart_fingerprints
from pipelines.query import run_query
from quality import records

SCALE = 0.02
SEED = 20261204
EXTRA_LEVELS = 3


def shop_rows(environment: Environment, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(environment.shop_url) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def deepen_and_prune(environment: Environment) -> dict[str, Any]:
    """Three levels under the busiest leaf, products moved down into them; one mid-level
    category (no products of its own) deleted. Returns what was changed."""
    with psycopg.connect(environment.shop_url, autocommit=True) as conn:
        leaf, depth = conn.execute(
            """
            WITH RECURSIVE levels AS (
                SELECT category_id, 1 AS depth FROM product_categories
                WHERE parent_category_id IS NULL
                UNION ALL
                SELECT c.category_id, levels.depth + 1 FROM product_categories c
                JOIN levels ON c.parent_category_id = levels.category_id
            )
            SELECT p.category_id, max(levels.depth) FROM products p
            JOIN levels ON levels.category_id = p.category_id
            GROUP BY p.category_id ORDER BY count(*) DESC, p.category_id LIMIT 1
            """
        ).fetchone()  # type: ignore[misc]
        chain, parent = [], leaf
        for level in range(1, EXTRA_LEVELS + 1):
            (parent,) = conn.execute(
                "INSERT INTO product_categories (parent_category_id, name, slug) "
                "VALUES (%s, %s, %s) RETURNING category_id",
                (parent, f"Deeper {level}", f"deeper-{level}-{leaf}"),
            ).fetchone()  # type: ignore[misc]
            chain.append(parent)
        # Every third product of the leaf to the deepest level, every third to the middle.
        products = [
            row[0]
            for row in conn.execute(
                "SELECT product_id FROM products WHERE category_id = %s ORDER BY product_id",
                (leaf,),
            )
        ]
        conn.execute(
            "UPDATE products SET category_id = %s WHERE product_id = ANY(%s)",
            (chain[-1], products[0::3]),
        )
        conn.execute(
            "UPDATE products SET category_id = %s WHERE product_id = ANY(%s)",
            (chain[0], products[1::3]),
        )
        # A mid-level category that holds no product itself and is not above the chain.
        (deleted, children) = conn.execute(
            """
            SELECT m.category_id, array_agg(c.category_id ORDER BY c.category_id)
            FROM product_categories m
            JOIN product_categories c ON c.parent_category_id = m.category_id
            WHERE m.parent_category_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM products p WHERE p.category_id = m.category_id)
              AND m.category_id <> (SELECT parent_category_id FROM product_categories
                                    WHERE category_id = %s)
            GROUP BY m.category_id ORDER BY m.category_id LIMIT 1
            """,
            (leaf,),
        ).fetchone()  # type: ignore[misc]
        conn.execute("DELETE FROM product_categories WHERE category_id = %s", (deleted,))
    return {
        "leaf": leaf,
        "depth": depth + EXTRA_LEVELS,
        "chain": chain,
        "deleted": deleted,
        "children": children,
    }


def expected_rollup(environment: Environment) -> dict[int, dict[str, Any]]:
    """Every category's figures, walked in Python over the shop's tables."""
    parents = dict(
        shop_rows(environment, "SELECT category_id, parent_category_id FROM product_categories")
    )
    names = dict(shop_rows(environment, "SELECT category_id, name FROM product_categories"))
    sales = shop_rows(
        environment,
        """
        SELECT p.product_id, p.category_id, coalesce(sum(i.quantity), 0),
               coalesce(sum(i.line_total), 0)
        FROM products p
        LEFT JOIN (order_items i JOIN orders o ON o.order_id = i.order_id
                   AND o.payment_status = 'completed'
                   AND o.order_status NOT IN ('cancelled', 'returned'))
            ON i.product_id = p.product_id
        GROUP BY p.product_id, p.category_id
        """,
    )

    def ancestors(category: int) -> list[int]:
        path = [category]
        while parents[path[-1]] is not None:
            path.append(parents[path[-1]])
        return path

    figures: dict[int, dict[str, Any]] = {
        category: {
            "category_name": names[category],
            "parent_category_name": names.get(parents[category]),
            "category_level": len(ancestors(category)),
            "products_count": 0,
            "units_sold": 0,
            "revenue": Decimal("0.00"),
            "own_revenue": Decimal("0.00"),
        }
        for category in parents
    }
    for _product, category, units, revenue in sales:
        figures[category]["own_revenue"] += revenue
        for ancestor in ancestors(category):
            figures[ancestor]["products_count"] += 1
            figures[ancestor]["units_sold"] += units
            figures[ancestor]["revenue"] += revenue
    return figures


@pytest.fixture(scope="module")
def refreshed(environment: Environment) -> dict[str, Any]:
    generate_shop(environment.shop_url, scale=SCALE, seed=SEED, replace=True, progress=False)
    records.forget_good_counts(environment.warehouse_url)
    changed = deepen_and_prune(environment)
    result = Pipeline(environment).run()
    assert result.success, failure_messages(result)
    return changed


def test_the_published_postgres_marts_are_never_autovacuumed(
    refreshed: dict[str, Any], environment: Environment
) -> None:
    """Built whole in the shadow and moved, a mart is written once: autovacuum is off for
    it (and its TOAST table), or its VACUUM of the new marts would hold the next publish's
    locks (refreshed in place instead, it gets autovacuum back: test_dbt_marts)."""
    with psycopg.connect(environment.warehouse_url) as conn:
        options = mart_reloptions(conn)
    assert set(options) == set(MARTS)
    for mart, (main, toast) in options.items():
        assert main == ["autovacuum_enabled=false"], mart
        assert toast in ("no toast", "{autovacuum_enabled=false}"), mart
    assert {toast for _, toast in options.values()} == {"no toast", "{autovacuum_enabled=false}"}


COLUMNS = (
    "category_id, category_name, parent_category_name, category_level, products_count, "
    "units_sold, revenue, own_revenue"
)


@pytest.mark.parametrize("target", ["warehouse", "clickhouse"])
def test_a_deep_tree_with_a_deleted_parent_publishes_and_rolls_up(
    refreshed: dict[str, Any], environment: Environment, target: str
) -> None:
    expected = expected_rollup(environment)
    assert refreshed["deleted"] not in expected, "the parent is gone from the shop"
    _, rows = run_query(target, f"SELECT {COLUMNS} FROM marts.category_performance")
    published = {
        int(row[0]): dict(zip(COLUMNS.split(", ")[1:], row[1:], strict=True)) for row in rows
    }
    assert set(published) == set(expected)
    for category, figures in expected.items():
        shown = published[category]
        for column, value in figures.items():
            got = shown[column]
            if isinstance(value, Decimal):
                got = Decimal(str(got))
            elif isinstance(value, int):
                got = int(got)
            assert got == value, (category, column, got, value)
    # The chain reaches the depth, and the deleted parent's children are top-level now.
    assert max(figures["category_level"] for figures in expected.values()) == refreshed["depth"]
    assert refreshed["depth"] >= 5
    for child in refreshed["children"]:
        assert published[child]["category_level"] == 1
        assert published[child]["parent_category_name"] is None
    deepest = published[refreshed["chain"][-1]]
    assert (
        int(deepest["products_count"]) > 0 and int(deepest["category_level"]) == refreshed["depth"]
    )


def test_the_tree_rules_of_the_mart_gate_pass_on_the_deep_tree(
    refreshed: dict[str, Any], environment: Environment
) -> None:
    """The tree's rules (every category hangs from a top-level one, so no cycle; the
    top-level categories' line revenue equals the products') pass at any depth, on the
    published marts: before, a fourth level failed the nightly build. They were dbt
    singular tests; the mart gate holds them now (dbt_project/README.md)."""
    from quality.gate import run_mart_gate

    marts = ["category_performance", "product_performance"]
    for engine in ENGINES:
        result = run_mart_gate(environment, engine, marts, schema="marts", rebuilt_together=marts)
        assert result.success, result.describe()
        assert not result.skipped_rules, result.skipped_rules
        [outcome] = [o for o in result.outcomes if o.suite == "marts.category_performance"]
        assert outcome.evaluated > 0 and outcome.row_count, outcome


# mart -> (the tampering, Postgres then ClickHouse; the rule that must catch it)
TAMPERED: dict[str, tuple[str, str, str]] = {
    "promotion_performance": (
        # The most used promotion: one with orders, so only this rule can break.
        "UPDATE {t} SET orders_count = redemptions + 1 WHERE promotion_id = "
        "(SELECT promotion_id FROM {t} ORDER BY orders_count DESC, promotion_id LIMIT 1)",
        "ALTER TABLE {t} UPDATE orders_count = redemptions + 1 WHERE promotion_id = "
        "(SELECT promotion_id FROM marts.promotion_performance "
        "ORDER BY orders_count DESC, promotion_id LIMIT 1)",
        "promotion_performance.orders_count.within_redemptions",
    ),
    "category_performance": (
        "UPDATE {t} SET category_level = NULL "
        "WHERE category_id = (SELECT max(category_id) FROM {t})",
        "ALTER TABLE {t} UPDATE category_level = NULL WHERE category_id = "
        "(SELECT max(category_id) FROM marts.category_performance)",
        "category_performance.category_level.not_null",
    ),
    "product_performance": (
        "UPDATE {t} SET gross_margin = gross_margin + 1 WHERE revenue_rank = 1",
        "ALTER TABLE {t} UPDATE gross_margin = gross_margin + 1 WHERE revenue_rank = 1",
        "product_performance.gross_margin.identity",
    ),
    "inventory_status": (
        "UPDATE {t} SET suggested_order_quantity = 1 WHERE quantity_available > reorder_point",
        "ALTER TABLE {t} UPDATE suggested_order_quantity = 1 "
        "WHERE quantity_available > reorder_point",
        "inventory_status.suggested_order_quantity.rule",
    ),
}


def test_the_mart_gate_catches_broken_new_columns(
    refreshed: dict[str, Any], environment: Environment
) -> None:
    from quality.gate import run_mart_gate

    published = mart_fingerprints(environment)
    marts = list(TAMPERED)
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart, (postgres, _, _) in TAMPERED.items():
            table = f"{SHADOW_SCHEMA}.{mart}"
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} AS SELECT * FROM marts.{mart}")
            conn.execute(postgres.format(t=table))
    with clickhouse_client(environment.clickhouse_url) as client:
        client.command(f"CREATE DATABASE IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart, (_, clickhouse, _) in TAMPERED.items():
            table = f"{SHADOW_SCHEMA}.{mart}"
            client.command(f"DROP TABLE IF EXISTS {table}")
            client.command(
                f"CREATE TABLE {table} ENGINE = MergeTree ORDER BY tuple() "
                f"AS SELECT * FROM marts.{mart}"
            )
            client.command(clickhouse.format(t=table), settings={"mutations_sync": 2})
    try:
        for engine in ENGINES:
            result = run_mart_gate(environment, engine, marts, rebuilt_together=marts)
            failed = {failure.rule for failure in result.failures}
            assert failed == {rule for _, _, rule in TAMPERED.values()}, (
                engine,
                result.describe(),
            )
    finally:
        with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
            for mart in marts:
                conn.execute(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
        with clickhouse_client(environment.clickhouse_url) as client:
            for mart in marts:
                client.command(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
    assert mart_fingerprints(environment) == published


# The rules that took over from the marts' dbt data tests (dbt_project/README.md) and that
# no GX expectation held before: each tampering below breaks exactly the rules listed.
# Keys are chosen from the published marts (equal in both engines), so every statement
# is a plain UPDATE of literal rows. Columns set to NULL are made Nullable in ClickHouse.
TAKEN_OVER_RULES = {
    "customer_analytics.customer_id.references_stg_shop__customers",
    "customer_analytics.days_since_last_order.consistent_with_orders",
    "customer_analytics.lifetime_revenue.matches_daily_sales",
    "customer_segments.monetary.matches_customer_analytics",
    "customer_segments.recency_days.not_null",
    "product_performance.product_id.references_stg_shop__products",
    "product_performance.revenue_rank.unique",
    "product_performance.orders_count.within_units_sold",
    "daily_sales.unique_customers.within_orders_count",
    "monthly_revenue.customers_count.within_orders_count",
    "category_performance.category_id.references_stg_shop__product_categories",
    "category_performance.active_products_count.not_null",
    "category_performance.revenue.matches_product_performance",
    "inventory_status.product_id.references_stg_shop__products",
    "inventory_status.avg_daily_units_30d.not_null",
    "promotion_performance.promotion_id.references_stg_shop__promotions",
    "promotion_performance.code.not_null",
    "promotion_performance.code.unique",
}
NULLED = {
    "customer_segments": ["recency_days"],
    "category_performance": ["active_products_count"],
    "inventory_status": ["avg_daily_units_30d"],
    "promotion_performance": ["code"],
}
UNKNOWN_ID = 10**12  # no row of the shop has such an id


def _one(environment: Environment, query: str) -> Any:
    with psycopg.connect(environment.warehouse_url) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None, query
    return row[0] if len(row) == 1 else row


def _tamperings(environment: Environment) -> list[tuple[str, str, str]]:
    """(mart, SET clause, WHERE clause) for both engines, from the published marts."""
    never_bought = _one(
        environment,
        "SELECT min(customer_id) FROM marts.customer_analytics WHERE orders_count = 0",
    )
    assert never_bought is not None, "the shop needs a customer who never bought"
    first_buyer, last_buyer = _one(
        environment,
        "SELECT min(customer_id), max(customer_id) FROM marts.customer_analytics "
        "WHERE orders_count > 0",
    )
    unsold = _one(
        environment, "SELECT min(product_id) FROM marts.product_performance WHERE revenue = 0"
    )
    assert unsold is not None, "the shop needs a product never sold"
    busiest_day = _one(
        environment,
        "SELECT sales_date FROM marts.daily_sales ORDER BY orders_count DESC, sales_date LIMIT 1",
    )
    top_category = _one(
        environment,
        "SELECT category_id FROM marts.category_performance WHERE category_level = 1 "
        "ORDER BY revenue DESC, category_id LIMIT 1",
    )
    last_category, first_category = _one(
        environment, "SELECT max(category_id), min(category_id) FROM marts.category_performance"
    )
    first_stock, last_stock = _one(
        environment,
        "SELECT min(product_id), max(product_id) FROM marts.inventory_status",
    )
    with psycopg.connect(environment.warehouse_url) as conn:
        promotions = [
            row[0]
            for row in conn.execute(
                "SELECT promotion_id FROM marts.promotion_performance ORDER BY promotion_id"
            )
        ]
    assert len(promotions) >= 3, promotions
    second_code = _one(
        environment,
        f"SELECT code FROM marts.promotion_performance WHERE promotion_id = {promotions[1]}",
    )
    return [
        ("customer_analytics", f"customer_id = {UNKNOWN_ID}", f"customer_id = {never_bought}"),
        ("customer_analytics", "days_since_last_order = NULL", f"customer_id = {first_buyer}"),
        (
            "customer_analytics",
            "lifetime_revenue = lifetime_revenue + 1",
            f"customer_id = {last_buyer}",
        ),
        ("customer_segments", "recency_days = NULL", f"customer_id = {first_buyer}"),
        ("product_performance", f"product_id = {UNKNOWN_ID}", f"product_id = {unsold}"),
        ("product_performance", "revenue_rank = 1", "revenue_rank = 2"),
        ("product_performance", "orders_count = units_sold + 1", "revenue_rank = 3"),
        ("daily_sales", "unique_customers = orders_count + 1", f"sales_date = '{busiest_day}'"),
        (
            "monthly_revenue",
            "customers_count = orders_count + 1",
            "month_start = (SELECT max(month_start) FROM marts.monthly_revenue)",
        ),
        ("category_performance", f"category_id = {UNKNOWN_ID}", f"category_id = {last_category}"),
        ("category_performance", "active_products_count = NULL", f"category_id = {first_category}"),
        (
            "category_performance",
            "revenue = revenue + 1, gross_margin = gross_margin + 1",
            f"category_id = {top_category}",
        ),
        ("inventory_status", f"product_id = {UNKNOWN_ID}", f"product_id = {last_stock}"),
        ("inventory_status", "avg_daily_units_30d = NULL", f"product_id = {first_stock}"),
        (
            "promotion_performance",
            f"promotion_id = {UNKNOWN_ID}",
            f"promotion_id = {promotions[-1]}",
        ),
        ("promotion_performance", "code = NULL", f"promotion_id = {promotions[-2]}"),
        ("promotion_performance", f"code = '{second_code}'", f"promotion_id = {promotions[0]}"),
    ]  # fmt: skip


def test_the_mart_gate_holds_the_rules_of_the_retired_dbt_tests(
    refreshed: dict[str, Any], environment: Environment
) -> None:
    """Copies of every published mart in the shadow, each broken the way a retired dbt data
    test caught (dbt_project/README.md): the gate names exactly those rules, in both
    engines, and the published marts stay as they were."""
    from core.vocabulary import MARTS
    from quality.gate import run_mart_gate

    published = mart_fingerprints(environment)
    tamperings = _tamperings(environment)
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart in MARTS:
            conn.execute(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
            conn.execute(f"CREATE TABLE {SHADOW_SCHEMA}.{mart} AS SELECT * FROM marts.{mart}")
        for mart, assignments, where in tamperings:
            conn.execute(f"UPDATE {SHADOW_SCHEMA}.{mart} SET {assignments} WHERE {where}")
    with clickhouse_client(environment.clickhouse_url) as client:
        client.command(f"CREATE DATABASE IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart in MARTS:
            nullable = ", ".join(f"toNullable({c}) AS {c}" for c in NULLED.get(mart, []))
            columns = f"* REPLACE ({nullable})" if nullable else "*"
            client.command(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
            client.command(
                f"CREATE TABLE {SHADOW_SCHEMA}.{mart} ENGINE = MergeTree ORDER BY tuple() "
                f"AS SELECT {columns} FROM marts.{mart}"
            )
        for mart, assignments, where in tamperings:
            client.command(
                f"ALTER TABLE {SHADOW_SCHEMA}.{mart} UPDATE {assignments} WHERE {where}",
                settings={"mutations_sync": 2},
            )
    try:
        for engine in ENGINES:
            result = run_mart_gate(environment, engine, MARTS, rebuilt_together=MARTS)
            failed = {failure.rule for failure in result.failures}
            assert failed == TAKEN_OVER_RULES, (
                engine,
                sorted(failed - TAKEN_OVER_RULES),
                sorted(TAKEN_OVER_RULES - failed),
                result.describe(),
            )
            assert not [failure for failure in result.failures if failure.error], engine
    finally:
        with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
            for mart in MARTS:
                conn.execute(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
        with clickhouse_client(environment.clickhouse_url) as client:
            for mart in MARTS:
                client.command(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
    assert mart_fingerprints(environment) == published
