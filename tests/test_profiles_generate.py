"""`shopmarts generate --profile P`: every seed's schema, filled with the same logical shop.

Against the embedded PostgreSQL, in private databases of the session's cluster. For each
profile: the seed's tables and columns exist with the seed's types; its constraints refuse
bad rows; and the shop is the canonical one generated with the same scale and seed, read
back through the profile's README inverse rules in SQL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from test_shop_generate import private_databases

from core.errors import ShopmartsError
from ingest.profiles import PROFILES, get_profile
from ingest.shop.generate import GenerateReport, generate_shop

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCALE = 0.05  # 500 customers, 2,500 orders: every status and path occurs
SEED = 7
END = date(2026, 11, 1)

V = "character varying"
TS = "timestamp without time zone"
TSTZ = "timestamp with time zone"


def first(table: str, key: str = "id") -> str:
    """A subquery naming one existing row of ``table`` (the lowest key)."""
    return f"(SELECT {key} FROM {table} ORDER BY {key} LIMIT 1)"


# -- what each seed says, written from the seed documents ------------------------------------


@dataclass(frozen=True)
class Expected:
    """One profile as its seed defines it, and its README's inverse rules as SQL."""

    # table -> column -> type (format_type spelling, without the length for varchar/numeric
    # where the seed gives none)
    columns: dict[str, dict[str, str]]
    # One row: customers, orders, item units, sum of order totals, sum of line totals,
    # recognized orders, recognized revenue.
    shop_sql: str
    # Statements the seed's constraints must refuse, each run in its own rolled-back savepoint.
    refused: dict[str, str]


CANONICAL_SHOP_SQL = """
SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders),
       (SELECT sum(quantity) FROM order_items), (SELECT sum(total_amount) FROM orders),
       (SELECT sum(line_total) FROM order_items),
       count(*) FILTER (WHERE recognized), coalesce(sum(total_amount) FILTER (WHERE recognized), 0)
FROM (SELECT total_amount, payment_status = 'completed'
             AND order_status NOT IN ('cancelled', 'returned') AS recognized FROM orders) AS o
"""

MINIMAL = Expected(
    columns={
        "users": {
            "id": "uuid",
            "email": f"{V}(255)",
            "password_hash": f"{V}(255)",
            "created_at": TS,
            "updated_at": TS,
        },
        "sessions": {
            "id": "uuid",
            "user_id": "uuid",
            "token_hash": f"{V}(255)",
            "expires_at": TS,
            "created_at": TS,
        },
        "products": {
            "id": "uuid",
            "name": f"{V}(255)",
            "description": "text",
            "price": "numeric(10,2)",
            "stock": "integer",
            "created_at": TS,
            "updated_at": TS,
        },
        "orders": {
            "id": "uuid",
            "user_id": "uuid",
            "status": f"{V}(50)",
            "total": "numeric(10,2)",
            "created_at": TS,
            "updated_at": TS,
        },
        "order_items": {
            "id": "uuid",
            "order_id": "uuid",
            "product_id": "uuid",
            "quantity": "integer",
            "price": "numeric(10,2)",
        },
    },
    # README inverse rules: recognized = status processing/shipped/delivered.
    shop_sql="""
SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orders),
       (SELECT sum(quantity) FROM order_items), (SELECT sum(total) FROM orders),
       (SELECT sum(quantity * price) FROM order_items),
       count(*) FILTER (WHERE recognized), coalesce(sum(total) FILTER (WHERE recognized), 0)
FROM (SELECT total, status IN ('processing', 'shipped', 'delivered') AS recognized
      FROM orders) AS o
""",
    refused={
        "status outside the seed's values": (
            f"UPDATE orders SET status = 'returned' WHERE id = {first('orders')}"
        ),
        "order of an unknown user": (
            f"UPDATE orders SET user_id = gen_random_uuid() WHERE id = {first('orders')}"
        ),
        "item of an unknown product": (
            "UPDATE order_items SET product_id = gen_random_uuid()"
            f" WHERE id = {first('order_items')}"
        ),
        "quantity not above zero": (
            f"UPDATE order_items SET quantity = 0 WHERE id = {first('order_items')}"
        ),
        "duplicate email": (
            "INSERT INTO users (email, password_hash, created_at, updated_at)"
            " SELECT email, 'x', now(), now() FROM users LIMIT 1"
        ),
        "user with orders deleted": (
            "DELETE FROM users WHERE id = (SELECT user_id FROM orders LIMIT 1)"
        ),
    },
)

