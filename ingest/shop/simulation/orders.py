"""New orders, placed `pending` with their items and promotions; their stock is reserved.

Who orders is drawn by the customers' weights, plus new customers ordering right after
signing up; what they buy by the products' popularity. Totals follow the same rules as
the generated history (:mod:`ingest.shop.orders`): markdowns on lines, one promotion per
order, tax by state, shipping by method and membership.
"""

from __future__ import annotations

import numpy as np

from ingest.shop import vocabulary
from ingest.shop.orders import (
    EXPRESS_SHARE,
    EXPRESS_SHIPPING,
    EXPRESS_SHIPPING_MEMBERS,
    EXTRA_ITEMS_PER_ORDER,
    FREE_SHIPPING_FROM,
    MARKDOWN_PERCENTS,
    MARKDOWN_SHARE,
    QUANTITY_WEIGHTS,
    STANDARD_SHIPPING,
    WELCOME_CODE_SHARE,
)
from ingest.shop.simulation.state import Hour, Promotion, ShopState, columns
from ingest.shop.simulation.stock import move_stock

WELCOME_ORDER_SHARE = 0.7  # new customers ordering right after signing up
WELCOME_ORDER_DELAY = (60, 1800)  # seconds after signing up

Placement = tuple[int, int, bool]  # (customer_id, placed_at, a welcome order)


def orders(hour: Hour, state: ShopState, count: int, new_customers: list[tuple[int, int]]) -> int:
    """Place ``count`` orders plus the new customers' welcome orders; returns how many."""
    placed = _placements(hour, state, count, new_customers)
    addresses = _shipping_addresses(hour, placed)
    placed = [order for order in placed if order[0] in addresses]
    if not placed:
        return 0
    ids = [row[0] for row in hour.conn.execute(
        "SELECT nextval(pg_get_serial_sequence('orders', 'order_id'))"
        " FROM generate_series(1, %s)", (len(placed),)
    )]  # fmt: skip
    members = dict(zip(state.customers.ids.tolist(), state.customers.member.tolist(), strict=True))
    cumulative = np.cumsum(state.products.weights)
    rows: list[tuple] = []
    items: list[tuple] = []
    applied: list[tuple] = []
    for order_id, (customer_id, placed_at, welcome) in zip(ids, placed, strict=True):
        subtotal = _basket(hour, state, cumulative, order_id, placed_at, items)
        promotion = _pick_promotion(hour, state, placed_at, welcome, subtotal)
        discount = 0
        if promotion is not None:
            if promotion.percentage:
                discount = (subtotal * promotion.value + 50) // 100
            else:
                discount = min(promotion.value, subtotal)
            applied.append((order_id, promotion.promotion_id, discount, placed_at))
        address_id, us_state = addresses[customer_id]
        express = hour.rng.random() < EXPRESS_SHARE
        net = subtotal - discount
        shipping = _shipping(express, members.get(customer_id, False), net)
        tax = (net * vocabulary.STATE_TAX_BASIS_POINTS.get(us_state, 0) + 5_000) // 10_000
        rows.append(
            (order_id, customer_id, placed_at, subtotal, discount, tax, shipping,
             net + tax + shipping, address_id, "express" if express else "standard")
        )  # fmt: skip
    _insert(hour, rows, items, applied)
    move_stock(hour, "reserve", ids)
    return len(rows)


def _placements(
    hour: Hour, state: ShopState, count: int, new_customers: list[tuple[int, int]]
) -> list[Placement]:
    """Who orders when this hour, in time order."""
    rng, customers = hour.rng, state.customers
    picks = np.searchsorted(
        customers.cumulative(), rng.random(count) * customers.weights.sum(), side="right"
    )
    picks = np.minimum(picks, len(customers.ids) - 1)
    placed = [(int(customers.ids[p]), int(t), False) for p, t in
              zip(picks, rng.integers(hour.start, hour.end, count), strict=True)]  # fmt: skip
    for customer_id, created in new_customers:
        if rng.random() < WELCOME_ORDER_SHARE:
            delay = int(rng.integers(*WELCOME_ORDER_DELAY))
            placed.append((customer_id, min(created + delay, hour.end - 1), True))
    placed.sort(key=lambda order: (order[1], order[0]))
    return placed


def _shipping_addresses(hour: Hour, placed: list[Placement]) -> dict[int, tuple[int, str]]:
    """{customer_id: (address_id, state)} of each customer's default shipping address."""
    return {
        row[0]: (row[1], row[2])
        for row in hour.conn.execute(
            "SELECT DISTINCT ON (customer_id) customer_id, address_id, state FROM addresses"
            " WHERE customer_id = ANY(%s) AND address_type = 'shipping'"
            " ORDER BY customer_id, is_default DESC, address_id",
            (sorted({order[0] for order in placed}),),
        )
    }


