"""dbt builds staging and the eight marts in both engines, identically, and keeps them.

A small generated shop (scale 0.05) is extracted in full and built on both targets;
then the shop lives two more hours, the incremental extract runs and both engines
build again. The marts must have exactly docs/design.md's columns, equal rows in both
engines (the parity check), must survive rebuilding staging (the view trap), and the
docs must generate for both targets.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import clickhouse_connect
import psycopg
import pytest
from test_dbt_parse_state import reused_last_parse

from core.settings import Environment
from ingest.extract.run import extract
from ingest.shop.generate import generate_shop
from ingest.shop.simulate import simulate_shop
from pipelines.defs.dbt.connection import TARGETS, DbtRun, run_dbt
from quality.parity import check_parity

# docs/design.md, "Marts" and "Added in the second wave": names and columns, in order (the
# designed columns first, then the ones analysts asked for next).
DESIGNED_MARTS: dict[str, list[str]] = {
    "customer_analytics": [
        "customer_id", "first_order_date", "last_order_date", "orders_count",
        "lifetime_revenue", "avg_order_value", "items_purchased", "days_since_last_order",
        "tier", "is_active",
    ],
    "customer_segments": [
        "customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
        "m_score", "rfm_score", "segment", "tier", "is_active",
    ],
    "product_performance": [
        "product_id", "product_name", "category_name", "units_sold", "revenue",
        "orders_count", "review_count", "avg_rating", "revenue_rank", "is_active",
        "cost_of_goods", "gross_margin", "gross_margin_pct",
    ],
    "daily_sales": [
        "sales_date", "orders_count", "items_sold", "gross_revenue", "discount_total",
        "net_revenue", "avg_order_value", "unique_customers", "new_customers",
    ],
    "monthly_revenue": [
        "month_start", "revenue", "orders_count", "customers_count", "avg_order_value",
        "mom_growth_pct",
    ],
    "category_performance": [
        "category_id", "category_name", "parent_category_name", "products_count",
        "units_sold", "revenue", "revenue_share", "category_level", "active_products_count",
        "own_units_sold", "own_revenue", "cost_of_goods", "gross_margin", "gross_margin_pct",
    ],
    "inventory_status": [
        "product_id", "warehouse_code", "quantity_on_hand", "quantity_reserved",
        "quantity_available", "reorder_point", "avg_daily_units_30d", "days_of_cover",
        "stock_status", "product_name", "reorder_quantity", "suggested_order_quantity",
    ],
    "promotion_performance": [
        "promotion_id", "code", "name", "discount_type", "redemptions", "orders_count",
        "revenue", "discount_total", "avg_order_value", "avg_order_value_without",
        "revenue_share", "first_order_date", "last_order_date",
    ],
}  # fmt: skip

# The intermediate layer (models/intermediate): views beside staging, read by the marts.
INTERMEDIATE_MODELS = {
    "int_orders__recognized",
    "int_order_items__recognized",
    "int_customers__order_summary",
    "int_products__monthly",
    "int_products__sales",
    "int_sales__daily",
    "int_sales__monthly",
    "int_promotions__daily",
    "int_as_of_date",
}

BUILD = ["build", "--exclude-resource-type", "unit_test"]


def assert_ok(runs: dict[str, DbtRun]) -> None:
    for run in runs.values():
        tail = "\n".join(run.output.splitlines()[-40:])
        assert run.ok, f"dbt {' '.join(run.args)} failed on {run.target}:\n{tail}"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt artifacts and logs of this module, away from dbt_project/target."""
    return tmp_path_factory.mktemp("dbt-marts")


@pytest.fixture(scope="module")
def built(environment: Environment, artifacts: Path) -> dict[str, DbtRun]:
    """A small shop, extracted in full and built on both targets."""
    generate_shop(environment.shop_url, scale=0.05, seed=1, replace=True, progress=False)
    extract(environment, mode="full")
    runs = run_dbt(environment, BUILD, artifacts_dir=artifacts)
    assert_ok(runs)
    return runs