MODESTWEAR = Expected(
    columns={
        "users_user": {
            "id": "integer",
            "email": f"{V}(254)",
            "username": f"{V}(70)",
            "password": f"{V}(128)",
            "first_name": f"{V}(128)",
            "last_name": f"{V}(70)",
            "profile_picture": f"{V}(100)",
            "phone_number": f"{V}(15)",
            "is_verified": "boolean",
            "is_active": "boolean",
            "is_staff": "boolean",
            "is_superuser": "boolean",
            "date_joined": TS,
            "last_login": TS,
        },
        "catalog_category": {
            "id": "integer",
            "parent_id": "integer",
            "name": f"{V}(255)",
            "slug": f"{V}(50)",
            "is_active": "boolean",
        },
        "catalog_coveragelevel": {"id": "integer", "name": f"{V}(255)", "description": "text"},
        "catalog_product": {
            "id": "integer",
            "category_id": "integer",
            "product_size_id": "integer",
            "name": f"{V}(255)",
            "slug": f"{V}(50)",
            "description": "text",
            "base_price": "numeric(6,2)",
            "is_featured": "boolean",
            "date_added": TS,
        },
        "catalog_productvariant": {
            "id": "integer",
            "product_id": "integer",
            "coverage_id": "integer",
            "sku": f"{V}(255)",
            "size": "integer",
            "color": f"{V}(100)",
            "stock_available": "integer",
            "is_active": "boolean",
        },
        "catalog_productimage": {
            "id": "integer",
            "product_id": "integer",
            "image": f"{V}(100)",
            "thumbnail": f"{V}(100)",
            "is_feature": "boolean",
        },
        "orders_wishlist": {
            "id": "integer",
            "user_id": "integer",
            "variant_id": "integer",
            "added_at": TS,
        },
        "orders_cartitem": {
            "id": "integer",
            "user_id": "integer",
            "session_key": f"{V}(40)",
            "variant_id": "integer",
            "quantity": "integer",
            "created_at": TS,
        },
        "orders_order": {
            "id": "integer",
            "user_id": "integer",
            "status": f"{V}(20)",
            "total_price": "numeric(10,2)",
            "address": "text",
            "created_at": TS,
        },
        "orders_orderitem": {
            "id": "integer",
            "order_id": "integer",
            "variant_id": "integer",
            "quantity": "integer",
            "price_at_purchase": "numeric(10,2)",
        },
        "outfits_outfit": {
            "id": "integer",
            "user_id": "integer",
            "name": f"{V}(255)",
            "description": "text",
            "is_public": "boolean",
            "created_at": TS,
            "updated_at": TS,
        },
        "outfits_outfititem": {
            "id": "integer",
            "outfit_id": "integer",
            "product_id": "integer",
            "position": "integer",
        },
    },
    # README inverse rules: recognized = status paid/shipped/delivered.
    shop_sql="""
SELECT (SELECT count(*) FROM users_user), (SELECT count(*) FROM orders_order),
       (SELECT sum(quantity) FROM orders_orderitem), (SELECT sum(total_price) FROM orders_order),
       (SELECT sum(quantity * price_at_purchase) FROM orders_orderitem),
       count(*) FILTER (WHERE recognized),
       coalesce(sum(total_price) FILTER (WHERE recognized), 0)
FROM (SELECT total_price, status IN ('paid', 'shipped', 'delivered') AS recognized
      FROM orders_order) AS o
""",
    refused={
        "status outside the seed's values": (
            f"UPDATE orders_order SET status = 'returned' WHERE id = {first('orders_order')}"
        ),
        "item of an unknown variant": (
            f"UPDATE orders_orderitem SET variant_id = -1 WHERE id = {first('orders_orderitem')}"
        ),
        "size outside 0..5": (
            "UPDATE catalog_productvariant SET size = 6"
            f" WHERE id = {first('catalog_productvariant')}"
        ),
        "duplicate SKU": (
            "INSERT INTO catalog_productvariant (product_id, sku, size, color)"
            " SELECT product_id, sku, size, color FROM catalog_productvariant LIMIT 1"
        ),
        "duplicate wishlist entry": (
            "INSERT INTO orders_wishlist (user_id, variant_id)"
            f" SELECT {first('users_user')}, {first('catalog_productvariant')}"
            " FROM generate_series(1, 2)"
        ),
        "user with orders deleted": (
            "DELETE FROM users_user WHERE id = (SELECT user_id FROM orders_order LIMIT 1)"
        ),
    },
)


def _columns(spec: str) -> dict[str, str]:
    """``"id uuid, email varchar(255), ..."`` (the seed's DDL, shortened) as a dict."""
    columns = {}
    for part in re.split(r",\s+", spec):
        name, type_ = part.strip().split(" ", 1)
        type_ = {"timestamp": TS, "timestamptz": TSTZ}.get(type_, type_)
        type_ = type_.replace("varchar", V).replace("decimal", "numeric")
        columns[name] = type_
    return columns


