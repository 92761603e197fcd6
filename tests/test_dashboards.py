"""The dashboards against a small hand-made published shop, on both engines (AppTest).

The shop below is written out by hand as published marts (exact docs/design.md columns) in
the warehouse's `marts` schema and ClickHouse's `marts` database, so every number the
app shows can be checked twice: against SQL run directly on the marts, and against
sums of the rows written here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import clickhouse_connect
import pandas as pd
import psycopg
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from core.settings import Environment
from dashboards import data
from dashboards import formatting as fmt
from ingest.extract.run import extract
from ingest.shop.generate import generate_shop
from pipelines.defs.dbt.connection import run_dbt
from pipelines.defs.refresh_log import RefreshOutcome, record_ended_run, record_refresh
from pipelines.engines.analyst import ensure_postgres_analyst

# --- the hand-made shop -----------------------------------------------------------------

AS_OF = dt.date(2025, 4, 1)
FIRST_DAY = dt.date(2025, 1, 1)
# Days with no recognized order have no daily_sales row.
QUIET_DAYS = (10, 40)


@dataclass(frozen=True)
class Column:
    name: str
    postgres: str
    clickhouse: str


def _columns(spec: str) -> tuple[Column, ...]:
    """``name postgres_type | clickhouse_type`` per line."""
    columns = []
    for line in spec.strip().splitlines():
        name_and_postgres, clickhouse = line.split("|")
        name, postgres = name_and_postgres.split(maxsplit=1)
        columns.append(Column(name.strip(), postgres.strip(), clickhouse.strip()))
    return tuple(columns)


MART_COLUMNS: dict[str, tuple[Column, ...]] = {
    "daily_sales": _columns("""
        sales_date date | Date
        orders_count bigint | Int64
        items_sold bigint | Int64
        gross_revenue numeric(14,2) | Decimal(14,2)
        discount_total numeric(14,2) | Decimal(14,2)
        net_revenue numeric(14,2) | Decimal(14,2)
        avg_order_value numeric(14,2) | Decimal(14,2)
        unique_customers bigint | Int64
        new_customers bigint | Int64
    """),
    "monthly_revenue": _columns("""
        month_start date | Date
        revenue numeric(14,2) | Decimal(14,2)
        orders_count bigint | Int64
        customers_count bigint | Int64
        avg_order_value numeric(14,2) | Decimal(14,2)
        mom_growth_pct numeric(8,2) | Nullable(Decimal(8,2))
    """),
    "customer_analytics": _columns("""
        customer_id bigint | Int64
        first_order_date date | Nullable(Date)
        last_order_date date | Nullable(Date)
        orders_count bigint | Int64
        lifetime_revenue numeric(14,2) | Decimal(14,2)
        avg_order_value numeric(14,2) | Nullable(Decimal(14,2))
        items_purchased bigint | Int64
        days_since_last_order integer | Nullable(Int32)
        tier text | String
        is_active boolean | Bool
    """),
    "customer_segments": _columns("""
        customer_id bigint | Int64
        recency_days integer | Int32
        frequency bigint | Int64
        monetary numeric(14,2) | Decimal(14,2)
        r_score integer | Int32
        f_score integer | Int32
        m_score integer | Int32
        rfm_score text | String
        segment text | String
        tier text | String
        is_active boolean | Bool
    """),
    "product_performance": _columns("""
        product_id bigint | Int64
        product_name text | String
        category_name text | String
        units_sold bigint | Int64
        revenue numeric(14,2) | Decimal(14,2)
        orders_count bigint | Int64
        review_count bigint | Int64
        avg_rating numeric(3,2) | Nullable(Decimal(3,2))
        revenue_rank bigint | Int64
        is_active boolean | Bool
        cost_of_goods numeric(14,2) | Decimal(14,2)
        gross_margin numeric(14,2) | Decimal(14,2)
        gross_margin_pct numeric(8,2) | Nullable(Decimal(8,2))
    """),
    "category_performance": _columns("""
        category_id bigint | Int64
        category_name text | String
        parent_category_name text | Nullable(String)
        products_count bigint | Int64
        units_sold bigint | Int64
        revenue numeric(14,2) | Decimal(14,2)
        revenue_share numeric(12,6) | Nullable(Decimal(12,6))
        category_level integer | Nullable(Int32)
        active_products_count bigint | Int64
        own_units_sold bigint | Int64
        own_revenue numeric(14,2) | Decimal(14,2)
        cost_of_goods numeric(14,2) | Decimal(14,2)
        gross_margin numeric(14,2) | Decimal(14,2)
        gross_margin_pct numeric(8,2) | Nullable(Decimal(8,2))
    """),
    "inventory_status": _columns("""
        product_id bigint | Int64
        warehouse_code text | String
        quantity_on_hand integer | Int32
        quantity_reserved integer | Int32
        quantity_available integer | Int32
        reorder_point integer | Int32
        avg_daily_units_30d numeric(10,2) | Decimal(10,2)
        days_of_cover numeric(10,1) | Nullable(Decimal(10,1))
        stock_status text | String
        product_name text | Nullable(String)
        reorder_quantity integer | Int32
        suggested_order_quantity bigint | Int64
    """),
    "promotion_performance": _columns("""
        promotion_id bigint | Int64
        code text | String
        name text | String
        discount_type text | String
        redemptions bigint | Int64
        orders_count bigint | Int64
        revenue numeric(14,2) | Decimal(14,2)
        discount_total numeric(14,2) | Decimal(14,2)
        avg_order_value numeric(14,2) | Nullable(Decimal(14,2))
        avg_order_value_without numeric(14,2) | Nullable(Decimal(14,2))
        revenue_share numeric(12,6) | Nullable(Decimal(12,6))
        first_order_date date | Nullable(Date)
        last_order_date date | Nullable(Date)
    """),
}


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def _daily_sales() -> list[tuple[Any, ...]]:
    rows = []
    for i in range(90):
        if i in QUIET_DAYS:
            continue
        orders = 2 + (i * 7) % 5
        gross = _money(orders * 95 + (i % 10) * 7.25)
        discount = _money(float(gross) * 0.05)
        net = gross - discount + _money(orders * 4.5)  # plus tax and shipping
        rows.append(
            (
                FIRST_DAY + dt.timedelta(days=i),
                orders,
                orders * 2 + i % 3,
                gross,
                discount,
                net,
                _money(float(net) / orders),
                orders - i % 2,
                1 if i % 3 == 0 else 0,
            )
        )
    return rows


DAILY_SALES = _daily_sales()


def _monthly_revenue() -> list[tuple[Any, ...]]:
    customers = {1: 7, 2: 8, 3: 9}
    rows: list[tuple[Any, ...]] = []
    previous: Decimal | None = None
    for month in (1, 2, 3):
        days = [row for row in DAILY_SALES if row[0].month == month]
        revenue = sum((row[5] for row in days), Decimal(0))
        orders = sum(row[1] for row in days)
        growth = None if previous is None else _money(float((revenue - previous) / previous * 100))
        rows.append(
            (
                dt.date(2025, month, 1),
                revenue,
                orders,
                customers[month],
                _money(float(revenue) / orders),
                growth,
            )
        )
        previous = revenue
    return rows


MONTHLY_REVENUE = _monthly_revenue()

# (customer_id, first, last, orders, revenue, items, r, f, m, segment)
CUSTOMERS: list[tuple[Any, ...]] = [
    (1, dt.date(2025, 1, 2), dt.date(2025, 3, 30), 9, Decimal("2310.40"), 21, 5, 5, 5, "Champions"),
    (2, dt.date(2025, 1, 5), dt.date(2025, 3, 25), 7, Decimal("1640.00"), 15, 5, 4, 5, "Champions"),
    (
        3,
        dt.date(2025, 1, 9),
        dt.date(2025, 3, 12),
        5,
        Decimal("990.10"),
        11,
        4,
        4,
        4,
        "Loyal Customers",
    ),
    (
        4,
        dt.date(2025, 1, 3),
        dt.date(2025, 2, 27),
        4,
        Decimal("870.00"),
        8,
        3,
        4,
        4,
        "Loyal Customers",
    ),
    (
        5,
        dt.date(2025, 3, 20),
        dt.date(2025, 3, 20),
        1,
        Decimal("120.00"),
        2,
        5,
        1,
        2,
        "New Customers",
    ),
    (
        6,
        dt.date(2025, 3, 28),
        dt.date(2025, 3, 28),
        1,
        Decimal("85.50"),
        1,
        5,
        1,
        1,
        "New Customers",
    ),
    (7, dt.date(2025, 1, 4), dt.date(2025, 1, 30), 3, Decimal("640.00"), 6, 2, 3, 3, "At Risk"),
    (8, dt.date(2025, 1, 7), dt.date(2025, 1, 21), 2, Decimal("410.25"), 4, 1, 2, 3, "At Risk"),
    (9, dt.date(2025, 1, 12), dt.date(2025, 1, 12), 1, Decimal("60.00"), 1, 1, 1, 1, "Lost"),
    (
        10,
        dt.date(2025, 2, 14),
        dt.date(2025, 2, 14),
        1,
        Decimal("99.99"),
        3,
        2,
        1,
        2,
        "Hibernating",
    ),
]


# Loyalty tier and active flag per customer; 9 closed their account.
TIERS = {1: "platinum", 2: "gold", 3: "gold", 4: "silver", 5: "bronze", 6: "bronze",
         7: "silver", 8: "bronze", 9: "bronze", 10: "silver", 11: "bronze"}  # fmt: skip
INACTIVE = {9}


def _customer_analytics() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        (
            cid,
            first,
            last,
            orders,
            revenue,
            _money(float(revenue) / orders),
            items,
            (AS_OF - last).days,
            TIERS[cid],
            cid not in INACTIVE,
        )
        for cid, first, last, orders, revenue, items, *_ in CUSTOMERS
    ]
    # A registered customer who never completed an order.
    rows.append((11, None, None, 0, Decimal("0.00"), None, 0, None, TIERS[11], True))
    return rows


def _customer_segments() -> list[tuple[Any, ...]]:
    return [
        (cid, (AS_OF - last).days, orders, revenue, r, f, m, f"{r}{f}{m}", segment, TIERS[cid],
         cid not in INACTIVE)
        for cid, _first, last, orders, revenue, _items, r, f, m, segment in CUSTOMERS
    ]  # fmt: skip


D = Decimal
# ..., revenue_rank, is_active, cost_of_goods, gross_margin, gross_margin_pct
PRODUCTS: list[tuple[Any, ...]] = [
    (101, "Aurora phone", "Phones", 40, D("16000.00"), 35, 12, D("4.50"), 1,
     True, D("9600.00"), D("6400.00"), D("40.00")),
    (102, "Borealis tablet", "Tablets", 18, D("7200.00"), 17, 5, D("4.20"), 2,
     True, D("5040.00"), D("2160.00"), D("30.00")),
    (103, "Comet earbuds", "Audio", 60, D("4800.00"), 44, 20, D("3.90"), 3,
     True, D("1920.00"), D("2880.00"), D("60.00")),
    (104, "Dune novel", "Books", 75, D("1125.00"), 70, 9, D("4.80"), 4,
     True, D("675.00"), D("450.00"), D("40.00")),
    (105, "Eclipse charger", "Phones", 30, D("600.00"), 28, 0, None, 5,
     False, D("480.00"), D("120.00"), D("20.00")),
    (106, "Fjord atlas", "Books", 0, D("0.00"), 0, 0, None, 6,
     False, D("0.00"), D("0.00"), None),
]  # fmt: skip

# A category's figures cover its whole subtree, as in the real mart; then category_level,
# active_products_count, own_units_sold, own_revenue, cost_of_goods, gross_margin, _pct.
CATEGORIES: list[tuple[Any, ...]] = [
    (1, "Electronics", None, 4, 148, D("28600.00"), D("0.962153"),
     1, 3, 0, D("0.00"), D("17040.00"), D("11560.00"), D("40.42")),
    (2, "Phones", "Electronics", 2, 70, D("16600.00"), D("0.558452"),
     2, 1, 70, D("16600.00"), D("10080.00"), D("6520.00"), D("39.28")),
    (3, "Tablets", "Electronics", 1, 18, D("7200.00"), D("0.242220"),
     2, 1, 18, D("7200.00"), D("5040.00"), D("2160.00"), D("30.00")),
    (4, "Audio", "Electronics", 1, 60, D("4800.00"), D("0.161480"),
     2, 1, 60, D("4800.00"), D("1920.00"), D("2880.00"), D("60.00")),
    (5, "Books", None, 2, 75, D("1125.00"), D("0.037847"),
     1, 1, 75, D("1125.00"), D("675.00"), D("450.00"), D("40.00")),
]  # fmt: skip

# (product, warehouse, on_hand, reserved, reorder_point, avg_daily_units_30d, status,
#  reorder_quantity, suggested_order_quantity)
STOCK: list[tuple[Any, ...]] = [
    (101, "EAST", 0, 0, 10, "1.20", "out_of_stock", 20, 36),
    (101, "WEST", 8, 2, 10, "0.80", "low", 20, 20),
    (102, "EAST", 25, 5, 8, "0.50", "ok", 15, 0),
    (102, "WEST", 3, 0, 8, "0.25", "low", 15, 15),
    (103, "EAST", 140, 10, 15, "1.00", "ok", 30, 0),
    (103, "WEST", 400, 0, 15, "0.40", "overstock", 30, 0),
    (104, "EAST", 2, 2, 12, "1.50", "out_of_stock", 25, 45),
    (104, "WEST", 60, 10, 12, "1.00", "ok", 25, 0),
    (105, "EAST", 5, 1, 6, "0.00", "low", 10, 10),
    (105, "WEST", 30, 0, 6, "0.70", "ok", 10, 0),
    (106, "EAST", 12, 0, 4, "0.00", "ok", 5, 0),
    (106, "WEST", 0, 0, 4, "0.00", "out_of_stock", 5, 5),
]
PRODUCT_NAMES = {row[0]: row[1] for row in PRODUCTS}

# (id, code, name, type, redemptions, orders, revenue, discounts, aov, aov without, share,
#  first order, last order); shares of 50,000.00 of revenue.
PROMOTIONS: list[tuple[Any, ...]] = [
    (1, "SAVE10", "Save 10%", "percentage", 120, 100, D("12500.00"), D("1250.00"),
     D("125.00"), D("98.50"), D("0.250000"), dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
    (2, "WINTER25", "Winter sale", "fixed_amount", 60, 48, D("4800.00"), D("1200.00"),
     D("100.00"), D("95.00"), D("0.096000"), dt.date(2025, 1, 5), dt.date(2025, 2, 28)),
    (3, "VIP15", "VIP 15% off", "percentage", 10, 8, D("2400.00"), D("360.00"),
     D("300.00"), D("98.50"), D("0.048000"), dt.date(2025, 2, 1), dt.date(2025, 3, 30)),
    (4, "SPRING5", "Spring 5 off", "fixed_amount", 3, 0, D("0.00"), D("0.00"),
     None, None, D("0.000000"), None, None),
]  # fmt: skip


def _inventory_status() -> list[tuple[Any, ...]]:
    rows = []
    for product, warehouse, on_hand, reserved, reorder, daily, status, quantity, suggested in STOCK:
        available = on_hand - reserved
        cover = None if daily == "0.00" else Decimal(str(round(available / float(daily), 1)))
        rows.append(
            (
                product,
                warehouse,
                on_hand,
                reserved,
                available,
                reorder,
                Decimal(daily),
                cover,
                status,
                PRODUCT_NAMES[product],
                quantity,
                suggested,
            )
        )
    return rows


MART_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "daily_sales": DAILY_SALES,
    "monthly_revenue": MONTHLY_REVENUE,
    "customer_analytics": _customer_analytics(),
    "customer_segments": _customer_segments(),
    "product_performance": PRODUCTS,
    "category_performance": CATEGORIES,
    "inventory_status": _inventory_status(),
    "promotion_performance": PROMOTIONS,
}


def publish_hand_made_shop(environment: Environment, *, empty: bool = False) -> None:
    """Write the hand-made marts (or the same marts with no rows) to both engines."""
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS marts CASCADE")
        conn.execute("CREATE SCHEMA marts")
        for mart, columns in MART_COLUMNS.items():
            conn.execute(
                f"CREATE TABLE marts.{mart} ("
                + ", ".join(f"{c.name} {c.postgres}" for c in columns)
                + ")"
            )
            if not empty:
                names = ", ".join(c.name for c in columns)
                marks = ", ".join(["%s"] * len(columns))
                with conn.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO marts.{mart} ({names}) VALUES ({marks})", MART_ROWS[mart]
                    )
        ensure_postgres_analyst(conn)  # the dashboards read as the analyst
    client = clickhouse_connect.get_client(dsn=environment.clickhouse_url)
    try:
        client.command("DROP DATABASE IF EXISTS marts")
        client.command("CREATE DATABASE marts")
        for mart, columns in MART_COLUMNS.items():
            client.command(
                f"CREATE TABLE marts.{mart} ("
                + ", ".join(f"{c.name} {c.clickhouse}" for c in columns)
                + f") ENGINE = MergeTree ORDER BY {columns[0].name}"
            )
            if not empty:
                client.insert(
                    f"marts.{mart}", MART_ROWS[mart], column_names=[c.name for c in columns]
                )
    finally:
        client.close()


def drop_marts(environment: Environment) -> None:
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS marts CASCADE")
    client = clickhouse_connect.get_client(dsn=environment.clickhouse_url)
    try:
        client.command("DROP DATABASE IF EXISTS marts")
    finally:
        client.close()


def record_refreshes(environment: Environment, outcomes: list[RefreshOutcome]) -> None:
    """Start the refresh log afresh in both engines with ``outcomes``, written as the
    pipeline writes them."""
    forget_refreshes(environment)
    for outcome in outcomes:
        record_refresh(environment, outcome)
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        ensure_postgres_analyst(conn)  # the dashboards read the new log as the analyst


def forget_refreshes(environment: Environment) -> None:
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS meta.refresh_log")
    client = clickhouse_connect.get_client(dsn=environment.clickhouse_url)
    try:
        client.command("DROP TABLE IF EXISTS meta.refresh_log")
    finally:
        client.close()


@contextlib.contextmanager
def shop_of_our_own(
    environment: Environment, publish: Callable[[], Any], tag: str = "hand_made"
) -> Iterator[Environment]:
    """Set the published marts and refresh log aside, ``publish`` marts of our own, and put
    everything back afterwards: other tests' state is left as it was."""
    saved = f"saved_by_dashboards_{tag}"
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS marts_{saved} CASCADE")
        conn.execute(f"DROP TABLE IF EXISTS meta.refresh_log_{saved}")
        conn.execute(
            f"DO $$ BEGIN"
            f" IF to_regnamespace('marts') IS NOT NULL THEN"
            f"  ALTER SCHEMA marts RENAME TO marts_{saved}; END IF;"
            f" IF to_regclass('meta.refresh_log') IS NOT NULL THEN"
            f"  ALTER TABLE meta.refresh_log RENAME TO refresh_log_{saved}; END IF;"
            f" END $$"
        )
    client = clickhouse_connect.get_client(dsn=environment.clickhouse_url)
    try:
        client.command(f"DROP DATABASE IF EXISTS marts_{saved}")
        client.command(f"DROP TABLE IF EXISTS meta.refresh_log_{saved}")
        if client.command("EXISTS DATABASE marts"):
            client.command(f"RENAME DATABASE marts TO marts_{saved}")
        if client.command("EXISTS TABLE meta.refresh_log"):
            client.command(f"RENAME TABLE meta.refresh_log TO meta.refresh_log_{saved}")
        publish()
        yield environment
    finally:
        drop_marts(environment)
        forget_refreshes(environment)
        with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
            conn.execute(
                f"DO $$ BEGIN"
                f" IF to_regnamespace('marts_{saved}') IS NOT NULL THEN"
                f"  ALTER SCHEMA marts_{saved} RENAME TO marts; END IF;"
                f" IF to_regclass('meta.refresh_log_{saved}') IS NOT NULL THEN"
                f"  ALTER TABLE meta.refresh_log_{saved} RENAME TO refresh_log; END IF;"
                f" END $$"
            )
        if client.command(f"EXISTS DATABASE marts_{saved}"):
            client.command(f"RENAME DATABASE marts_{saved} TO marts")
        if client.command(f"EXISTS TABLE meta.refresh_log_{saved}"):
            client.command(f"RENAME TABLE meta.refresh_log_{saved} TO meta.refresh_log")
        client.close()


