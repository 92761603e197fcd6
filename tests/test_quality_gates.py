"""Quality gates: bad data is stopped by the expectation meant for it, and analysts see no change.

A small shop is generated and refreshed once through the real Dagster assets (extract,
raw gates, dbt into the shadow, mart gates, parity, publish). Then each kind of bad data
is injected, the refresh runs again through the same assets, and the test asserts that

- the run fails, its failure names the rule meant to catch the fault, in every engine;
- the published marts of both engines are byte-for-byte what they were (same relation,
  same physical storage, same rows: fingerprints before and after);
- the refresh log records the failed gate with the failing expectation.

Faults the shop's own constraints allow go into the shop (the extract carries them into
raw). Faults its constraints forbid (a negative price, a rating of 7, ...) are injected
into the load, i.e. raw in both engines, and the run starts from the gates.

The Dagster plumbing (`Pipeline`) is also used by tests/test_publish.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dagster as dg
import psycopg
import pytest

from core.clients import clickhouse_client
from core.settings import Environment
from core.vocabulary import MARTS, RAW_TABLES, SHADOW_SCHEMA
from pipelines.defs.dbt.assets import (
    clickhouse_dbt_assets,
    dbt_resources,
    marts_cross_engine_parity,
    postgres_dbt_assets,
)
from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.extract.assets import extract_raw
from pipelines.defs.keys import mart_key, raw_key
from pipelines.defs.plan import (
    PLAN_RESOURCE_KEY,
    RefreshPlanResource,
    plan_for,
    refresh_plan_resource,
)
from pipelines.defs.publish.assets import PARITY_CHECK_NAME, published_marts
from pipelines.defs.publish.marts import mart_fingerprints
from pipelines.defs.quality.checks import (
    ENGINES,
    MART_CHECK_NAME,
    RAW_CHECK_NAME,
    mart_gates,
    raw_gates,
)
from pipelines.defs.refresh.jobs import refresh_run_config
from pipelines.defs.refresh_log import latest_refreshes
from quality.suites import raw_suites

SCALE = 0.02
SEED = 20261121
# The hourly plan rebuilds and publishes every mart (issue #17): its runs select them all.
HOURLY_MARTS = plan_for("hourly").marts


# --- the refresh, through the real Dagster assets ---------------------------------------


@dataclass
class Pipeline:
    """The refresh's assets and checks, run with `dg.materialize` like the jobs run them."""

    environment: Environment

    def resources(self) -> dict[str, Any]:
        return {
            **dbt_resources(),
            PLAN_RESOURCE_KEY: refresh_plan_resource,  # its mode: the run config's
            "shopmarts_environment": ShopmartsEnvironment(
                shop_url=self.environment.shop_url,
                warehouse_url=self.environment.warehouse_url,
                clickhouse_url=self.environment.clickhouse_url,
            ),
        }

    @staticmethod
    def definitions() -> list[Any]:
        return [
            extract_raw,
            postgres_dbt_assets,
            clickhouse_dbt_assets,
            published_marts,
            marts_cross_engine_parity,
            *raw_gates,
            *mart_gates,
        ]

    @staticmethod
    def selection(extract: str | None, marts: Sequence[str]) -> dg.AssetSelection:
        """The refresh's assets and exactly its gates (raw suites, mart suites, parity).

        dbt's own data tests are left out (they are dbt's tests, tested with the dbt
        project): without them a build takes a fraction of the time.
        """
        raw = [raw_key(engine, table) for engine in ENGINES for table in RAW_TABLES]
        built = [mart_key(engine, mart) for engine in ENGINES for mart in marts]
        gates = [dg.AssetCheckKey(key, RAW_CHECK_NAME) for key in raw]
        gates += [dg.AssetCheckKey(key, MART_CHECK_NAME) for key in built]
        gates += [dg.AssetCheckKey(key, PARITY_CHECK_NAME) for key in built]
        # Staging and intermediate too, even for a few marts: without them, dbt's subset has
        # no dependency on raw and would run before the extract and the raw gates.
        selected = (
            dg.AssetSelection.assets(*built, published_marts)
            | dg.AssetSelection.groups("staging", "intermediate")
        ).without_checks() | dg.AssetSelection.checks(*gates)
        if extract:
            selected = selected | dg.AssetSelection.assets(*raw).without_checks()
        return selected

    @staticmethod
    def run_config(mode: str) -> dict[str, Any]:
        """The jobs' own: the refresh plan of ``mode`` (extract mode, marts, shadow)."""
        return refresh_run_config(mode)

    def run(
        self,
        *,
        extract: str | None = "full",
        marts: Sequence[str] = MARTS,
        mode: str = "nightly",
    ) -> dg.ExecuteInProcessResult:
        # No dbt test is selected; "empty" keeps dbt from adding them back by indirect
        # selection (which would also run cross-mart singular tests in an hourly build,
        # where the other marts are absent from the shadow).
        # The plan of ``mode`` decides the extract's mode; ``extract`` only whether it runs.
        assert extract in (None, plan_for(mode).extract_mode), (extract, mode)
        with _environment_variable("DBT_INDIRECT_SELECTION", "empty"):
            return dg.materialize(
                self.definitions(),
                selection=self.selection(extract, marts),
                resources=self.resources(),
                run_config=self.run_config(mode),
                tags={"shopmarts/refresh": mode},
                raise_on_error=False,
            )