SOLEMATE = Expected(
    columns={
        "users": _columns(
            "id uuid, email varchar(255), password_hash varchar(255), first_name varchar(100),"
            " last_name varchar(100), phone_number varchar(20), role varchar(20),"
            " is_active boolean, email_verified boolean, last_login_at timestamp,"
            " created_at timestamp, updated_at timestamp"
        ),
        "addresses": _columns(
            "id uuid, user_id uuid, type varchar(20), name varchar(100), street_1 varchar(255),"
            " street_2 varchar(255), city varchar(100), state varchar(100),"
            " postal_code varchar(20), country varchar(2), phone varchar(20),"
            " is_default boolean, created_at timestamp"
        ),
        "categories": _columns(
            "id uuid, parent_id uuid, name varchar(100), slug varchar(100), description text,"
            " image_url varchar(500), sort_order integer, is_active boolean, created_at timestamp"
        ),
        "brands": _columns(
            "id uuid, name varchar(100), slug varchar(100), logo_url varchar(500),"
            " website varchar(255), description text, is_active boolean, created_at timestamp"
        ),
        "products": _columns(
            "id uuid, sku varchar(100), name varchar(255), slug varchar(255), description text,"
            " category_id uuid, brand_id uuid, price decimal(10,2), compare_price decimal(10,2),"
            " cost decimal(10,2), weight decimal(10,3), is_active boolean, tags text[],"
            " meta_title varchar(255), meta_description text, created_at timestamp,"
            " updated_at timestamp"
        ),
        "product_variants": _columns(
            "id uuid, product_id uuid, sku varchar(100), size varchar(20), color varchar(50),"
            " price decimal(10,2), stock integer, weight decimal(10,3), images text[],"
            " is_active boolean, created_at timestamp"
        ),
        "product_images": _columns(
            "id uuid, product_id uuid, url varchar(500), alt_text varchar(255),"
            " sort_order integer, is_primary boolean, created_at timestamp"
        ),
        # Not defined by the seed (inventory references it): the README's choice.
        "warehouses": _columns(
            "id uuid, code varchar(20), name varchar(100), country varchar(2),"
            " is_active boolean, created_at timestamp, updated_at timestamp"
        ),
        "promo_codes": _columns(
            "id uuid, code varchar(50), description text, discount_type varchar(20),"
            " discount_value decimal(10,2), minimum_order decimal(10,2), max_uses integer,"
            " current_uses integer, valid_from timestamp, valid_until timestamp,"
            " is_active boolean, created_at timestamp"
        ),
        "orders": _columns(
            "id uuid, order_number varchar(50), user_id uuid, status varchar(20),"
            " subtotal decimal(10,2), discount decimal(10,2), tax decimal(10,2),"
            " shipping decimal(10,2), total decimal(10,2), notes text, shipping_address jsonb,"
            " billing_address jsonb, promo_code_id uuid, tracking_number varchar(100),"
            " created_at timestamp, updated_at timestamp"
        ),
        "order_items": _columns(
            "id uuid, order_id uuid, product_id uuid, variant_id uuid, sku varchar(100),"
            " name varchar(255), quantity integer, price decimal(10,2), discount decimal(10,2),"
            " total decimal(10,2), product_snapshot jsonb, created_at timestamp"
        ),
        "payments": _columns(
            "id uuid, order_id uuid, user_id uuid, amount decimal(10,2), currency varchar(3),"
            " status varchar(20), provider varchar(20), transaction_id varchar(255),"
            " payment_method varchar(50), failure_reason text, metadata jsonb,"
            " refund_amount decimal(10,2), refunded_at timestamp, created_at timestamp,"
            " updated_at timestamp"
        ),
        "reviews": _columns(
            "id uuid, product_id uuid, user_id uuid, order_id uuid, rating integer,"
            " title varchar(255), comment text, images text[], is_verified boolean,"
            " helpful_count integer, status varchar(20), created_at timestamp,"
            " updated_at timestamp"
        ),
        "cart_items": _columns(
            "id uuid, user_id uuid, product_id uuid, variant_id uuid, quantity integer,"
            " price decimal(10,2), discount decimal(10,2), added_at timestamp,"
            " updated_at timestamp"
        ),
        "wishlist_items": _columns("id uuid, user_id uuid, product_id uuid, added_at timestamp"),
        "inventory": _columns(
            "id uuid, product_id uuid, variant_id uuid, warehouse_id uuid, quantity integer,"
            " reserved integer, available integer, reorder_point integer,"
            " reorder_quantity integer, last_restocked timestamp, updated_at timestamp"
        ),
        "inventory_transactions": _columns(
            "id uuid, inventory_id uuid, type varchar(20), quantity integer,"
            " reference_type varchar(20), reference_id uuid, notes text, created_by uuid,"
            " created_at timestamp"
        ),
        "promo_usage": _columns(
            "id uuid, promo_code_id uuid, order_id uuid, user_id uuid,"
            " discount_amount decimal(10,2), used_at timestamp"
        ),
    },
    # README inverse rules: recognized = payment COMPLETED and the order not CANCELLED,
    # RETURNED or REFUNDED.
    shop_sql="""
SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orders),
       (SELECT sum(quantity) FROM order_items), (SELECT sum(total) FROM orders),
       (SELECT sum(total) FROM order_items),
       count(*) FILTER (WHERE recognized), coalesce(sum(total) FILTER (WHERE recognized), 0)
FROM (SELECT o.total, p.status = 'COMPLETED'
             AND o.status NOT IN ('CANCELLED', 'RETURNED', 'REFUNDED') AS recognized
      FROM orders AS o JOIN payments AS p ON p.order_id = o.id) AS o
""",
    refused={
        "order status outside the seed's values": (
            f"UPDATE orders SET status = 'pending' WHERE id = {first('orders')}"
        ),
        "payment status outside the seed's values": (
            f"UPDATE payments SET status = 'DONE' WHERE id = {first('payments')}"
        ),
        "review status outside the seed's values": (
            f"UPDATE reviews SET status = 'FLAGGED' WHERE id = {first('reviews')}"
        ),
        "total that is not subtotal - discount + tax + shipping": (
            f"UPDATE orders SET total = total + 1 WHERE id = {first('orders')}"
        ),
        "second payment of an order": (
            "INSERT INTO payments (order_id, user_id, amount, status, provider)"
            " SELECT order_id, user_id, amount, status, provider FROM payments LIMIT 1"
        ),
        "item of an unknown variant": (
            "UPDATE order_items SET variant_id = gen_random_uuid()"
            f" WHERE id = {first('order_items')}"
        ),
        "variant stock below zero": (
            f"UPDATE product_variants SET stock = -1 WHERE id = {first('product_variants')}"
        ),
        "rating 6": f"UPDATE reviews SET rating = 6 WHERE id = {first('reviews')}",
        "user with orders deleted": (
            "DELETE FROM users WHERE id = (SELECT user_id FROM orders LIMIT 1)"
        ),
    },
)