@pytest.fixture(scope="module")
def hand_made_shop(environment: Environment) -> Iterator[Environment]:
    with shop_of_our_own(environment, lambda: publish_hand_made_shop(environment)):
        yield environment


# --- helpers ----------------------------------------------------------------------------

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
ENGINES = ("postgres", "clickhouse")
PAGES = {
    "views/overview.py": ("Overview", 1),
    "views/trends.py": ("Revenue trends", 4),
    "views/segments.py": ("RFM segments", 4),
    "views/products.py": ("Products & categories", 2),
    "views/inventory.py": ("Inventory alerts", 2),
    "views/promotions.py": ("Promotions", 2),
}
FEBRUARY = (dt.date(2025, 2, 1), dt.date(2025, 2, 28))


def marts_sql(environment: Environment, engine: str, sql: str) -> pd.DataFrame:
    """Rows of ``sql`` run straight on the engine (not through the app), floats for decimals."""
    if engine == "postgres":
        with psycopg.connect(environment.warehouse_url) as conn:
            cursor = conn.execute(sql)
            frame = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    else:
        client = clickhouse_connect.get_client(dsn=environment.clickhouse_url)
        try:
            result = client.query(sql)
        finally:
            client.close()
        frame = pd.DataFrame(result.result_rows, columns=list(result.column_names))
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = frame[column].map(lambda v: None if v is None else float(v))
    return frame