@pytest.fixture
def warehouse(environment: Environment) -> Iterator[psycopg.Connection]:
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def clickhouse(environment: Environment) -> Iterator[clickhouse_connect.driver.client.Client]:
    client = clickhouse_connect.get_client(dsn=environment.clickhouse_url)
    yield client
    client.close()


def scalar(conn: psycopg.Connection, query: str) -> Any:
    row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def mart_reloptions(conn: psycopg.Connection) -> dict[str, tuple[Any, Any]]:
    """The storage parameters of each published mart and of its TOAST table, name ->
    (reloptions, the TOAST table's reloptions; "no toast" when it has none)."""
    rows = conn.execute(
        "select c.relname, c.reloptions, "
        "case when t.oid is null then 'no toast' else t.reloptions::text end "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "left join pg_class t on t.oid = c.reltoastrelid "
        "where n.nspname = 'marts' and c.relkind = 'm'"
    ).fetchall()
    return {str(name): (options, toast) for name, options, toast in rows}


def published_materialized_views(conn: psycopg.Connection) -> dict[str, int]:
    """The marts in the warehouse's `marts` schema, name -> oid (the same oid: never dropped)."""
    rows = conn.execute(
        "select c.relname, c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'marts' and c.relkind = 'm'"
    ).fetchall()
    return {name: int(oid) for name, oid in rows}


def test_build_passes_on_both_engines(built: dict[str, DbtRun]) -> None:
    for target, run in built.items():
        results = run.artifact()["results"]
        models = {
            r["unique_id"].split(".")[-1] for r in results if r["unique_id"].startswith("model.")
        }
        assert set(DESIGNED_MARTS) <= models, target
        assert models >= INTERMEDIATE_MODELS, target
        assert sum(r["unique_id"].startswith("test.") for r in results) > 30, target
        # dbt 1.11 lists the exposures (the dashboards' pages) too, as `no-op`.
        built_or_tested = [r for r in results if not r["unique_id"].startswith("exposure.")]
        assert all(r["status"] in ("success", "pass") for r in built_or_tested), target
        assert len(built_or_tested) < len(results), "no exposure in the build"


def test_marts_carry_no_dbt_data_test(built: dict[str, DbtRun]) -> None:
    """One place per rule (dbt_project/README.md): a mart's data contracts are the mart
    gate's GX expectations; dbt tests the marts' logic with unit tests only. No data test
    is attached to a mart or an intermediate model, and none reads a mart."""
    for target, run in built.items():
        nodes = run.artifact("manifest.json")["nodes"]
        tests = [node for node in nodes.values() if node["resource_type"] == "test"]
        assert tests, target
        for node in tests:
            parents = node["depends_on"]["nodes"]
            assert not [
                parent
                for parent in parents
                if parent.split(".")[-1] in DESIGNED_MARTS or ".int_" in parent
            ], (target, node["unique_id"], parents)


def test_marts_have_exactly_the_designed_columns(
    built: dict[str, DbtRun], warehouse: psycopg.Connection, clickhouse
) -> None:
    for mart, columns in DESIGNED_MARTS.items():
        warehouse_columns = [
            row[0]
            for row in warehouse.execute(
                "select a.attname from pg_attribute a where a.attrelid = %s::regclass "
                "and a.attnum > 0 and not a.attisdropped order by a.attnum",
                (f"marts.{mart}",),
            )
        ]
        clickhouse_columns = [
            row[0]
            for row in clickhouse.query(
                "SELECT name FROM system.columns WHERE database = 'marts' AND table = {t:String} "
                "ORDER BY position",
                parameters={"t": mart},
            ).result_rows
        ]
        assert warehouse_columns == columns, mart
        assert clickhouse_columns == columns, mart