TECHALLY = Expected(
    columns={
        # 3.1: the seed's DDL.
        "users": _columns(
            "id uuid, email varchar(255), email_verified boolean, password_hash varchar(255),"
            " first_name varchar(100), last_name varchar(100), phone_number varchar(20),"
            " date_of_birth date, gender varchar(20), avatar_url text, role varchar(50),"
            " status varchar(50), last_login_at timestamptz, failed_login_attempts integer,"
            " locked_until timestamptz, mfa_enabled boolean, mfa_secret varchar(255),"
            " created_at timestamptz, updated_at timestamptz, deleted_at timestamptz"
        ),
        # The seed's key fields (street, city, postal_code), the rest the README's choice.
        "addresses": _columns(
            "id uuid, user_id uuid, address_type varchar(20), street varchar(255),"
            " street_2 varchar(255), city varchar(100), state varchar(100),"
            " postal_code varchar(20), country varchar(2), is_default boolean,"
            " created_at timestamptz, updated_at timestamptz, deleted_at timestamptz"
        ),
        "categories": _columns(
            "id uuid, parent_id uuid, name varchar(255), slug varchar(255), description text,"
            " is_active boolean, created_at timestamptz, updated_at timestamptz"
        ),
        "brands": _columns(
            "id uuid, name varchar(255), slug varchar(255), is_active boolean,"
            " created_at timestamptz, updated_at timestamptz"
        ),
        # 4.1: the seed's columns (id .. search_vector), then is_published (its index 9.1),
        # cost_price, timestamps and deleted_at (its views) as the README says.
        "products": _columns(
            "id uuid, sku varchar(100), name varchar(255), slug varchar(255), description text,"
            " category_id uuid, brand_id uuid, base_price decimal(10,2),"
            " cost_price decimal(10,2), is_published boolean, search_vector tsvector,"
            " created_at timestamptz, updated_at timestamptz, deleted_at timestamptz"
        ),
        "product_variants": _columns(
            "id uuid, product_id uuid, sku varchar(100), name varchar(255), attributes jsonb,"
            " price_adjustment decimal(10,2), is_active boolean, created_at timestamptz,"
            " updated_at timestamptz"
        ),
        "warehouses": _columns(
            "id uuid, code varchar(20), name varchar(255), is_active boolean,"
            " created_at timestamptz, updated_at timestamptz"
        ),
        # 6.1: the seed's DDL, plus created_at / updated_at.
        "inventory": _columns(
            "id uuid, product_id uuid, warehouse_id uuid, quantity_on_hand integer,"
            " quantity_reserved integer, quantity_available integer, reorder_point integer,"
            " reorder_quantity integer, created_at timestamptz, updated_at timestamptz"
        ),
        "stock_movements": _columns(
            "id uuid, inventory_id uuid, movement_type varchar(20), quantity integer,"
            " reference_id uuid, note text, created_at timestamptz"
        ),
        "orders": _columns(
            "id uuid, order_number varchar(30), user_id uuid, shipping_address_id uuid,"
            " status varchar(20), subtotal decimal(12,2), discount_amount decimal(12,2),"
            " tax_amount decimal(12,2), shipping_amount decimal(12,2),"
            " total_amount decimal(12,2), currency varchar(3), created_at timestamptz,"
            " updated_at timestamptz, deleted_at timestamptz"
        ),
        "order_items": _columns(
            "id uuid, order_id uuid, product_id uuid, variant_id uuid, quantity integer,"
            " unit_price decimal(10,2), discount_amount decimal(10,2),"
            " total_price decimal(12,2), created_at timestamptz, updated_at timestamptz"
        ),
        "payments": _columns(
            "id uuid, order_id uuid, amount decimal(12,2), currency varchar(3),"
            " status varchar(20), payment_method varchar(50),"
            " gateway_transaction_id varchar(255), processed_at timestamptz,"
            " created_at timestamptz, updated_at timestamptz"
        ),
        "reviews": _columns(
            "id uuid, product_id uuid, user_id uuid, order_id uuid, rating smallint,"
            " title varchar(255), body text, moderator_status varchar(20),"
            " created_at timestamptz, updated_at timestamptz, deleted_at timestamptz"
        ),
    },
    # README inverse rules: recognized = payment completed and the order not CANCELLED,
    # RETURNED or FAILED (nor soft-deleted).
    shop_sql="""
SELECT (SELECT count(*) FROM users WHERE deleted_at IS NULL),
       (SELECT count(*) FROM orders WHERE deleted_at IS NULL),
       (SELECT sum(quantity) FROM order_items), (SELECT sum(total_amount) FROM orders),
       (SELECT sum(total_price) FROM order_items),
       count(*) FILTER (WHERE recognized),
       coalesce(sum(total_amount) FILTER (WHERE recognized), 0)
FROM (SELECT o.total_amount, p.status = 'completed'
             AND o.status NOT IN ('CANCELLED', 'RETURNED', 'FAILED') AS recognized
      FROM orders AS o JOIN payments AS p ON p.order_id = o.id
      WHERE o.deleted_at IS NULL) AS o
""",
    refused={
        "order status outside the state flow": (
            f"UPDATE orders SET status = 'pending' WHERE id = {first('orders')}"
        ),
        "role outside chk_role": f"UPDATE users SET role = 'owner' WHERE id = {first('users')}",
        "moderation state outside the seed's": (
            f"UPDATE reviews SET moderator_status = 'hidden' WHERE id = {first('reviews')}"
        ),
        "second inventory row of a product and warehouse": (
            "INSERT INTO inventory (id, product_id, warehouse_id)"
            " SELECT gen_random_uuid(), product_id, warehouse_id FROM inventory LIMIT 1"
        ),
        "payment of an unknown order": (
            f"UPDATE payments SET order_id = gen_random_uuid() WHERE id = {first('payments')}"
        ),
        "line total that is not quantity * unit_price - discount": (
            "UPDATE order_items SET total_price = total_price + 1"
            f" WHERE id = {first('order_items')}"
        ),
        "unknown stock movement type": (
            "UPDATE stock_movements SET movement_type = 'theft'"
            f" WHERE id = {first('stock_movements')}"
        ),
        "user with orders deleted": (
            "DELETE FROM users WHERE id = (SELECT user_id FROM orders LIMIT 1)"
        ),
    },
)