def scalar(environment: Environment, engine: str, sql: str) -> Any:
    return marts_sql(environment, engine, sql).iloc[0, 0]


def open_app(engine: str = "postgres", page: str | None = None) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.session_state["engine"] = engine
    app.run()
    if page:
        app.switch_page(page).run()
    return app


def assert_clean(app: AppTest) -> None:
    """No exception, no error box: the page rendered."""
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def metrics(app: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in app.metric}


def charts(app: AppTest) -> list[Any]:
    return list(app.get("vega_lite_chart"))


def frames(app: AppTest) -> list[pd.DataFrame]:
    """The page's tables (the sidebar's refresh history left out)."""
    return [frame.value for frame in app.main.dataframe]


def same_rows(shown: pd.DataFrame, expected: pd.DataFrame, columns: list[str]) -> None:
    """The shown table has exactly the expected rows in the same order, on ``columns``."""
    left = shown[columns].reset_index(drop=True)
    right = expected[columns].reset_index(drop=True)
    for frame in (left, right):
        for column in columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.date
            elif frame[column].map(lambda v: isinstance(v, dt.datetime)).any():
                frame[column] = frame[column].map(lambda v: v.date() if v is not None else v)
    assert len(left) == len(right), (left, right)
    for column in columns:
        for shown_value, expected_value in zip(left[column], right[column], strict=True):
            if isinstance(expected_value, float) or isinstance(shown_value, float):
                if pd.isna(expected_value):
                    assert pd.isna(shown_value), (column, shown_value)
                else:
                    assert shown_value == pytest.approx(expected_value, abs=1e-6), column
            elif expected_value is None or (
                not isinstance(expected_value, str) and pd.isna(expected_value)
            ):
                assert shown_value is None or pd.isna(shown_value), (column, shown_value)
            else:
                assert shown_value == expected_value, (column, shown_value, expected_value)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """Every test asks the engines again: the cache would otherwise hide what changed."""
    data.clear_cache()