def test_marts_are_materialized_views_with_a_unique_grain_index_and_mergetree_tables(
    built: dict[str, DbtRun], warehouse: psycopg.Connection, clickhouse
) -> None:
    assert set(published_materialized_views(warehouse)) == set(DESIGNED_MARTS)
    unique_indexes = {
        (table, definition.split("USING btree ")[1])
        for table, definition in warehouse.execute(
            "select tablename, indexdef from pg_indexes where schemaname = 'marts' "
            "and indexdef like 'CREATE UNIQUE INDEX%'"
        )
    }
    assert ("inventory_status", "(product_id, warehouse_code)") in unique_indexes
    assert ("customer_segments", "(customer_id)") in unique_indexes
    assert len(unique_indexes) == len(DESIGNED_MARTS)
    engines = dict(
        clickhouse.query(
            "SELECT name, engine FROM system.tables WHERE database = 'marts'"
        ).result_rows
    )
    assert {engines[mart] for mart in DESIGNED_MARTS} == {"MergeTree"}


def test_parity_holds_for_every_mart(built: dict[str, DbtRun], environment: Environment) -> None:
    report = check_parity(environment)
    assert report.passed, report.summary()
    # Every mart, and nothing else but the seed's names over them (`mv_<mart>`, views a
    # publish earlier in the session may have left in `marts`).
    compared = {mart.mart for mart in report.marts}
    assert set(DESIGNED_MARTS) <= compared
    assert compared - set(DESIGNED_MARTS) <= {f"mv_{mart}" for mart in DESIGNED_MARTS}
    assert all(mart.warehouse_rows for mart in report.marts), report.summary()
    # Equal fingerprints decided each mart: the rows were not streamed.
    assert {mart.method for mart in report.marts} == {"fingerprint"}


def test_parity_names_the_broken_mart_and_its_first_differing_rows(
    built: dict[str, DbtRun], environment: Environment, clickhouse
) -> None:
    day = clickhouse.command("SELECT min(sales_date) FROM marts.daily_sales WHERE orders_count > 0")
    change = (
        "ALTER TABLE marts.daily_sales UPDATE net_revenue = net_revenue + {delta} "
        "WHERE sales_date = {day:Date}"
    )
    clickhouse.command(
        change.replace("{delta}", "1"), parameters={"day": day}, settings={"mutations_sync": 2}
    )
    try:
        report = check_parity(environment, marts=["daily_sales", "monthly_revenue"])
        assert not report.passed
        [failure] = report.failures
        assert failure.mart == "daily_sales"
        assert failure.differing_rows == 1
        assert failure.method == "rows"  # the fingerprints differed: the rows were merged
        [difference] = failure.differences
        assert difference.column == "net_revenue"
        assert difference.key is not None and str(difference.key[0]) == str(day)
        assert difference.clickhouse - difference.warehouse == Decimal("1.00")
        summary = report.summary()
        assert "daily_sales: 1 differing rows" in summary
        assert f"row (sales_date={day}) column net_revenue: warehouse=" in summary
    finally:
        clickhouse.command(
            change.replace("{delta}", "-1"), parameters={"day": day}, settings={"mutations_sync": 2}
        )
    assert check_parity(environment, marts=["daily_sales"]).passed


def test_rebuilding_staging_keeps_the_published_marts(
    built: dict[str, DbtRun], environment: Environment, warehouse: psycopg.Connection, artifacts
) -> None:
    """dbt must never drop (CASCADE) a published materialized view: not when it rebuilds
    staging (even with --full-refresh), not when the full extract reloads raw."""
    before = published_materialized_views(warehouse)
    rows_before = scalar(warehouse, "select count(*) from marts.customer_analytics")
    staging = ["run", "--select", "staging", "--full-refresh"]
    assert_ok(run_dbt(environment, staging, targets=["postgres"], artifacts_dir=artifacts))
    assert published_materialized_views(warehouse) == before
    extract(environment, mode="full")
    assert published_materialized_views(warehouse) == before
    assert scalar(warehouse, "select count(*) from marts.customer_analytics") == rows_before