EXPECTED: dict[str, Expected] = {
    "minimal": MINIMAL,
    "modestwear": MODESTWEAR,
    "solemate": SOLEMATE,
    "techally": TECHALLY,
}


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def new_database(shop_url: str) -> Iterator[Callable[[str], str]]:
    with private_databases(shop_url) as create:
        yield create


@pytest.fixture(scope="module")
def canonical_shop(new_database: Callable[[str], str]) -> tuple[str, GenerateReport]:
    url = new_database("profiles_canonical")
    report = generate_shop(url, scale=SCALE, seed=SEED, replace=False, progress=False, end_date=END)
    return url, report


_generated: dict[str, tuple[str, GenerateReport]] = {}


@pytest.fixture(scope="module")
def profile_shop(
    new_database: Callable[[str], str],
) -> Iterator[Callable[[str], tuple[str, GenerateReport]]]:
    """The shop of a profile, generated once per module."""

    def shop(name: str) -> tuple[str, GenerateReport]:
        if name not in _generated:
            url = new_database(f"profiles_{name}")
            report = generate_shop(
                url,
                scale=SCALE,
                seed=SEED,
                replace=False,
                progress=False,
                end_date=END,
                profile=name,
            )
            _generated[name] = (url, report)
        return _generated[name]

    yield shop
    _generated.clear()


def fetch_one(url: str, query: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
        assert row is not None
        return tuple(row)


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_tables_and_columns(
    name: str, profile_shop: Callable[[str], tuple[str, GenerateReport]]
) -> None:
    url, _ = profile_shop(name)
    expected = EXPECTED[name].columns
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)"
            " FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
            " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
        ).fetchall()
        schemas = {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace")}
    actual: dict[str, dict[str, str]] = {}
    for table, column, type_ in rows:
        actual.setdefault(table, {})[column] = type_
    # Every seed table and column with the seed's type; the registry lists exactly these.
    for table, columns in expected.items():
        assert actual.get(table) == columns, table
    assert set(actual) == set(get_profile(name).table_names)
    assert "shop_scratch" not in schemas  # the scratch canonical shop is gone
    # The registry's keys, key types and cursors are the database's.
    with psycopg.connect(url) as conn:
        keys: dict[str, list[str]] = dict(
            conn.execute(
                "SELECT c.conrelid::regclass::text,"
                " array_agg(a.attname::text ORDER BY array_position(c.conkey, a.attnum))"
                " FROM pg_constraint AS c JOIN pg_attribute AS a"
                " ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
                " WHERE c.contype = 'p' AND c.connamespace = 'public'::regnamespace GROUP BY 1"
            ).fetchall()
        )
        triggered = {
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
            )
        }
    for spec in get_profile(name).tables:
        assert tuple(keys[spec.name]) == spec.primary_key, spec.name
        key_type = actual[spec.name][spec.primary_key[0]]
        assert key_type == {"uuid": "uuid", "serial": "integer", "bigint": "bigint"}[spec.key_type]
        assert ("updated_at" in actual[spec.name]) == spec.updated_at, spec.name
        assert (spec.name in triggered) == spec.updated_at, spec.name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_logical_shop_as_canonical(
    name: str,
    canonical_shop: tuple[str, GenerateReport],
    profile_shop: Callable[[str], tuple[str, GenerateReport]],
) -> None:
    canonical_url, _ = canonical_shop
    url, _ = profile_shop(name)
    expected = fetch_one(canonical_url, CANONICAL_SHOP_SQL)
    actual = fetch_one(url, EXPECTED[name].shop_sql)
    labels = (
        "customers",
        "orders",
        "units",
        "order totals",
        "line totals",
        "recognized",
        "recognized revenue",
    )
    assert dict(zip(labels, actual, strict=True)) == dict(zip(labels, expected, strict=True))
    # Not a degenerate shop: every kind of order occurs.
    assert 0 < expected[5] < expected[1] and Decimal(0) < expected[6] < expected[3]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_constraints_refuse_bad_rows(
    name: str, profile_shop: Callable[[str], tuple[str, GenerateReport]]
) -> None:
    url, _ = profile_shop(name)
    with psycopg.connect(url) as conn:
        # Everything generated satisfies its constraints (none left NOT VALID).
        unvalidated = conn.execute(
            "SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
            " AND NOT convalidated"
        ).fetchall()
        assert unvalidated == []
        for what, statement in EXPECTED[name].refused.items():
            with pytest.raises(psycopg.errors.IntegrityError), conn.transaction():
                conn.execute(statement)
                pytest.fail(f"{name}: not refused: {what}")  # pragma: no cover


@pytest.mark.fast
def test_registry_lists_every_profile() -> None:
    assert set(PROFILES) == {"canonical", "modestwear", "techally", "minimal", "solemate"}
    assert set(EXPECTED) <= set(PROFILES)
    with pytest.raises(ShopmartsError, match="unknown source profile 'nope'"):
        get_profile("nope")