# --- every page renders -----------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders(hand_made_shop: Environment, engine: str, page: str) -> None:
    app = open_app(engine, page)
    assert_clean(app)
    title, chart_count = PAGES[page]
    assert [t.value for t in app.title] == [title]
    assert len(charts(app)) == chart_count
    # No refresh log in the hand-made shop: the banner says so instead of failing.
    assert any("No refresh recorded yet" in info.value for info in app.info)


# --- the numbers shown are the marts' numbers -------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_overview_kpis_equal_the_marts(hand_made_shop: Environment, engine: str) -> None:
    app = open_app(engine)
    app.date_input(key="date_range").set_value(FEBRUARY).run()
    assert_clean(app)
    env = hand_made_shop

    def daily(column: str, start: str, end: str) -> float:
        return float(
            scalar(
                env,
                engine,
                f"SELECT sum({column}) FROM marts.daily_sales "
                f"WHERE sales_date BETWEEN '{start}' AND '{end}'",
            )
        )

    # February has 28 days; the previous period is the 28 days before it.
    current, previous = ("2025-02-01", "2025-02-28"), ("2025-01-04", "2025-01-31")
    revenue = [daily("net_revenue", *period) for period in (current, previous)]
    orders = [daily("orders_count", *period) for period in (current, previous)]
    new = [daily("new_customers", *period) for period in (current, previous)]
    active = int(
        scalar(env, engine, "SELECT count(*) FROM marts.customer_analytics WHERE "
                            "first_order_date <= '2025-02-28' AND last_order_date >= '2025-02-01'")
    )  # fmt: skip
    shown = metrics(app)
    assert shown["Revenue"] == (fmt.money_short(revenue[0]), fmt.change(*revenue))
    assert shown["Orders"] == (fmt.count(orders[0]), fmt.change(*orders))
    aov = [revenue[0] / orders[0], revenue[1] / orders[1]]
    assert shown["Average order value"] == (fmt.money(aov[0]), fmt.change(*aov))
    # The marts cannot count the previous period's active customers the same way.
    assert shown["Active customers"] == (fmt.count(active), "no comparison")
    assert shown["New customers"] == (fmt.count(new[0]), fmt.change(*new))

    # And the same numbers from the rows written by hand above.
    february = [row for row in DAILY_SALES if row[0].month == 2]
    assert shown["Revenue"][0] == fmt.money_short(float(sum(row[5] for row in february)))
    assert shown["Orders"][0] == fmt.count(sum(row[1] for row in february))
    # Customers 1, 2, 3, 4 span February; 10 bought only on 14 Feb; 7, 8, 9 stopped in January.
    assert shown["Active customers"][0] == "5"
    assert shown["Out of stock"][0] == "3" and shown["Low stock"][0] == "3"