def test_build_again_after_the_shop_lived_two_hours(
    built: dict[str, DbtRun], environment: Environment, warehouse: psycopg.Connection, artifacts
) -> None:
    published = published_materialized_views(warehouse)
    orders_before = scalar(warehouse, "select count(*) from raw.orders")
    simulate_shop(environment.shop_url, hours=2, seed=7, progress=False)
    extract(environment, mode="incremental")
    assert scalar(warehouse, "select count(*) from raw.orders") > orders_before
    assert_ok(run_dbt(environment, BUILD, artifacts_dir=artifacts))
    # The project is the one the last build on this folder parsed: dbt reused its parse.
    for target in TARGETS:
        assert reused_last_parse(artifacts / target / "dbt.log"), target
    report = check_parity(environment)
    assert report.passed, report.summary()
    raw_revenue = scalar(
        warehouse, "select sum(total_amount) from staging.stg_shop__orders where is_recognized"
    )
    assert scalar(warehouse, "select sum(net_revenue) from marts.daily_sales") == raw_revenue
    # The build replaced every staging view and refreshed the marts in place.
    assert published_materialized_views(warehouse) == published
    # Refreshed in place (concurrently, leaving dead rows): autovacuum is back on.
    options = mart_reloptions(warehouse)
    assert set(options) == set(DESIGNED_MARTS)
    assert {main for main, _ in options.values()} == {None}
    assert {toast for _, toast in options.values()} <= {"no toast", None}


def test_docs_generate_for_both_targets(
    built: dict[str, DbtRun], environment: Environment, artifacts: Path
) -> None:
    runs = run_dbt(environment, ["docs", "generate"], artifacts_dir=artifacts)
    assert_ok(runs)
    for target in TARGETS:
        catalog = runs[target].artifact("catalog.json")
        manifest = runs[target].artifact("manifest.json")
        for mart, columns in DESIGNED_MARTS.items():
            node = manifest["nodes"][f"model.shopmarts.{mart}"]
            assert len(node["description"]) > 80, (target, mart)
            described = {name: column["description"] for name, column in node["columns"].items()}
            assert set(described) == set(columns), (target, mart)
            assert all(len(text) > 10 for text in described.values()), (target, mart)
            in_catalog = catalog["nodes"][f"model.shopmarts.{mart}"]["columns"]
            assert {name.lower() for name in in_catalog} == set(columns), (target, mart)


def test_promotion_performance_agrees_with_the_shop(
    built: dict[str, DbtRun], warehouse: psycopg.Connection, clickhouse
) -> None:
    """Each promotion's figures, recomputed from raw with plain SQL, in both engines; about
    one order in seven carries a promotion in the generated shop."""
    expected = {
        row[0]: row[1:]
        for row in warehouse.execute(
            """
            select p.promotion_id, p.code, p.name, count(op.order_id),
                   count(o.order_id), coalesce(sum(o.total_amount), 0),
                   coalesce(sum(op.discount_amount) filter (where o.order_id is not null), 0)
            from raw.promotions p
            left join raw.order_promotions op on op.promotion_id = p.promotion_id
            left join raw.orders o on o.order_id = op.order_id
                and o.payment_status = 'completed'
                and o.order_status not in ('cancelled', 'returned')
            group by p.promotion_id, p.code, p.name
            """
        )
    }
    columns = "promotion_id, code, name, redemptions, orders_count, revenue, discount_total"
    in_warehouse = {
        row[0]: row[1:]
        for row in warehouse.execute(f"select {columns} from marts.promotion_performance")
    }
    in_clickhouse = {
        row[0]: tuple(row[1:])
        for row in clickhouse.query(
            f"SELECT {columns} FROM marts.promotion_performance"
        ).result_rows
    }
    assert in_warehouse == expected
    assert in_clickhouse == expected
    promoted = sum(row[3] for row in expected.values())
    orders = scalar(warehouse, "select count(*) from raw.orders")
    assert 0.08 < promoted / orders < 0.25, (promoted, orders)
    assert (
        scalar(warehouse, "select count(*) from marts.promotion_performance where name = ''") == 0
    )