# -- the inverse rules per order and per product ------------------------------------------
# Each profile's README inverse rules as SQL, one row per order (order, customer, UTC order
# date, revenue, recognized) and per product (units sold, line revenue, units on hand),
# keyed like the profile keys the canonical rows: the canonical id (serial) or
# md5('<entity>:' || id)::uuid.


def canonical_key(entity: str, column: str, serial: bool) -> str:
    return f"{column}::text" if serial else f"md5('{entity}:' || {column})::uuid::text"


def canonical_orders_sql(serial: bool) -> str:
    order = canonical_key("order", "order_id", serial)
    customer = canonical_key("customer", "customer_id", serial)
    return f"""
SELECT {order}, {customer},
       (order_date AT TIME ZONE 'UTC')::date::text, total_amount,
       payment_status = 'completed' AND order_status NOT IN ('cancelled', 'returned')
FROM orders"""


def canonical_products_sql(serial: bool) -> str:
    return f"""
SELECT {canonical_key("product", "product_id", serial)}, coalesce(i.units, 0),
       coalesce(i.revenue, 0), coalesce(s.on_hand, 0)
FROM products
LEFT JOIN (SELECT product_id, sum(quantity) AS units, sum(line_total) AS revenue
           FROM order_items GROUP BY 1) AS i USING (product_id)
LEFT JOIN (SELECT product_id, sum(quantity_on_hand) AS on_hand
           FROM inventory GROUP BY 1) AS s USING (product_id)"""


INVERSE: dict[str, tuple[bool, str, str]] = {  # serial keys?, per order, per product
    "minimal": (
        False,
        """SELECT id::text, user_id::text, created_at::date::text, total,
                  status IN ('processing', 'shipped', 'delivered') FROM orders""",
        """SELECT p.id::text, coalesce(i.units, 0), coalesce(i.revenue, 0), p.stock
           FROM products AS p
           LEFT JOIN (SELECT product_id, sum(quantity) AS units,
                             sum(quantity * price) AS revenue
                      FROM order_items GROUP BY 1) AS i ON i.product_id = p.id""",
    ),
    "modestwear": (
        True,
        """SELECT id::text, user_id::text, created_at::date::text, total_price,
                  status IN ('paid', 'shipped', 'delivered') FROM orders_order""",
        """SELECT p.id::text, coalesce(i.units, 0), coalesce(i.revenue, 0),
                  coalesce(v.on_hand, 0)
           FROM catalog_product AS p
           LEFT JOIN (SELECT v.product_id, sum(oi.quantity) AS units,
                             sum(oi.quantity * oi.price_at_purchase) AS revenue
                      FROM orders_orderitem AS oi
                      JOIN catalog_productvariant AS v ON v.id = oi.variant_id
                      GROUP BY 1) AS i ON i.product_id = p.id
           LEFT JOIN (SELECT product_id, sum(stock_available) AS on_hand
                      FROM catalog_productvariant GROUP BY 1) AS v ON v.product_id = p.id""",
    ),
    "techally": (
        False,
        """SELECT o.id::text, o.user_id::text, (o.created_at AT TIME ZONE 'UTC')::date::text,
                  o.total_amount,
                  p.status = 'completed' AND o.status NOT IN ('CANCELLED', 'RETURNED', 'FAILED')
           FROM orders AS o JOIN payments AS p ON p.order_id = o.id
           WHERE o.deleted_at IS NULL""",
        """SELECT p.id::text, coalesce(i.units, 0), coalesce(i.revenue, 0),
                  coalesce(s.on_hand, 0)
           FROM products AS p
           LEFT JOIN (SELECT product_id, sum(quantity) AS units, sum(total_price) AS revenue
                      FROM order_items GROUP BY 1) AS i ON i.product_id = p.id
           LEFT JOIN (SELECT product_id, sum(quantity_on_hand) AS on_hand
                      FROM inventory GROUP BY 1) AS s ON s.product_id = p.id""",
    ),
    "solemate": (
        False,
        """SELECT o.id::text, o.user_id::text, o.created_at::date::text, o.total,
                  p.status = 'COMPLETED'
                  AND o.status NOT IN ('CANCELLED', 'RETURNED', 'REFUNDED')
           FROM orders AS o JOIN payments AS p ON p.order_id = o.id""",
        """SELECT p.id::text, coalesce(i.units, 0), coalesce(i.revenue, 0),
                  coalesce(s.on_hand, 0)
           FROM products AS p
           LEFT JOIN (SELECT product_id, sum(quantity) AS units, sum(total) AS revenue
                      FROM order_items GROUP BY 1) AS i ON i.product_id = p.id
           LEFT JOIN (SELECT product_id, sum(quantity) AS on_hand
                      FROM inventory GROUP BY 1) AS s ON s.product_id = p.id""",
    ),
}


def rows_by_key(url: str, query: str) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}  # type: ignore[call-overload]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_order_and_product_recovered_by_the_inverse_rules(
    name: str,
    canonical_shop: tuple[str, GenerateReport],
    profile_shop: Callable[[str], tuple[str, GenerateReport]],
) -> None:
    canonical_url, _ = canonical_shop
    url, _ = profile_shop(name)
    serial, orders_sql, products_sql = INVERSE[name]
    expected_orders = rows_by_key(canonical_url, canonical_orders_sql(serial))
    actual_orders = rows_by_key(url, orders_sql)
    assert len(actual_orders) == len(expected_orders) > 0
    # Same customer, date, revenue and recognition for every single order.
    assert actual_orders == expected_orders
    expected_products = rows_by_key(canonical_url, canonical_products_sql(serial))
    actual_products = rows_by_key(url, products_sql)
    assert len(actual_products) == len(expected_products) > 0
    # Same units sold, line revenue and units on hand for every product.
    assert actual_products == expected_products