@pytest.mark.parametrize("engine", ENGINES)
def test_trends_equal_the_marts(hand_made_shop: Environment, engine: str) -> None:
    app = open_app(engine, "views/trends.py")
    app.date_input(key="date_range").set_value((dt.date(2025, 1, 15), dt.date(2025, 3, 10))).run()
    assert_clean(app)
    # Every month the range touches, whole.
    expected = marts_sql(
        hand_made_shop, engine, "SELECT * FROM marts.monthly_revenue ORDER BY month_start"
    )
    expected["month"] = [month.strftime("%Y-%m") for month in expected["month_start"]]
    (monthly,) = frames(app)
    same_rows(
        monthly,
        expected,
        [
            "month",
            "revenue",
            "orders_count",
            "customers_count",
            "avg_order_value",
            "mom_growth_pct",
        ],
    )
    assert monthly["mom_growth_pct"].isna().tolist() == [True, False, False]
    # The daily charts carry exactly the days of the range.
    daily = charts(app)[0].proto.datasets
    assert daily, "the daily revenue chart has data"


@pytest.mark.parametrize("engine", ENGINES)
def test_segments_equal_the_marts(hand_made_shop: Environment, engine: str) -> None:
    app = open_app(engine, "views/segments.py")
    assert_clean(app)
    summary, by_tier, customers = frames(app)
    expected = marts_sql(
        hand_made_shop,
        engine,
        """
        SELECT segment, count(*) AS customers, sum(monetary) AS revenue
        FROM marts.customer_segments GROUP BY segment ORDER BY revenue DESC, segment
    """,
    )
    same_rows(summary, expected, ["segment", "customers", "revenue"])
    total = expected["revenue"].sum()
    assert summary["revenue_share_pct"].tolist() == pytest.approx(
        (expected["revenue"] / total * 100).tolist()
    )
    # RFM by tier: customers per tier and segment, as the mart counts them and as written
    # above (platinum: customer 1, a Champion; gold: 2 and 3; silver: 4, 7 and 10; ...).
    tiers = marts_sql(
        hand_made_shop,
        engine,
        "SELECT tier, segment, count(*) AS customers FROM marts.customer_segments "
        "GROUP BY tier, segment",
    )
    shown_tiers = by_tier.set_index("Tier")
    assert list(shown_tiers.index) == ["platinum", "gold", "silver", "bronze"]
    for tier, segment, count in tiers.itertuples(index=False):
        assert shown_tiers.at[tier, segment] == count, (tier, segment)
    assert shown_tiers["Customers"].to_dict() == {
        "platinum": 1, "gold": 2, "silver": 3, "bronze": 4
    }  # fmt: skip
    assert (
        shown_tiers.at["gold", "Champions"] == 1 and shown_tiers.at["gold", "Loyal Customers"] == 1
    )
    assert shown_tiers.at["bronze", "Revenue"] == pytest.approx(120.00 + 85.50 + 410.25 + 60.00)
    shown = metrics(app)
    assert shown["Segmented customers"][0] == "10"
    assert shown["Top segment by revenue"][0] == "Champions"

    expected_customers = marts_sql(
        hand_made_shop,
        engine,
        """
        SELECT s.customer_id, s.segment, s.rfm_score, s.monetary, a.last_order_date
        FROM marts.customer_segments AS s
        JOIN marts.customer_analytics AS a ON a.customer_id = s.customer_id
        ORDER BY s.monetary DESC, s.customer_id
    """,
    )
    same_rows(
        customers,
        expected_customers,
        ["customer_id", "segment", "rfm_score", "monetary", "last_order_date"],
    )

    app.multiselect(key="rfm_segments").set_value(["At Risk", "Lost"]).run()
    assert_clean(app)
    _, _, customers = frames(app)
    assert customers["customer_id"].tolist() == [7, 8, 9]
    assert app.get("download_button"), "the customer table can be downloaded as CSV"


