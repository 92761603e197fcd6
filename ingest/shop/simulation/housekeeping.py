"""The shop's upkeep: promotions expire, prices change, customers and products are
deactivated (soft deletes), cancelled orders and moderated reviews are purged (hard deletes)."""

from __future__ import annotations

import math

import numpy as np

from ingest.shop.calendar import DAY, to_datetime
from ingest.shop.schema import scalar
from ingest.shop.simulation.state import Hour, ShopState

# Per hour at scale 1 (10,000 customers), and a floor so small shops see some.
PRICE_CHANGES = (0.5, 0.2)
CUSTOMER_DEACTIVATIONS = (0.03, 0.1)
PRODUCT_DEACTIVATIONS = (0.03, 0.05)
ORDER_DELETIONS = (0.05, 0.1)  # cancelled orders purged with their items
REVIEW_DELETIONS = (0.05, 0.1)  # reviews removed by moderation
PRICE_FACTORS = (0.85, 1.15)  # a price change moves the price within this factor


def expire_promotions(hour: Hour, state: ShopState) -> None:
    """Promotions whose end has come are switched off and no longer offered."""
    cursor = hour.conn.execute(
        "UPDATE promotions SET is_active = false WHERE is_active AND ends_at <= %s",
        (to_datetime(hour.end),),
    )
    hour.changes["promotions", "update"] += cursor.rowcount
    state.promotions = [p for p in state.promotions if p.ends is None or p.ends > hour.end]


def housekeeping(hour: Hour, state: ShopState) -> None:
    """Price changes, deactivated accounts and products, purged orders and reviews."""
    _price_changes(hour, state)
    _deactivate_customers(hour, state)
    _deactivate_products(hour, state)
    _purge_cancelled_orders(hour, state)
    _moderate_reviews(hour, state)


def _price_changes(hour: Hour, state: ShopState) -> None:
    rng, products = hour.rng, state.products
    count = int(rng.poisson(state.expected(PRICE_CHANGES, hour.share, math.sqrt(state.size))))
    if not count:
        return
    picks = sorted(set(rng.integers(0, len(products.ids), count).tolist()))
    factors = np.round(rng.uniform(*PRICE_FACTORS, len(picks)), 3).tolist()
    cursor = hour.conn.execute(
        "UPDATE products p"
        " SET unit_price = greatest(p.cost_price, round(p.unit_price * u.factor) - 0.01)"
        " FROM unnest(%s::bigint[], %s::numeric[]) AS u(product_id, factor)"
        " WHERE p.product_id = u.product_id"
        " RETURNING p.product_id, (p.unit_price * 100)::bigint",
        (products.ids[picks].tolist(), factors),
    )
    new_prices: dict[int, int] = dict(cursor.fetchall())
    hour.changes["products", "update"] += len(new_prices)
    for index in picks:
        products.price[index] = new_prices.get(int(products.ids[index]), products.price[index])


def _deactivate_customers(hour: Hour, state: ShopState) -> None:
    customers = state.customers
    count = int(hour.rng.poisson(state.expected(CUSTOMER_DEACTIVATIONS, hour.share, state.size)))
    if not count or len(customers.ids) <= count:
        return
    picks = sorted(set(hour.rng.integers(0, len(customers.ids), count).tolist()))
    cursor = hour.conn.execute(
        "UPDATE customers SET is_active = false WHERE customer_id = ANY(%s) AND is_active",
        (customers.ids[picks].tolist(),),
    )
    hour.changes["customers", "update"] += cursor.rowcount
    keep = np.ones(len(customers.ids), dtype=bool)
    keep[picks] = False
    state.customers = customers.kept(keep)


def _deactivate_products(hour: Hour, state: ShopState) -> None:
    products = state.products
    expected = state.expected(PRODUCT_DEACTIVATIONS, hour.share, math.sqrt(state.size))
    count = int(hour.rng.poisson(expected))
    if not count or len(products.ids) <= count:
        return
    picks = sorted(set(hour.rng.integers(0, len(products.ids), count).tolist()))
    cursor = hour.conn.execute(
        "UPDATE products SET is_active = false WHERE product_id = ANY(%s) AND is_active",
        (products.ids[picks].tolist(),),
    )
    hour.changes["products", "update"] += cursor.rowcount
    keep = np.ones(len(products.ids), dtype=bool)
    keep[picks] = False
    state.products = products.kept(keep)


def _purge_cancelled_orders(hour: Hour, state: ShopState) -> None:
    count = int(hour.rng.poisson(state.expected(ORDER_DELETIONS, hour.share, state.size)))
    if not count:
        return
    newest = scalar(hour.conn, "SELECT coalesce(max(order_id), 0) FROM orders")
    # Random ids, most not cancelled: 40 candidates per deletion find enough that are.
    candidates = sorted(set(hour.rng.integers(1, newest + 1, 40 * count).tolist()))
    cursor = hour.conn.execute(
        "DELETE FROM orders WHERE order_id IN (SELECT order_id FROM orders"
        "  WHERE order_id = ANY(%s) AND order_status = 'cancelled' AND order_date < %s"
        "  ORDER BY order_id LIMIT %s)",
        (candidates, to_datetime(hour.start - DAY), count),
    )
    hour.changes["orders", "delete"] += cursor.rowcount


def _moderate_reviews(hour: Hour, state: ShopState) -> None:
    count = int(hour.rng.poisson(state.expected(REVIEW_DELETIONS, hour.share, state.size)))
    if not count:
        return
    newest = scalar(hour.conn, "SELECT coalesce(max(review_id), 0) FROM reviews")
    candidates = sorted(set(hour.rng.integers(1, newest + 1, 4 * count).tolist()))
    cursor = hour.conn.execute(
        "DELETE FROM reviews WHERE review_id IN (SELECT review_id FROM reviews"
        "  WHERE review_id = ANY(%s) ORDER BY review_id LIMIT %s)",
        (candidates, count),
    )
    hour.changes["reviews", "delete"] += cursor.rowcount