# Per product: category and parent category names (profiles with categories), and review
# count and rating sum (profiles with reviews).
CANONICAL_CATEGORY_SQL = """
SELECT {key}, c.name, parent.name FROM products AS p
JOIN product_categories AS c USING (category_id)
LEFT JOIN product_categories AS parent ON parent.category_id = c.parent_category_id"""
CATEGORY_SQL = {
    "modestwear": """
SELECT p.id::text, c.name, parent.name FROM catalog_product AS p
JOIN catalog_category AS c ON c.id = p.category_id
LEFT JOIN catalog_category AS parent ON parent.id = c.parent_id""",
    "techally": """
SELECT p.id::text, c.name, parent.name FROM products AS p
JOIN categories AS c ON c.id = p.category_id
LEFT JOIN categories AS parent ON parent.id = c.parent_id""",
}
CATEGORY_SQL["solemate"] = CATEGORY_SQL["techally"]
CANONICAL_REVIEW_SQL = """
SELECT {key}, count(r.review_id), coalesce(sum(r.rating), 0) FROM products AS p
LEFT JOIN reviews AS r USING (product_id) GROUP BY p.product_id"""
REVIEW_SQL = {
    "techally": """
SELECT p.id::text, count(r.id), coalesce(sum(r.rating), 0) FROM products AS p
LEFT JOIN reviews AS r ON r.product_id = p.id AND r.deleted_at IS NULL GROUP BY p.id""",
    "solemate": """
SELECT p.id::text, count(r.id), coalesce(sum(r.rating), 0) FROM products AS p
LEFT JOIN reviews AS r ON r.product_id = p.id GROUP BY p.id""",
}


@pytest.mark.parametrize(
    ("name", "aspect"),
    [(name, "categories") for name in sorted(CATEGORY_SQL)]
    + [(name, "reviews") for name in sorted(REVIEW_SQL)],
)
def test_categories_and_reviews_recovered_where_the_profile_has_them(
    name: str,
    aspect: str,
    canonical_shop: tuple[str, GenerateReport],
    profile_shop: Callable[[str], tuple[str, GenerateReport]],
) -> None:
    canonical_url, _ = canonical_shop
    url, _ = profile_shop(name)
    serial = INVERSE[name][0]
    canonical_sql, profile_sql = {
        "categories": (CANONICAL_CATEGORY_SQL, CATEGORY_SQL[name]),
        "reviews": (CANONICAL_REVIEW_SQL, REVIEW_SQL.get(name, "")),
    }[aspect]
    key = canonical_key("product", "p.product_id", serial)
    expected = rows_by_key(canonical_url, canonical_sql.format(key=key))
    assert expected and rows_by_key(url, profile_sql) == expected


def content_checksums(url: str, tables: tuple[str, ...]) -> dict[str, str]:
    """md5 of every row of each table, in key order."""
    with psycopg.connect(url) as conn:
        result = {}
        for table in tables:
            query = sql.SQL(
                "SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t.id)), '') FROM {} AS t"
            ).format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
            assert row is not None
            result[table] = row[0]
        return result


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_scale_and_seed_give_the_same_rows(
    name: str,
    new_database: Callable[[str], str],
    profile_shop: Callable[[str], tuple[str, GenerateReport]],
) -> None:
    url, report = profile_shop(name)
    again = new_database(f"profiles_{name}_again")
    generate_shop(
        again, scale=SCALE, seed=SEED, replace=False, progress=False, end_date=END, profile=name
    )
    tables = get_profile(name).table_names
    first_run = content_checksums(url, tables)
    assert first_run == content_checksums(again, tables)
    # Rows were written through the profile's tables, as reported ...
    with psycopg.connect(url) as conn:
        for table, rows in report.profile_rows.items():
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            assert conn.execute(query).fetchone() == (rows,), table
    users = tables[0]  # every profile loads its users first
    assert report.profile == name and report.profile_rows[users] > 0
    # ... and another seed gives another shop.
    other = new_database(f"profiles_{name}_other_seed")
    generate_shop(
        other, scale=SCALE, seed=SEED + 1, replace=False, progress=False, end_date=END, profile=name
    )
    assert content_checksums(other, (users,)) != {users: first_run[users]}


def test_switching_profiles_needs_replace_and_leaves_one_schema(
    new_database: Callable[[str], str],
) -> None:
    url = new_database("profiles_switch")
    generate_shop(url, scale=SCALE, seed=SEED, replace=False, progress=False, end_date=END)
    with pytest.raises(ShopmartsError, match="already has data.*--replace"):
        generate_shop(
            url,
            scale=SCALE,
            seed=SEED,
            replace=False,
            progress=False,
            end_date=END,
            profile="modestwear",
        )

    def tables() -> set[str]:
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = 'public'::regnamespace"
            ).fetchall()
        return {row[0] for row in rows}

    assert tables() == set(get_profile("canonical").table_names)  # the refusal changed nothing
    for name in ("modestwear", "solemate", "minimal", "canonical"):
        generate_shop(
            url, scale=SCALE, seed=SEED, replace=True, progress=False, end_date=END, profile=name
        )
        assert tables() == set(get_profile(name).table_names), name
        # A profile keeps the canonical shop it was written from (for simulate); the
        # canonical shop, and the next profile, drop it.
        kept = fetch_one(url, "SELECT to_regnamespace('shopmarts_canonical') IS NOT NULL")
        assert kept == (name != "canonical",), name