def _basket(
    hour: Hour,
    state: ShopState,
    cumulative: np.ndarray,
    order_id: int,
    placed_at: int,
    items: list[tuple],
) -> int:
    """Draw one order's lines into ``items``; returns its subtotal in cents."""
    rng, products = hour.rng, state.products
    lines = 1 + int(rng.poisson(EXTRA_ITEMS_PER_ORDER))
    chosen = np.searchsorted(cumulative, rng.random(lines) * cumulative[-1], side="right")
    subtotal = 0
    for index in dict.fromkeys(np.minimum(chosen, len(products.ids) - 1).tolist()):
        quantity = 1 + int(rng.choice(len(QUANTITY_WEIGHTS), p=QUANTITY_WEIGHTS))
        price = int(products.price[index])
        markdown = int(rng.choice(MARKDOWN_PERCENTS)) if rng.random() < MARKDOWN_SHARE else 0
        discount = (quantity * price * markdown + 50) // 100
        line_total = quantity * price - discount
        subtotal += line_total
        items.append(
            (order_id, int(products.ids[index]), quantity, price, discount, line_total, placed_at)
        )
    return subtotal


def _pick_promotion(
    hour: Hour, state: ShopState, at: int, welcome: bool, subtotal: int
) -> Promotion | None:
    """The promotion this order uses, if any: the welcome code, or a running one by uptake."""
    rng = hour.rng
    if welcome and state.welcome is not None and rng.random() < WELCOME_CODE_SHARE:
        chosen: Promotion | None = state.welcome
    else:
        running = [
            p for p in state.promotions if p.starts <= at and (p.ends is None or at < p.ends)
        ]
        uptake = sum(p.uptake for p in running)
        chosen = None
        draw = rng.random()
        if draw < uptake:
            for promotion in running:
                draw -= promotion.uptake
                if draw < 0:
                    chosen = promotion
                    break
    if chosen is None or subtotal < chosen.min_order:
        return None
    return chosen


def _shipping(express: bool, member: bool, net: int) -> int:
    """Shipping in cents: express costs (members pay less), standard is free to members
    and above FREE_SHIPPING_FROM."""
    if express:
        return EXPRESS_SHIPPING_MEMBERS if member else EXPRESS_SHIPPING
    return 0 if member or net >= FREE_SHIPPING_FROM else STANDARD_SHIPPING


def _insert(hour: Hour, rows: list[tuple], items: list[tuple], applied: list[tuple]) -> None:
    """Insert the orders, their items and their applied promotions (amounts in cents)."""
    conn, changes = hour.conn, hour.changes
    cursor = conn.execute(
        "INSERT INTO orders (order_id, customer_id, order_date, order_status, payment_status,"
        " subtotal, discount_amount, tax_amount, shipping_amount, total_amount,"
        " shipping_address_id, shipping_method, created_at)"
        " SELECT id, customer_id, placed_at, 'pending', 'pending', subtotal / 100.0,"
        "   discount / 100.0, tax / 100.0, shipping / 100.0, total / 100.0, address_id, method,"
        "   placed_at"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::bigint[],"
        "   %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[])"
        "   AS o(id, customer_id, placed_at, subtotal, discount, tax, shipping, total,"
        "        address_id, method)",
        columns(rows, timestamps={2}),
    )
    changes["orders", "insert"] += cursor.rowcount
    cursor = conn.execute(
        "INSERT INTO order_items (order_id, product_id, quantity, unit_price, discount_amount,"
        " line_total, created_at)"
        " SELECT order_id, product_id, quantity, price / 100.0, discount / 100.0,"
        "   line_total / 100.0, placed_at"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::bigint[], %s::bigint[],"
        "   %s::bigint[], %s::timestamptz[])"
        "   AS i(order_id, product_id, quantity, price, discount, line_total, placed_at)",
        columns(items, timestamps={6}),
    )
    changes["order_items", "insert"] += cursor.rowcount
    if applied:
        cursor = conn.execute(
            "INSERT INTO order_promotions (order_id, promotion_id, discount_amount, created_at)"
            " SELECT order_id, promotion_id, discount / 100.0, placed_at"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[])"
            "   AS p(order_id, promotion_id, discount, placed_at)",
            columns(applied, timestamps={3}),
        )
        changes["order_promotions", "insert"] += cursor.rowcount
