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
from test_quality_gates import Pipeline, failure_messages

from ingest.generate import generate_shop
from pipelines.defs.dbt.connection import run_dbt
from pipelines.defs.publish.marts import mart_fingerprints
from pipelines.engines.clients import clickhouse_client
from pipelines.engines.query import run_query
from pipelines.engines.settings import Environment
from quality import records
from quality.suites.suite import ENGINES
from quality.tables import SHADOW_SCHEMA

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


def test_dbt_tests_of_the_category_mart_pass_on_the_deep_tree(
    refreshed: dict[str, Any], environment: Environment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The tree's data tests (no cycle, line revenue agrees across marts) pass at any depth:
    before, a fourth level failed the nightly build."""
    runs = run_dbt(
        environment,
        ["test", "--select", "category_performance"],
        artifacts_dir=tmp_path_factory.mktemp("dbt-category-tree"),
    )
    for target, run in runs.items():
        assert run.ok, f"dbt test failed on {target}:\n{run.output[-3000:]}"
        names = {result["unique_id"] for result in run.artifact()["results"]}
        assert any("assert_category_tree_has_no_cycles" in name for name in names), target


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