@pytest.mark.fast
def test_profile_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.profiles import PROFILE_VAR, configured_profile

    monkeypatch.delenv(PROFILE_VAR, raising=False)
    assert configured_profile().name == "canonical"
    monkeypatch.setenv(PROFILE_VAR, "SoleMate")
    assert configured_profile().name == "solemate"
    monkeypatch.setenv(PROFILE_VAR, "woocommerce")
    with pytest.raises(ShopmartsError, match="SHOPMARTS_SOURCE_PROFILE: unknown source profile"):
        configured_profile()


def run_cli(*args: str, shop_url: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """`shopmarts ...` in a child process, pointed at ``shop_url`` through the env vars."""
    env = dict(os.environ)
    env.pop("SHOPMARTS_SOURCE_PROFILE", None)
    env.update(
        SHOP_DATABASE_URL=shop_url,
        WAREHOUSE_DATABASE_URL=shop_url,
        CLICKHOUSE_URL="http://default:@127.0.0.1:9/",  # not contacted by generate
        **env_vars,
    )
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_profile_option_overrides_the_environment(new_database: Callable[[str], str]) -> None:
    url = new_database("profiles_cli")
    common = ("generate", "--scale", "0.01", "--seed", "3", "--end-date", "2026-11-01")
    # The variable chooses ...
    result = run_cli(*common, shop_url=url, SHOPMARTS_SOURCE_PROFILE="minimal")
    assert result.returncode == 0, result.stderr
    assert "profile minimal" in result.stdout and "sessions" in result.stdout
    assert "note:" not in result.stdout
    # ... and --profile overrides it.
    result = run_cli(
        *common,
        "--replace",
        "--profile",
        "techally",
        shop_url=url,
        SHOPMARTS_SOURCE_PROFILE="minimal",
    )
    assert result.returncode == 0, result.stderr
    assert "note: set SHOPMARTS_SOURCE_PROFILE=techally for the pipeline" in result.stdout
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('payments'), to_regclass('sessions')").fetchone()
    assert row == ("payments", None)
    # A bad name is one clear line, and the shop stays as it was.
    result = run_cli(*common, "--replace", "--profile", "shopify", shop_url=url)
    assert result.returncode == 1
    assert result.stderr == (
        "shopmarts: unknown source profile 'shopify'; "
        "choose one of canonical, modestwear, techally, minimal, solemate\n"
    )
    result = run_cli(*common, "--replace", shop_url=url, SHOPMARTS_SOURCE_PROFILE="shopify")
    assert result.returncode == 1 and "SHOPMARTS_SOURCE_PROFILE: unknown" in result.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('payments')").fetchone() == ("payments",)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_schema_file_run_top_to_bottom_builds_the_empty_shop(
    name: str, new_database: Callable[[str], str]
) -> None:
    url = new_database(f"profiles_{name}_ddl")
    profile = get_profile(name)
    with psycopg.connect(url) as conn:
        # Twice: the drop section makes the file rerunnable.
        for _ in range(2):
            conn.execute(profile.schema_file.read_text())  # type: ignore[call-overload]
        rows = conn.execute(
            "SELECT c.relname, c.reltuples FROM pg_class AS c WHERE c.relkind = 'r'"
            " AND c.relnamespace = 'public'::regnamespace"
        ).fetchall()
        keys = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'p'"
            " AND connamespace = 'public'::regnamespace"
        ).fetchone()
    assert {row[0] for row in rows} == set(profile.table_names)
    assert keys == (len(profile.tables),)  # a primary key on every table


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_canonical_shop_is_kept_beside_the_profiles_tables(
    name: str,
    canonical_shop: tuple[str, GenerateReport],
    profile_shop: Callable[[str], tuple[str, GenerateReport]],
) -> None:
    """What `simulate` advances and syncs the profile from: the canonical shop of the same
    scale and seed, whole (every row, its triggers), in schema shopmarts_canonical."""
    from ingest.profiles import CANONICAL_SCHEMA
    from ingest.shop.invariants import table_checksums

    canonical_url, _ = canonical_shop
    url, _ = profile_shop(name)
    with psycopg.connect(canonical_url) as conn:
        expected = table_checksums(conn)
    with psycopg.connect(url) as conn:
        assert table_checksums(conn, schema=CANONICAL_SCHEMA) == expected
        triggers = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
            " AND tgrelid::regclass::text LIKE %s",
            (f"{CANONICAL_SCHEMA}.%",),
        ).fetchone()
    with psycopg.connect(canonical_url) as conn:
        canonical_triggers = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
        ).fetchone()
    assert triggers == canonical_triggers and triggers != (0,)


def test_simulate_refuses_a_shop_of_another_profile_in_one_line(
    profile_shop: Callable[[str], tuple[str, GenerateReport]],
) -> None:
    """Simulate works on every profile (tests/test_profiles_refresh.py); told the wrong one
    (or a shop `generate` did not write), it says so in one line and changes nothing."""
    from ingest.shop.simulate import simulate_shop

    url, _ = profile_shop("solemate")
    tables = get_profile("solemate").table_names
    before = content_checksums(url, tables)
    with pytest.raises(ShopmartsError) as refused:
        simulate_shop(url, hours=1, seed=1, progress=False, profile="techally")
    message = str(refused.value)
    assert "is not a techally shop" in message and "no stock_movements table" in message
    assert "shopmarts generate --profile techally" in message and "\n" not in message
    assert content_checksums(url, tables) == before