@contextlib.contextmanager
def _environment_variable(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def failure_messages(result: dg.ExecuteInProcessResult) -> str:
    return "\n".join(
        str(event.event_specific_data.error.message)  # type: ignore[union-attr]
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE"
    )


def failure_messages_by_step(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    return {
        str(event.step_key): str(event.event_specific_data.error.message)  # type: ignore[union-attr]
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE"
    }


def failed_rules(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dict[str, Any]]:
    """{(engine, rule): failure as reported in the check metadata} of every failed check."""
    found = {}
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed or "failing_expectations" not in evaluation.metadata:
            continue
        engine = evaluation.asset_key.path[0]
        for failure in evaluation.metadata["failing_expectations"].value:  # type: ignore[union-attr]
            found[engine, failure["rule"]] = failure
    return found


def prepare_shop(environment: Environment) -> None:
    """A fresh small shop; the row-count baseline of earlier loads no longer applies."""
    from ingest.shop.generate import generate_shop
    from quality import records

    generate_shop(environment.shop_url, scale=SCALE, seed=SEED, replace=True, progress=False)
    records.forget_good_counts(environment.warehouse_url)


@pytest.fixture(scope="module")
def pipeline(environment: Environment) -> Pipeline:
    return Pipeline(environment)


def ensure_published(environment: Environment, pipeline: Pipeline) -> None:
    """Marts published by a gated refresh of a small shop: reused when the session already
    has them (the other module made them), else a new shop is generated and refreshed."""
    fingerprints = mart_fingerprints(environment)
    published_before = any(r["status"] == "published" for r in latest_refreshes(environment, 50))
    with psycopg.connect(environment.shop_url, autocommit=True) as conn:
        shop = conn.execute("SELECT to_regclass('public.customers') IS NOT NULL").fetchone()
    if all(fingerprints.values()) and published_before and shop and shop[0]:
        return
    prepare_shop(environment)
    result = pipeline.run()
    assert result.success, failure_messages(result)


@pytest.fixture(scope="module")
def published(environment: Environment, pipeline: Pipeline) -> Mapping[tuple[str, str], Any]:
    """Marts published by a gated refresh; returns their fingerprints."""
    ensure_published(environment, pipeline)
    fingerprints = mart_fingerprints(environment)
    assert all(fingerprints.values()), fingerprints
    return fingerprints


# --- faults -----------------------------------------------------------------------------


def _literal(engine: str, value: Any) -> str:
    if isinstance(value, str):
        return (
            "'"
            + value.replace("\\", "\\\\").replace("'", "''" if engine == "postgres" else "\\'")
            + "'"
        )
    return str(value)


def corrupt_load(
    environment: Environment, table: str, key: str, key_value: int, values: Mapping[str, Any]
) -> None:
    """Change one row of raw.<table> in both engines, as a bad load would have."""
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        assignments = ", ".join(f"{c} = {_literal('postgres', v)}" for c, v in values.items())
        conn.execute(f"UPDATE raw.{table} SET {assignments} WHERE {key} = %s", (key_value,))
    with clickhouse_client(environment.clickhouse_url) as client:
        # ReplacingMergeTree: a newer version of the row replaces it under FINAL.
        replaced = ", ".join(f"{_literal('clickhouse', v)} AS {c}" for c, v in values.items())
        client.command(
            f"INSERT INTO raw.{table} SELECT * REPLACE ({replaced}, now64(6) AS _loaded_at) "
            f"FROM raw.{table} FINAL WHERE {key} = {key_value}"
        )


def first(environment: Environment, query: str) -> Any:
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None, query
    return row if len(row) > 1 else row[0]


@dataclass(frozen=True)
class Fault:
    name: str
    rule: str  # the expectation meant to catch it
    table: str  # the raw table it lands in
    in_shop: bool  # True: injected into the shop; False: into the load (raw)
    inject: Callable[[Environment], Callable[[], None] | None]  # returns how to undo a shop fault
    # The key of the row the fault lands in, when known: the failure must name it.
    corrupted_key: Callable[[Environment], Any] | None = None


def future_order_date(environment: Environment) -> Callable[[], None]:
    conn = psycopg.connect(environment.shop_url, autocommit=True)
    order_id, order_date, created_at = conn.execute(
        "SELECT order_id, order_date, created_at FROM orders WHERE shipped_at IS NULL "
        "ORDER BY order_id LIMIT 1"
    ).fetchone()
    # created_at >= order_date is a shop constraint: both move three days ahead.
    conn.execute(
        "UPDATE orders SET created_at = now() + interval '3 days', "
        "order_date = now() + interval '3 days' WHERE order_id = %s",
        (order_id,),
    )

    def undo() -> None:
        conn.execute(
            "UPDATE orders SET order_date = %s, created_at = %s WHERE order_id = %s",
            (order_date, created_at, order_id),
        )
        conn.close()

    return undo


def emptied_reviews(environment: Environment) -> Callable[[], None]:
    conn = psycopg.connect(environment.shop_url, autocommit=True)
    conn.execute("CREATE TEMPORARY TABLE saved_reviews AS SELECT * FROM reviews")
    conn.execute("DELETE FROM reviews")

    def undo() -> None:
        conn.execute("INSERT INTO reviews SELECT * FROM saved_reviews")
        conn.close()

    return undo


def load_fault(table: str, key: str, values: Callable[[Environment, int], Mapping[str, Any]]):
    def inject(environment: Environment) -> None:
        key_value = first(environment, f"SELECT min({key}) FROM raw.{table}")
        corrupt_load(environment, table, key, key_value, values(environment, key_value))

    return inject


def duplicate_sku(environment: Environment, product_id: int) -> Mapping[str, Any]:
    other = first(
        environment,
        f"SELECT sku FROM raw.products WHERE product_id > {product_id} ORDER BY 1 LIMIT 1",
    )
    return {"sku": other}


def broken_total(environment: Environment, order_id: int) -> Mapping[str, Any]:
    total = first(environment, f"SELECT total_amount FROM raw.orders WHERE order_id = {order_id}")
    return {"total_amount": total + 10}


FAULTS = [
    Fault(
        "future order date", "orders.order_date.not_in_future", "orders", True, future_order_date
    ),
    Fault("emptied table", "reviews.row_count.no_sharp_drop", "reviews", True, emptied_reviews),
    Fault(
        "negative price",
        "products.unit_price.non_negative",
        "products",
        False,
        load_fault("products", "product_id", lambda e, k: {"unit_price": -5}),
        lambda e: first(e, "SELECT min(product_id) FROM raw.products"),
    ),
    Fault(
        "zero quantity",
        "order_items.quantity.positive",
        "order_items",
        False,
        load_fault("order_items", "order_item_id", lambda e, k: {"quantity": 0}),
        lambda e: first(e, "SELECT min(order_item_id) FROM raw.order_items"),
    ),
    Fault(
        "review rated 7",
        "reviews.rating.between_1_and_5",
        "reviews",
        False,
        load_fault("reviews", "review_id", lambda e, k: {"rating": 7}),
        lambda e: first(e, "SELECT min(review_id) FROM raw.reviews"),
    ),
    Fault(
        "order total breaks the identity",
        "orders.total_amount.identity",
        "orders",
        False,
        load_fault("orders", "order_id", broken_total),
        lambda e: first(e, "SELECT min(order_id) FROM raw.orders"),
    ),
    Fault(
        "order of a missing customer",
        "orders.customer_id.references_customers",
        "orders",
        False,
        load_fault("orders", "order_id", lambda e, k: {"customer_id": 987_654_321}),
        lambda e: first(e, "SELECT min(order_id) FROM raw.orders"),
    ),
    Fault(
        "duplicate keys in a load",
        "products.sku.unique",
        "products",
        False,
        load_fault("products", "product_id", duplicate_sku),
        lambda e: first(e, "SELECT min(product_id) FROM raw.products"),
    ),
    Fault(
        "unknown order status",
        "orders.order_status.known",
        "orders",
        False,
        load_fault("orders", "order_id", lambda e, k: {"order_status": "teleported"}),
        lambda e: first(e, "SELECT min(order_id) FROM raw.orders"),
    ),
]


def run_with(
    fault: Fault, environment: Environment, run: Callable[[], dg.ExecuteInProcessResult]
) -> dg.ExecuteInProcessResult:
    """Inject ``fault``, run, and take a shop fault back out of the shop."""
    undo = fault.inject(environment)
    try:
        return run()
    finally:
        if undo:
            undo()


def read_page(link: str) -> str:
    """A Data Docs page: over http from the docs server, or the file (no server known)."""
    if link.startswith("http"):
        with urllib.request.urlopen(link, timeout=10) as response:
            return response.read().decode()
    return Path(unquote(urlsplit(link).path)).read_text()


def assert_stopped_by(result: dg.ExecuteInProcessResult, rule: str) -> dict:
    """The run failed, and ``rule`` failed in every engine; returns the failed rules."""
    assert not result.success
    rules = failed_rules(result)
    for engine in ENGINES:
        assert (engine, rule) in rules, (engine, rule, sorted(rules))
    return rules


@pytest.fixture
def restore_raw(environment: Environment) -> Iterator[list[str]]:
    """Tables to reload from the shop after the test (the fault is gone from the shop)."""
    tables: list[str] = []
    yield tables
    if tables:
        from ingest.extract.run import extract

        extract(environment, "full", tables=tables)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_fault_is_stopped_by_its_expectation(
    fault: Fault,
    environment: Environment,
    pipeline: Pipeline,
    published: Mapping[tuple[str, str], Any],
    restore_raw: list[str],
) -> None:
    restore_raw.append(fault.table)
    result = run_with(
        fault, environment, lambda: pipeline.run(extract="full" if fault.in_shop else None)
    )
    rules = assert_stopped_by(result, fault.rule)
    # The same rule counts the same rows in both engines (GX on Postgres, pushdown on
    # ClickHouse).
    counts = {engine: rules[engine, fault.rule]["unexpected_count"] for engine in ENGINES}
    assert counts["postgres"] == counts["clickhouse"], counts
    assert fault.rule in failure_messages(result)
    # Each failed gate's first line (what `shopmarts refresh` prints) names a failing rule
    # of its engine, with its relation.
    for step, message in failure_messages_by_step(result).items():
        engine = step.split("_")[0]
        first_line = message.splitlines()[0]
        assert any(rule in first_line for e, rule in rules if e == engine), first_line
        assert f"nothing is published: {engine} raw." in first_line, first_line
    # ... and its metadata lists every failing expectation with engine, relation and keys.
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            user_failure = event.event_specific_data.user_failure_data  # type: ignore[union-attr]
            listed = user_failure.metadata["failing_expectations"].value
            engine = str(event.step_key).split("_")[0]
            item = next(i for i in listed if i["rule"] == fault.rule)
            assert item["engine"] == engine and item["relation"] == f"raw.{fault.table}", item
            assert item["example_keys"] == rules[engine, fault.rule]["example_keys"], item
    key = next(s for s in raw_suites("postgres") if s.relation.name == fault.table).key
    row_level = rules["postgres", fault.rule]["unexpected_count"] is not None
    for engine in ENGINES:
        failure = rules[engine, fault.rule]
        assert failure["error"] is None, failure
        if failure["unexpected_count"] is not None:
            assert failure["unexpected_count"] > 0 and failure["samples"], failure
            # The keys of the failing rows, by the table's primary key: the corrupted row.
            assert failure["example_keys"], failure
            assert all(k.startswith(f"{key[0]}=") for k in failure["example_keys"]), failure
            if fault.corrupted_key is not None:
                corrupted = f"{key[0]}={fault.corrupted_key(environment)}"
                assert corrupted in failure["example_keys"], (corrupted, failure)
            assert "keys " + failure["example_keys"][0] in failure["summary"], failure
    failed_checks = {
        (e.asset_key.to_user_string(), e.check_name)
        for e in result.get_asset_check_evaluations()
        if not e.passed
    }
    for engine in ENGINES:
        assert (raw_key(engine, fault.table).to_user_string(), RAW_CHECK_NAME) in failed_checks
        # The failing check links its suite's Data Docs page, which names the rule.
        evaluation = next(
            e
            for e in result.get_asset_check_evaluations()
            if e.asset_key == raw_key(engine, fault.table) and e.check_name == RAW_CHECK_NAME
        )
        assert fault.rule in read_page(str(evaluation.metadata["data_docs"].value))
    # Nothing downstream of the gate ran: no dbt build, no publish.
    materialized = {m.asset_key for m in result.get_asset_materialization_events()}
    assert not materialized & {mart_key(e, m) for e in ENGINES for m in MARTS}
    assert published_marts.key not in materialized

    assert mart_fingerprints(environment) == published

    latest = latest_refreshes(environment, 1)[0]
    assert latest["run_id"] == result.run_id
    assert latest["status"] == "gate_failed" and latest["gates_passed"] is False
    assert any(fault.rule in text for text in latest["failing_expectations"])
    # One line per engine: engine, table, rule, failing rows and (row rules) their keys.
    for engine in ENGINES:
        logged = [t for t in latest["failing_expectations"] if t.startswith(f"{engine} ")]
        line = next(t for t in logged if fault.rule in t)
        assert line.startswith(f"{engine} raw.{fault.table}: {fault.rule}: "), line
        if row_level:
            assert " failing row" in line and f"keys {key[0]}=" in line, line
    with clickhouse_client(environment.clickhouse_url) as client:
        row = client.query(
            "SELECT status, failing_expectations FROM meta.refresh_log WHERE run_id = %(r)s",
            parameters={"r": result.run_id},
        ).result_rows
    assert len(row) == 1 and row[0][0] == "gate_failed"
    assert any(fault.rule in text for text in row[0][1])


# --- the mart gate, on a tampered shadow ------------------------------------------------


def test_mart_gate_catches_bad_shadow_marts(
    environment: Environment, published: Mapping[tuple[str, str], Any]
) -> None:
    from quality.gate import run_mart_gate

    tampered = ("daily_sales", "monthly_revenue", "inventory_status")
    product_id, warehouse_code = first(
        environment,
        "SELECT product_id, warehouse_code FROM marts.inventory_status "
        "WHERE quantity_available > 0 ORDER BY 1, 2 LIMIT 1",
    )
    # Copies of the published marts, except monthly_revenue, derived from the daily copy:
    # after an hourly refresh the published monthly_revenue lags daily_sales by design.
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart in tampered:
            conn.execute(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
        for mart in ("daily_sales", "inventory_status"):
            conn.execute(f"CREATE TABLE {SHADOW_SCHEMA}.{mart} AS SELECT * FROM marts.{mart}")
        conn.execute(
            f"CREATE TABLE {SHADOW_SCHEMA}.monthly_revenue AS "
            "SELECT date_trunc('month', sales_date)::date AS month_start, "
            "sum(net_revenue) AS revenue, sum(orders_count) AS orders_count, "
            "sum(unique_customers) AS customers_count, "
            "round(sum(net_revenue) / nullif(sum(orders_count), 0), 2) AS avg_order_value "
            f"FROM {SHADOW_SCHEMA}.daily_sales GROUP BY 1"
        )
        conn.execute(
            f"UPDATE {SHADOW_SCHEMA}.daily_sales SET net_revenue = net_revenue + 1 "
            f"WHERE sales_date = (SELECT max(sales_date) FROM {SHADOW_SCHEMA}.daily_sales)"
        )
        conn.execute(
            f"UPDATE {SHADOW_SCHEMA}.inventory_status SET stock_status = 'out_of_stock' "
            f"WHERE (product_id, warehouse_code) = (SELECT product_id, warehouse_code "
            f"FROM {SHADOW_SCHEMA}.inventory_status WHERE quantity_available > 0 "
            "ORDER BY 1, 2 LIMIT 1)"
        )
    with clickhouse_client(environment.clickhouse_url) as client:
        client.command(f"CREATE DATABASE IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart in tampered:
            client.command(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
        for mart in ("daily_sales", "inventory_status"):
            client.command(
                f"CREATE TABLE {SHADOW_SCHEMA}.{mart} ENGINE = MergeTree ORDER BY tuple() "
                f"AS SELECT * FROM marts.{mart}"
            )
        client.command(
            f"CREATE TABLE {SHADOW_SCHEMA}.monthly_revenue ENGINE = MergeTree ORDER BY tuple() "
            "AS SELECT toStartOfMonth(d.sales_date) AS month_start, "
            "sum(d.net_revenue) AS revenue, sum(d.orders_count) AS orders_count, "
            "sum(d.unique_customers) AS customers_count, "
            "round(sum(d.net_revenue) / nullIf(sum(d.orders_count), 0), 2) AS avg_order_value "
            f"FROM {SHADOW_SCHEMA}.daily_sales AS d GROUP BY month_start"
        )
        client.command(
            f"ALTER TABLE {SHADOW_SCHEMA}.daily_sales UPDATE net_revenue = net_revenue + 1 "
            f"WHERE sales_date = (SELECT max(sales_date) FROM marts.daily_sales) "
            "SETTINGS mutations_sync = 2"
        )
        client.command(
            f"ALTER TABLE {SHADOW_SCHEMA}.inventory_status UPDATE stock_status = 'out_of_stock' "
            "WHERE (product_id, warehouse_code) IN (SELECT product_id, warehouse_code "
            "FROM marts.inventory_status WHERE quantity_available > 0 ORDER BY 1, 2 LIMIT 1) "
            "SETTINGS mutations_sync = 2"
        )
    try:
        for engine in ENGINES:
            result = run_mart_gate(environment, engine, tampered, rebuilt_together=tampered)
            rules = {f.rule: f for f in result.failures}
            assert set(rules) == {
                "monthly_revenue.revenue.matches_daily_sales",
                "inventory_status.stock_status.consistent_with_quantities",
            }, (engine, result.describe())
            assert rules["monthly_revenue.revenue.matches_daily_sales"].unexpected_count == 1
            stock = rules["inventory_status.stock_status.consistent_with_quantities"]
            assert stock.samples
            # The failing row is named by the mart's grain, the same in both engines.
            key = f"(product_id={product_id}, warehouse_code={warehouse_code})"
            assert stock.example_keys == (key,), (engine, stock)
            assert f"{engine} {SHADOW_SCHEMA}.inventory_status: " in "\n".join(
                result.failure_lines()
            )
            # Without monthly_revenue rebuilt alongside, the cross-mart rule is left out.
            alone = run_mart_gate(environment, engine, ["daily_sales"], rebuilt_together=[])
            assert alone.success, alone.describe()
    finally:
        with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
            for mart in tampered:
                conn.execute(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
        with clickhouse_client(environment.clickhouse_url) as client:
            for mart in tampered:
                client.command(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
    assert mart_fingerprints(environment) == published


@pytest.mark.parametrize(
    "fault", [FAULTS[0], FAULTS[1]], ids=["future order date", "emptied table"]
)
def test_an_incremental_load_is_gated_on_the_rows_it_wrote(
    fault: Fault,
    environment: Environment,
    pipeline: Pipeline,
    published: Mapping[tuple[str, str], Any],
    restore_raw: list[str],
) -> None:
    """The hourly raw gate reads only the rows the load wrote (plus whole-table counts),
    and still stops a bad row it carries and a table that lost its rows."""
    restore_raw.append(fault.table)
    result = run_with(
        fault,
        environment,
        lambda: pipeline.run(extract="incremental", marts=HOURLY_MARTS, mode="hourly"),
    )
    assert_stopped_by(result, fault.rule)
    whole = first(environment, f"SELECT count(*) FROM raw.{fault.table}")
    for engine in ENGINES:
        evaluation = next(
            e
            for e in result.get_asset_check_evaluations()
            if e.asset_key == raw_key(engine, fault.table) and e.check_name == RAW_CHECK_NAME
        )
        scope = str(evaluation.metadata["validated_rows"].value)
        assert scope.startswith("the rows this load wrote: updated_at >= "), scope
        if fault.table == "orders":  # the changed order, not the whole table
            assert 0 < evaluation.metadata["rows"].value < whole, evaluation.metadata
    assert mart_fingerprints(environment) == published


def test_a_clickhouse_slice_names_its_keys_once_and_finds_its_faults(
    environment: Environment,
    published: Mapping[tuple[str, str], Any],
    restore_raw: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ClickHouse's hourly raw gate reads the keys of the rows a load wrote once, into a
    materialized CTE that the pass and its uniqueness and reference rules name, and still
    counts each slice's rows and stops the faults in them (a dangling customer and an
    unknown status in the order; the order line written with it is clean)."""
    from quality import clickhouse_validation
    from quality.gate import run_raw_gate

    restore_raw.extend(["orders", "order_items"])
    since = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    written = (since + dt.timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    order = first(environment, "SELECT max(order_id) FROM raw.orders")
    corrupt_load(
        environment,
        "orders",
        "order_id",
        order,
        {"customer_id": 987_654_321, "order_status": "teleported", "updated_at": written},
    )
    line = first(environment, "SELECT max(order_item_id) FROM raw.order_items")
    corrupt_load(environment, "order_items", "order_item_id", line, {"updated_at": written})
    passes: list[dict[str, Any]] = []
    one_pass = clickhouse_validation._one_pass

    def recorded(suite: Any, query: str) -> dict[str, Any]:
        arguments = one_pass(suite, query)
        passes.append(arguments)
        return arguments

    monkeypatch.setattr(clickhouse_validation, "_one_pass", recorded)
    result = run_raw_gate(
        environment,
        "clickhouse",
        ["orders", "order_items"],
        changed_since={"orders": ("updated_at", since), "order_items": ("updated_at", since)},
        remember_counts=False,
    )
    assert len(passes) == 2
    for table, arguments in zip(("orders", "order_items"), passes, strict=True):
        query, keys = arguments["query"], clickhouse_validation.SLICE_KEYS
        assert query.startswith(f"WITH {keys} AS MATERIALIZED (SELECT ")
        # One plain read of the cursor (the keys); every reading of the slice names them.
        assert query.count(f"FROM `raw`.`{table}` WHERE ") == 1, query
        readings = query.count(f"FROM `raw`.`{table}` FINAL WHERE ")
        assert readings == query.count(f"IN {keys})") >= 2, query
        assert arguments["settings"] == {"enable_materialized_cte": 1}
    assert result.outcome("orders").row_count == 1
    assert result.outcome("order_items").row_count == 1
    failed = {failure.rule: failure for failure in result.failures}
    assert set(failed) == {
        "orders.customer_id.references_customers",
        "orders.order_status.known",
    }, result.describe()
    assert failed["orders.customer_id.references_customers"].example_keys == (f"order_id={order}",)


def test_clean_load_passes_with_the_same_counts_in_both_engines(
    environment: Environment, published: Any
) -> None:
    from quality.gate import run_raw_gate

    results = {
        engine: run_raw_gate(environment, engine, remember_counts=False) for engine in ENGINES
    }
    for result in results.values():
        assert result.success, result.describe()
        assert len(result.outcomes) == len(RAW_TABLES)
    for table in RAW_TABLES:
        counts = {e: results[e].outcome(table).row_count for e in ENGINES}
        assert counts["postgres"] == counts["clickhouse"], (table, counts)


def _stub_marts(engines: Sequence[str]) -> dg.AssetsDefinition:
    """Stands in for dbt: 'rebuilds' daily_sales in ``engines`` without any gate."""

    @dg.multi_asset(
        specs=[dg.AssetSpec(mart_key(engine, "daily_sales")) for engine in engines],
        name="unvalidated_" + "_".join(engines),
    )
    def _build() -> Iterator[dg.MaterializeResult]:
        for engine in engines:
            yield dg.MaterializeResult(asset_key=mart_key(engine, "daily_sales"))

    return _build


@pytest.mark.parametrize(
    ("engines", "reason"),
    [
        (ENGINES, "no passing mart gate in this run"),
        (ENGINES, "no cross-engine parity check in this run"),
        (("postgres",), "rebuilt in one engine only: daily_sales"),
    ],
)
def test_publish_refuses_what_no_gate_validated(
    environment: Environment,
    pipeline: Pipeline,
    published: Mapping[tuple[str, str], Any],
    engines: tuple[str, ...],
    reason: str,
) -> None:
    """Marts rebuilt without their gates (or in one engine only): nothing is published."""
    result = dg.materialize(
        [_stub_marts(engines), published_marts],
        resources={
            "shopmarts_environment": pipeline.resources()["shopmarts_environment"],
            PLAN_RESOURCE_KEY: RefreshPlanResource(mode="hourly"),
        },
        raise_on_error=False,
    )
    assert not result.success
    assert reason in failure_messages(result)
    assert mart_fingerprints(environment) == published
    latest = latest_refreshes(environment, 1)[0]
    assert latest["run_id"] == result.run_id and latest["status"] == "publish_failed"
    # The publish step looks the dbt module's parity check up by name.
    assert next(iter(marts_cross_engine_parity.check_specs)).name == PARITY_CHECK_NAME


# --- the PostgreSQL gate's one pass -------------------------------------------------------


def _gx_results(
    environment: Environment, suites: Sequence[Any], one_pass_first: bool, docs: Path
) -> dict:
    """{suite: its GX suite result} from the PostgreSQL runner, one pass first or GX alone."""
    from quality.data_docs import ephemeral_context
    from quality.postgres_runner import validate_suites

    context = ephemeral_context(docs)
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        validated = validate_suites(
            context, conn, environment.warehouse_url, suites, "one-pass-test", one_pass_first
        )
    return {name: found.result for name, found in validated.items()}


def _comparable(result: Any) -> dict:
    """An expectation's result as JSON, less the id GX gives a suite's expectation."""
    found = result.to_json_dict()
    found["expectation_config"].pop("id", None)
    return found


def test_one_pass_reports_what_gx_alone_reports(
    environment: Environment, published: Any, restore_raw: list[str], tmp_path: Path
) -> None:
    """The PostgreSQL gate measures each suite in one pass and leaves to GX only what the
    pass did not find met. On a clean load (every raw suite, every published mart suite)
    its results are GX's own, field for field; with faults of five kinds planted in one
    load, it reports the same failures as GX alone (rule, failing rows, keys, samples), and
    ClickHouse's pushdown names the same rules and keys."""
    from quality.data_docs import ephemeral_context
    from quality.gate import run_raw_gate
    from quality.postgres_runner import run_on_postgres
    from quality.suites import RawSuiteOptions, mart_suites

    clean = [*raw_suites("postgres"), *mart_suites("postgres", schema="marts")]
    settled = _gx_results(environment, clean, True, tmp_path / "settled")
    alone = _gx_results(environment, clean, False, tmp_path / "alone")
    for suite in clean:
        ours, theirs = settled[suite.name], alone[suite.name]
        assert ours.success and theirs.success, suite.name
        assert ours.statistics == theirs.statistics, suite.name
        assert [_comparable(r) for r in ours.results] == [_comparable(r) for r in theirs.results], (
            suite.name
        )

    # An incremental load that changed no row of any table: GX's results of empty batches.
    future = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    nothing_changed = raw_suites(
        "postgres",
        options=RawSuiteOptions(
            changed_since={
                table: ("changed_at" if table == "audit_log" else "updated_at", future)
                for table in RAW_TABLES
            }
        ),
    )
    settled = _gx_results(environment, nothing_changed, True, tmp_path / "settled_empty")
    alone = _gx_results(environment, nothing_changed, False, tmp_path / "alone_empty")
    for suite in nothing_changed:
        ours, theirs = settled[suite.name], alone[suite.name]
        assert [_comparable(r) for r in ours.results] == [_comparable(r) for r in theirs.results], (
            suite.name
        )

    restore_raw.extend(["products", "orders"])
    product = first(environment, "SELECT min(product_id) FROM raw.products")
    corrupt_load(environment, "products", "product_id", product, {"unit_price": -5})
    duplicated = first(
        environment, f"SELECT min(product_id) FROM raw.products WHERE product_id > {product}"
    )
    corrupt_load(
        environment, "products", "product_id", duplicated, duplicate_sku(environment, duplicated)
    )
    order = first(environment, "SELECT min(order_id) FROM raw.orders")
    corrupt_load(
        environment,
        "orders",
        "order_id",
        order,
        {
            "order_status": "teleported",
            "customer_id": 987_654_321,
            "total_amount": first(
                environment, f"SELECT total_amount + 10 FROM raw.orders WHERE order_id = {order}"
            ),
        },
    )
    tables = ["products", "orders"]
    suites = raw_suites("postgres", tables=tables)
    context = ephemeral_context(tmp_path / "with_pass")
    with_pass = run_on_postgres(context, environment.warehouse_url, suites, "with-pass")
    context = ephemeral_context(tmp_path / "gx_alone")
    gx_alone = run_on_postgres(
        context, environment.warehouse_url, suites, "gx-alone", one_pass_first=False
    )
    planted = {
        "products.unit_price.non_negative",
        "products.unit_price.not_below_cost",
        "products.sku.unique",
        "orders.order_status.known",
        "orders.customer_id.references_customers",
        "orders.total_amount.identity",
    }
    failures = {f.rule: f for outcome in with_pass for f in outcome.failures}
    assert set(failures) == planted, sorted(failures)
    assert [o.failures for o in with_pass] == [o.failures for o in gx_alone]
    assert [o.evaluated for o in with_pass] == [o.evaluated for o in gx_alone]
    assert failures["orders.total_amount.identity"].example_keys == (f"order_id={order}",)
    assert set(failures["products.sku.unique"].example_keys) >= {f"product_id={duplicated}"}

    clickhouse = run_raw_gate(environment, "clickhouse", tables, remember_counts=False)
    on_clickhouse = {f.rule: f for f in clickhouse.failures}
    assert set(on_clickhouse) == planted, sorted(on_clickhouse)
    for rule, failure in failures.items():
        theirs = on_clickhouse[rule]
        assert theirs.unexpected_count == failure.unexpected_count, rule
        assert sorted(theirs.example_keys) == sorted(failure.example_keys), rule