@pytest.mark.parametrize("engine", ENGINES)
def test_products_and_categories_equal_the_marts(hand_made_shop: Environment, engine: str) -> None:
    app = open_app(engine, "views/products.py")
    assert_clean(app)
    products, categories = frames(app)
    expected = marts_sql(
        hand_made_shop,
        engine,
        """
        SELECT * FROM marts.product_performance ORDER BY revenue DESC, product_id
    """,
    )
    same_rows(
        products,
        expected,
        [
            "revenue_rank",
            "product_id",
            "product_name",
            "category_name",
            "revenue",
            "units_sold",
            "avg_rating",
        ],
    )
    top_level = marts_sql(
        hand_made_shop,
        engine,
        """
        SELECT * FROM marts.category_performance
        WHERE parent_category_name IS NULL ORDER BY revenue DESC
    """,
    )
    same_rows(categories, top_level, ["category_id", "category_name", "revenue", "revenue_share"])
    assert categories["revenue_share"].sum() == pytest.approx(1.0)

    # Margins from the rows written above: Electronics 11,560.00 of 28,600.00 (40.42 %).
    assert products["gross_margin"].tolist()[:2] == [6400.00, 2160.00]
    electronics = categories.set_index("category_name").loc["Electronics"]
    assert (electronics["gross_margin"], electronics["gross_margin_pct"]) == (11560.00, 40.42)
    assert electronics["active_products_count"] == 3

    app.selectbox(key="category_level").set_value("Electronics").run()
    app.selectbox(key="product_category").set_value("Phones").run()
    assert_clean(app)
    products, categories = frames(app)
    assert products["product_name"].tolist() == ["Aurora phone", "Eclipse charger"]
    assert categories["category_name"].tolist() == ["Phones", "Tablets", "Audio"]


@pytest.mark.parametrize("engine", ENGINES)
def test_inventory_alerts_equal_the_marts(hand_made_shop: Environment, engine: str) -> None:
    app = open_app(engine, "views/inventory.py")
    assert_clean(app)
    counts = marts_sql(
        hand_made_shop,
        engine,
        """
        SELECT stock_status, count(*) AS items FROM marts.inventory_status GROUP BY stock_status
    """,
    ).set_index("stock_status")["items"]
    shown = metrics(app)
    for status, label in (
        ("out_of_stock", "Out of stock"),
        ("low", "Low"),
        ("ok", "OK"),
        ("overstock", "Overstock"),
    ):
        assert shown[label][0] == fmt.count(counts.get(status, 0))
    by_warehouse, alerts = frames(app)
    assert by_warehouse.set_index("Warehouse").to_dict("index") == {
        "EAST": {"Out of stock": 2, "Low": 1, "OK": 3, "Overstock": 0},
        "WEST": {"Out of stock": 1, "Low": 2, "OK": 2, "Overstock": 1},
    }
    expected = marts_sql(
        hand_made_shop,
        engine,
        """
        SELECT product_id, warehouse_code, quantity_available, days_of_cover
        FROM marts.inventory_status WHERE stock_status IN ('out_of_stock', 'low')
    """,
    )
    assert sorted(zip(alerts["product_id"], alerts["warehouse_code"], strict=True)) == sorted(
        zip(expected["product_id"], expected["warehouse_code"], strict=True)
    )
    # Out of stock first, then the fewest days of cover.
    assert alerts["stock_status"].tolist()[:3] == ["Out of stock"] * 3
    low = alerts[alerts["stock_status"] == "Low"]
    assert low["product_id"].tolist() == [105, 101, 102]  # no recent sales, 7.5 days, 12 days

    # The suggested orders written above: 36 for product 101 in EAST (its 30 days' sales
    # beat the reorder quantity of 20), the reorder quantity for 105 (no recent sales).
    suggested = {
        (row.product_id, row.warehouse_code): row.suggested_order_quantity
        for row in alerts.itertuples()
    }
    assert suggested[(101, "EAST")] == 36 and suggested[(105, "EAST")] == 10
    assert alerts.set_index("product_id").loc[104, "product_name"] == "Dune novel"

    app.selectbox(key="warehouse").set_value("EAST").run()
    _, alerts = frames(app)
    assert set(alerts["warehouse_code"]) == {"EAST"} and len(alerts) == 3


@pytest.mark.parametrize("engine", ENGINES)
def test_promotions_equal_the_marts(hand_made_shop: Environment, engine: str) -> None:
    app = open_app(engine, "views/promotions.py")
    assert_clean(app)
    (table,) = frames(app)
    expected = marts_sql(
        hand_made_shop,
        engine,
        "SELECT * FROM marts.promotion_performance ORDER BY revenue DESC, promotion_id",
    )
    same_rows(
        table,
        expected,
        ["code", "name", "redemptions", "orders_count", "revenue", "discount_total",
         "avg_order_value", "avg_order_value_without", "revenue_share", "last_order_date"],
    )  # fmt: skip
    # From the rows written above: VIP15's orders were worth 300.00 against 98.50 without
    # a promotion (+204.6 %); SPRING5 has no recognized order, so nothing to compare.
    uplift = dict(zip(table["code"], table["order_value_uplift_pct"], strict=True))
    assert uplift["SAVE10"] == pytest.approx((125.00 / 98.50 - 1) * 100)
    assert uplift["VIP15"] == pytest.approx((300.00 / 98.50 - 1) * 100)
    assert pd.isna(uplift["SPRING5"])
    shown = metrics(app)
    assert shown["Promotions used"] == ("3", "of 4")
    assert shown["Promoted orders"][0] == "156"  # 100 + 48 + 8
    assert shown["Revenue of promoted orders"] == ("$19.7K", "39.4% of revenue")
    assert shown["Discounts given"][0] == "$2,810"  # 1,250 + 1,200 + 360
    revenue_chart, values_chart = charts(app)
    [bars] = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in revenue_chart.proto.datasets]
    assert bars["code"].tolist() == ["SAVE10", "WINTER25", "VIP15"]  # the used ones
    [pairs] = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in values_chart.proto.datasets]
    assert len(pairs) == 6 and pairs["value"].sum() == pytest.approx(
        125.00 + 98.50 + 100.00 + 95.00 + 300.00 + 98.50
    )


