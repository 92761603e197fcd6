"""The shop's DDL (schema.sql) in sections, and connecting to the shop with clear errors."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from core.errors import ShopmartsError
from core.settings import get_environment, redact
from ingest.profiles.sql_files import split_sections

SCHEMA_FILE = Path(__file__).with_name("schema.sql")

# Parents before children: the order rows are loaded and reported in.
SHOP_TABLES = (
    "product_categories",
    "products",
    "customers",
    "addresses",
    "promotions",
    "orders",
    "order_items",
    "order_promotions",
    "reviews",
    "inventory",
    "audit_log",
)
# Key column(s) of each table, for stable ordering (checksums, extracts).
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "product_categories": ("category_id",),
    "products": ("product_id",),
    "customers": ("customer_id",),
    "addresses": ("address_id",),
    "promotions": ("promotion_id",),
    "orders": ("order_id",),
    "order_items": ("order_item_id",),
    "order_promotions": ("order_id", "promotion_id"),
    "reviews": ("review_id",),
    "inventory": ("inventory_id",),
    "audit_log": ("audit_id",),
}
IDENTITY_COLUMNS = {table: keys[0] for table, keys in PRIMARY_KEYS.items() if len(keys) == 1}


@cache
def schema_sections() -> dict[str, list[str]]:
    """schema.sql's statements, by section name, in file order."""
    return split_sections(SCHEMA_FILE.read_text())


def configured_shop_url() -> str:
    """The shop's URL (SHOP_DATABASE_URL or the embedded cluster); ClickHouse not needed."""
    url = get_environment(require_running=False).shop_url
    if urlsplit(url).port == 0:  # no SHOP_DATABASE_URL and the embedded stack never started
        raise ShopmartsError(
            "the embedded PostgreSQL is not set up: run `shopmarts up` (or set SHOP_DATABASE_URL)"
        )
    return url


def connect(shop_url: str, **options: Any) -> psycopg.Connection:
    """A connection to the shop, or a ShopmartsError naming the (redacted) URL."""
    try:
        return psycopg.connect(shop_url, connect_timeout=5, **options)
    except psycopg.OperationalError as error:
        raise ShopmartsError(
            f"the shop database at {redact(shop_url)} is down or unreachable "
            f"({connection_failure(error)}); "
            "start the embedded engines with `shopmarts up` or fix SHOP_DATABASE_URL"
        ) from error


def connection_failure(error: psycopg.OperationalError) -> str:
    """libpq's reason in a few words, e.g. "Connection refused" (never the password)."""
    lines = str(error).strip().splitlines()
    if not lines:
        return "no answer"
    reason = re.sub(r"^connection failed: |^connection to server .*? failed: ", "", lines[0])
    reason = re.sub(r"^connection to server .*? failed: ", "", reason)
    return reason.removeprefix("FATAL:").strip() or "no answer"


def table_rows(conn: psycopg.Connection) -> dict[str, int | None]:
    """Per shop table: None if it does not exist, else whether it holds rows (0 or 1)."""
    present = {
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_name = ANY(%s)",
            (list(SHOP_TABLES),),
        )
    }
    result: dict[str, int | None] = {}
    for table in SHOP_TABLES:
        if table in present:
            query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT 1) AS t")
            result[table] = scalar(conn, query.format(sql.Identifier(table)))
        else:
            result[table] = None
    return result


def scalar(conn: psycopg.Connection, query: Any, params: Any = None) -> Any:
    """The first column of the first row of ``query``."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise ValueError("query returned no row")
    return row[0]


def reset_identities(conn: psycopg.Connection) -> None:
    """Move each identity sequence past the loaded ids (COPY gave explicit ids)."""
    for table, column in IDENTITY_COLUMNS.items():
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({table_name}, {column_name}), "
                "coalesce(max({column}), 0) + 1, false) FROM {table}"
            ).format(
                table_name=sql.Literal(table),
                column_name=sql.Literal(column),
                column=sql.Identifier(column),
                table=sql.Identifier(table),
            )
        )
