"""What must hold in the shop beyond its constraints, as SQL, and per-table checksums.

The schema enforces what one row can check (CHECK) and what keys can (FOREIGN KEY,
UNIQUE). The identities below span tables; generate and simulate keep them, the tests
assert them, and anyone can run them against a shop.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

from ingest.shop.schema import PRIMARY_KEYS, SHOP_TABLES

# name -> query counting the rows that break the rule (0 = holds).
CROSS_TABLE_RULES: dict[str, str] = {
    "order subtotal is the sum of its line totals": """
        SELECT count(*) FROM orders o
        LEFT JOIN (SELECT order_id, sum(line_total) AS lines FROM order_items GROUP BY 1) i
          USING (order_id)
        WHERE i.lines IS DISTINCT FROM o.subtotal""",
    "order discount is the sum of its applied promotions": """
        SELECT count(*) FROM orders o
        LEFT JOIN (SELECT order_id, sum(discount_amount) AS promos FROM order_promotions
                   GROUP BY 1) p USING (order_id)
        WHERE coalesce(p.promos, 0) <> o.discount_amount""",
    "an order ships to one of its customer's shipping addresses": """
        SELECT count(*) FROM orders o JOIN addresses a ON a.address_id = o.shipping_address_id
        WHERE a.customer_id <> o.customer_id OR a.address_type <> 'shipping'""",
    "nobody orders before signing up": """
        SELECT count(*) FROM orders o JOIN customers c USING (customer_id)
        WHERE o.order_date < c.created_at""",
    "lines are as old as their order": """
        SELECT count(*) FROM order_items i JOIN orders o USING (order_id)
        WHERE i.created_at <> o.created_at""",
    "no product is sold before it exists": """
        SELECT count(*) FROM order_items i JOIN products p USING (product_id)
        WHERE i.created_at < p.created_at""",
    "a product appears once per order": """
        SELECT count(*) FROM (SELECT 1 FROM order_items GROUP BY order_id, product_id
                              HAVING count(*) > 1) d""",
    "a promotion is applied while it runs and above its minimum": """
        SELECT count(*) FROM order_promotions op JOIN promotions p USING (promotion_id)
        JOIN orders o USING (order_id)
        WHERE o.order_date < p.starts_at OR o.order_date >= p.ends_at
           OR o.subtotal < p.min_order_amount""",
    "a review with an order reviews a product its author bought there": """
        SELECT count(*) FROM reviews r WHERE r.order_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM order_items i JOIN orders o USING (order_id)
            WHERE i.order_id = r.order_id AND i.product_id = r.product_id
              AND o.customer_id = r.customer_id)""",
    "a review comes after the delivery": """
        SELECT count(*) FROM reviews r JOIN orders o USING (order_id)
        WHERE o.delivered_at IS NULL OR r.created_at < o.delivered_at""",
    "products hang from leaf categories": """
        SELECT count(*) FROM products p
        WHERE EXISTS (SELECT 1 FROM product_categories c
                      WHERE c.parent_category_id = p.category_id)""",
    "the category tree is at most three levels deep": """
        SELECT count(*) FROM product_categories c
        JOIN product_categories parent ON parent.category_id = c.parent_category_id
        JOIN product_categories grandparent ON grandparent.category_id = parent.parent_category_id
        WHERE grandparent.parent_category_id IS NOT NULL""",
}


def broken_rules(conn: psycopg.Connection) -> dict[str, int]:
    """The cross-table rules that do not hold, with how many rows break each."""
    broken = {}
    for name, query in CROSS_TABLE_RULES.items():
        row = conn.execute(query).fetchone()
        if row and row[0]:
            broken[name] = int(row[0])
    return broken


def unvalidated_constraints(conn: psycopg.Connection) -> list[str]:
    """Constraints of the shop's tables that PostgreSQL has not validated (should be none)."""
    rows = conn.execute(
        "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint"
        " WHERE conrelid = ANY(SELECT to_regclass('public.' || t) FROM unnest(%s::text[]) AS t)"
        "   AND NOT convalidated ORDER BY 1",
        (list(SHOP_TABLES),),
    ).fetchall()
    return [row[0] for row in rows]


def table_checksums(
    conn: psycopg.Connection,
    tables: Iterable[str] = SHOP_TABLES,
    exclude_columns: Iterable[str] = (),
    schema: str = "public",
) -> dict[str, str]:
    """md5 of every row of each table of ``schema`` in key order, skipping ``exclude_columns``.

    ``schema``: a profile's shop keeps its canonical shop in ``shopmarts_canonical``.

    Excluding ``updated_at`` and ``changed_at`` compares shops whose changes were written at
    different wall-clock times; they are also taken out of the audit log's row images.
    """
    excluded = set(exclude_columns)
    checksums = {}
    for table in tables:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, table),
        ).fetchall()
        parts = []
        for name, data_type in columns:
            if name in excluded:
                continue
            value: sql.Composable = sql.Identifier(name)
            if data_type == "jsonb" and excluded:
                value = sql.SQL("({} - {}::text[])").format(value, sql.Literal(sorted(excluded)))
            parts.append(sql.SQL("coalesce(({})::text, '<null>')").format(value))
        query = sql.SQL(
            "SELECT coalesce(md5(string_agg(concat_ws('|', {}), E'\\n' ORDER BY {})), '') FROM {}"
        ).format(
            sql.SQL(", ").join(parts),
            sql.SQL(", ").join(sql.Identifier(key) for key in PRIMARY_KEYS[table]),
            sql.Identifier(schema, table),
        )
        row = conn.execute(query).fetchone()
        checksums[table] = row[0] if row else ""
    return checksums