# --- switching engines shows the same figures -------------------------------------------


def _comparable(frame: pd.DataFrame) -> dict[str, list[Any]]:
    # NaN is not equal to itself: compare missing values as None.
    return frame.astype(object).where(frame.notna(), None).to_dict("list")


def _figures(app: AppTest) -> tuple[Any, ...]:
    """Everything a page shows as numbers: metrics, tables and the charts' data."""
    tables = [_comparable(frame) for frame in frames(app)]
    chart_data = [
        [_comparable(convert_arrow_bytes_to_pandas_df(d.data.data)) for d in chart.proto.datasets]
        for chart in charts(app)
    ]
    return metrics(app), tables, chart_data


def assert_same_figures(shown: tuple[Any, ...], expected: tuple[Any, ...], page: str) -> None:
    """Equal figures, and when not, a message naming the table or chart and the column."""
    assert shown[0] == expected[0], f"{page}: metrics differ"
    for kind, shown_frames, expected_frames in (
        ("table", shown[1], expected[1]),
        ("chart", shown[2], expected[2]),
    ):
        assert len(shown_frames) == len(expected_frames), f"{page}: number of {kind}s differs"
        for number, (left, right) in enumerate(zip(shown_frames, expected_frames, strict=True)):
            if kind == "chart":  # a chart has several datasets
                left, right = dict(enumerate(left)), dict(enumerate(right))
            for column in sorted(set(left) | set(right), key=str):
                assert left.get(column) == right.get(column), (
                    f"{page}: {kind} {number}, {column} differs: "
                    f"{str(left.get(column))[:300]} != {str(right.get(column))[:300]}"
                )


@pytest.mark.parametrize("page", list(PAGES))
def test_switching_engines_shows_the_same_figures(hand_made_shop: Environment, page: str) -> None:
    app = open_app("postgres", page)
    app.date_input(key="date_range").set_value(FEBRUARY).run()
    on_postgres = _figures(app)
    assert on_postgres[2] and all(on_postgres[2]), "every chart carries data"
    app.radio(key="engine").set_value("clickhouse").run()
    assert_clean(app)
    assert any("ClickHouse" in info.value for info in app.info)
    assert_same_figures(_figures(app), on_postgres, page)


# --- engines down, marts missing or empty: a message, never a traceback ------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("page", ["views/overview.py", "views/inventory.py"])
def test_clickhouse_down_shows_a_message(
    hand_made_shop: Environment, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    monkeypatch.setenv("CLICKHOUSE_URL", f"http://default:@127.0.0.1:{_closed_port()}/")
    app = open_app("clickhouse", page)
    assert not app.exception
    assert [e.value for e in app.error] and "ClickHouse is not available" in app.error[0].value
    # The other engine still works from the same session.
    app.radio(key="engine").set_value("postgres").run()
    assert_clean(app)
    assert app.metric


def test_postgres_down_shows_a_message(
    hand_made_shop: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _closed_port()
    monkeypatch.setenv(
        "WAREHOUSE_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{port}/warehouse"
    )
    monkeypatch.setenv("SHOP_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{port}/shop")
    app = open_app("postgres")
    assert not app.exception
    assert "PostgreSQL is not available" in app.error[0].value
    assert "down or unreachable" in app.error[0].value


def test_engines_never_started_shows_a_message(
    hand_made_shop: Environment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOPMARTS_HOME", str(tmp_path))
    for variable in ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL"):
        monkeypatch.delenv(variable, raising=False)
    app = open_app("postgres")
    assert not app.exception
    assert "shopmarts up" in app.error[0].value


@pytest.fixture
def republish_afterwards(hand_made_shop: Environment) -> Iterator[Environment]:
    yield hand_made_shop
    publish_hand_made_shop(hand_made_shop)


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_marts_show_a_message(republish_afterwards: Environment, engine: str) -> None:
    publish_hand_made_shop(republish_afterwards, empty=True)
    for page in PAGES:
        app = open_app(engine, page)
        assert not app.exception and not app.error
        assert any("are empty" in info.value for info in app.info), page
        assert not app.metric


@pytest.mark.parametrize("engine", ENGINES)
def test_unpublished_marts_show_a_message(republish_afterwards: Environment, engine: str) -> None:
    drop_marts(republish_afterwards)
    app = open_app(engine)
    assert not app.exception and not app.error
    assert "not published" in app.warning[0].value


# --- the freshness banner ---------------------------------------------------------------

ALL_MARTS = [
    "category_performance", "customer_analytics", "customer_segments", "daily_sales",
    "inventory_status", "monthly_revenue", "product_performance", "promotion_performance",
]  # fmt: skip


@pytest.mark.parametrize("engine", ENGINES)
def test_freshness_banner_reads_the_refresh_log(hand_made_shop: Environment, engine: str) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    nightly = RefreshOutcome(
        "run-1",
        "nightly",
        "published",
        marts_published=ALL_MARTS,
        publish_seconds=41.5,
        refreshed_at=now - dt.timedelta(hours=26),
    )
    hourly = RefreshOutcome(
        "run-2",
        "hourly",
        "published",
        marts_published=["daily_sales", "inventory_status"],
        publish_seconds=1.2,
        refreshed_at=now - dt.timedelta(hours=2),
    )
    failed = RefreshOutcome(
        "run-3",
        "hourly",
        "gate_failed",
        gates_failed=["marts_gate"],
        failing_expectations=[
            "daily_sales: net_revenue >= 0 (3 rows)",
            "parity: monthly_revenue differs",
        ],
        refreshed_at=now - dt.timedelta(minutes=10),
    )
    stuck = RefreshOutcome(
        "run-4",
        "hourly",
        "publish_failed",
        detail="the marts stayed in use",
        refreshed_at=now - dt.timedelta(minutes=3),
    )
    try:
        record_refreshes(hand_made_shop, [nightly, hourly])
        app = open_app(engine)
        assert_clean(app)
        (banner,) = app.success
        assert "Marts published" in banner.value and "by the hourly refresh" in banner.value
        assert "(2 h ago)" in banner.value and "daily_sales, inventory_status" in banner.value
        assert len(app.sidebar.dataframe) == 1  # the refresh history

        record_refreshes(hand_made_shop, [nightly, hourly, failed])
        data.clear_cache()
        app = open_app(engine)
        assert not app.exception and not app.error
        (banner,) = app.warning
        assert "failed its gates, so it published nothing" in banner.value
        assert "daily_sales: net_revenue >= 0 (3 rows)" in banner.value
        assert "parity: monthly_revenue differs" in banner.value
        assert "published " in banner.value and "by the hourly refresh" in banner.value
        assert app.metric, "the page still shows the marts"

        record_refreshes(hand_made_shop, [nightly, hourly, failed, stuck])
        data.clear_cache()
        app = open_app(engine)
        (banner,) = app.warning
        assert "passed its gates but could not publish: the marts stayed in use" in banner.value
    finally:
        forget_refreshes(hand_made_shop)


@pytest.mark.parametrize("engine", ENGINES)
def test_freshness_banner_shows_a_run_that_failed_before_its_gates(
    hand_made_shop: Environment, engine: str
) -> None:
    """A run that ended before any gate decided (here: its extract failed) has its row,
    written the way the refresh jobs' failure sensor writes it, and the banner says so;
    writing it again changes nothing, and it never overwrites a gate's own account."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    nightly = RefreshOutcome(
        "run-1",
        "nightly",
        "published",
        marts_published=ALL_MARTS,
        refreshed_at=now - dt.timedelta(hours=5),
    )
    gate_failed = RefreshOutcome(
        "run-2",
        "hourly",
        "gate_failed",
        gates_failed=["postgres raw"],
        failing_expectations=["postgres raw.orders: orders.order_status.known: 1 failing row"],
        refreshed_at=now - dt.timedelta(hours=1),
    )
    extract_failed = RefreshOutcome(
        "run-3",
        "hourly",
        "failed",
        failing_expectations=['extract_raw: relation "reviews" does not exist'],
        detail=(
            "hourly_refresh failed before its gates decided: step extract_raw: "
            'relation "reviews" does not exist'
        ),
        refreshed_at=now - dt.timedelta(minutes=20),
    )
    try:
        record_refreshes(hand_made_shop, [nightly, gate_failed])
        wrote, row = record_ended_run(hand_made_shop, extract_failed)
        assert wrote and row["status"] == "failed" and row["gates_passed"] is False
        assert record_ended_run(hand_made_shop, extract_failed)[0] is False  # idempotent
        # A run the gates already reported keeps its status and its failing expectations.
        wrote, row = record_ended_run(hand_made_shop, replace(extract_failed, run_id="run-2"))
        assert not wrote and row["status"] == "gate_failed", row
        assert row["failing_expectations"] == gate_failed.failing_expectations
        data.clear_cache()
        app = open_app(engine)
        assert not app.exception and not app.error
        (banner,) = app.warning
        assert "The last refresh (hourly, " in banner.value
        assert "failed before its gates decided, so it published nothing" in banner.value
        assert 'step extract_raw: relation "reviews" does not exist' in banner.value
        assert "published " in banner.value and "by the nightly refresh" in banner.value
        assert app.metric, "the page still shows the marts"
    finally:
        forget_refreshes(hand_made_shop)


# --- the real pipeline: a generated shop, extracted, its marts built by dbt --------------


def build_real_marts(environment: Environment, artifacts: Path) -> None:
    """A small generated shop, extracted in full, its marts built by dbt in `marts`."""
    generate_shop(environment.shop_url, scale=0.03, seed=1, replace=True, progress=False)
    extract(environment, mode="full")
    runs = run_dbt(environment, ["run"], artifacts_dir=artifacts)
    for run in runs.values():
        assert run.ok, f"dbt run failed on {run.target}:\n{run.output[-3000:]}"
    # Built straight into `marts`, not published: grant the analyst as a publish would.
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        ensure_postgres_analyst(conn)


def test_real_marts_render_and_agree_across_engines(
    hand_made_shop: Environment, tmp_path: Path
) -> None:
    """The same checks on marts the real dbt project built (its types, its NULLs)."""
    with shop_of_our_own(
        hand_made_shop, lambda: build_real_marts(hand_made_shop, tmp_path), "real"
    ):
        data.clear_cache()
        last = scalar(hand_made_shop, "postgres", "SELECT max(sales_date) FROM marts.daily_sales")
        start = last - dt.timedelta(days=29)
        revenue = float(
            scalar(hand_made_shop, "clickhouse", "SELECT sum(net_revenue) FROM marts.daily_sales "
                                                 f"WHERE sales_date >= '{start}'")
        )  # fmt: skip
        for page, (title, chart_count) in PAGES.items():
            app = open_app("postgres", page)
            assert_clean(app)
            assert [t.value for t in app.title] == [title]
            assert len(charts(app)) == chart_count
            on_postgres = _figures(app)
            app.radio(key="engine").set_value("clickhouse").run()
            assert_clean(app)
            assert_same_figures(_figures(app), on_postgres, page)
            if page == "views/overview.py":
                assert metrics(app)["Revenue"][0] == fmt.money_short(revenue)
