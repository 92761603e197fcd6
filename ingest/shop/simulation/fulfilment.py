"""Open orders move on: payments settle or fail, orders ship, arrive, are cancelled or returned.

Each open order is drawn once per hour against the hazard of its state's next step; the
steps themselves (what changes on the order, and how stock moves) are the table
:data:`TRANSITIONS`.
"""

from __future__ import annotations

from ingest.shop.calendar import DAY, HOUR, to_datetime
from ingest.shop.fulfilment import CUSTOMER_CANCEL_SHARE, FAILED_PAYMENT_SHARE, RETURN_SHARE
from ingest.shop.simulation.state import Hour, event_time
from ingest.shop.simulation.stock import move_stock

# Per-hour hazards of the fulfilment steps.
PAYMENT_SETTLES = 0.95
SHIPS = 1 / 20
DELIVERS_STANDARD = 1 / 108
DELIVERS_EXPRESS = 1 / 36
RETURN_WINDOW_HOURS = 28 * 24
CANCELS = CUSTOMER_CANCEL_SHARE / 20
# Earliest moment of a step after the one before it.
PAYMENT_AFTER = 60
SHIPPING_AFTER = 2 * HOUR
ARRIVAL_AFTER = HOUR
RETURN_AFTER = HOUR

# Each step: the order's new columns (u.at is the step's time) and the stock movement.
TRANSITIONS: dict[str, tuple[str, str | None]] = {
    "paid": ("order_status = 'processing', payment_status = 'completed'", None),
    "failed": ("order_status = 'cancelled', payment_status = 'failed'", "release"),
    "cancelled": ("order_status = 'cancelled', payment_status = 'refunded'", "release"),
    "shipped": ("order_status = 'shipped', shipped_at = u.at", "ship"),
    "delivered": ("order_status = 'delivered', delivered_at = u.at", None),
    "returned": ("order_status = 'returned', payment_status = 'refunded'", "return"),
}

Steps = dict[str, list[tuple[int, int]]]  # {step: [(order_id, at)]}


def fulfilment(hour: Hour) -> None:
    """Payments settle or fail, orders ship, arrive, get cancelled or returned."""
    steps: Steps = {kind: [] for kind in TRANSITIONS}
    _open_order_steps(hour, steps)
    _return_steps(hour, steps)
    for kind, (assignments, stock) in TRANSITIONS.items():
        if not steps[kind]:
            continue
        ids = [order_id for order_id, _ in steps[kind]]
        cursor = hour.conn.execute(
            f"UPDATE orders SET {assignments}"
            " FROM unnest(%s::bigint[], %s::timestamptz[]) AS u(order_id, at)"
            " WHERE orders.order_id = u.order_id",
            (ids, [to_datetime(at) for _, at in steps[kind]]),
        )
        hour.changes["orders", "update"] += cursor.rowcount
        if stock is not None:
            move_stock(hour, stock, ids)


def _open_order_steps(hour: Hour, steps: Steps) -> None:
    """Pending orders get paid (or fail), processing ones ship (or are cancelled),
    shipped ones arrive."""
    rng, start, end, share = hour.rng, hour.start, hour.end, hour.share
    rows = hour.conn.execute(
        "SELECT order_id, extract(epoch FROM order_date)::bigint, order_status,"
        " shipping_method = 'express', extract(epoch FROM shipped_at)::bigint FROM orders"
        " WHERE order_status IN ('pending', 'processing', 'shipped') AND order_date < %s"
        " ORDER BY order_id",
        (to_datetime(start),),
    ).fetchall()
    for order_id, placed, status, express, shipped in rows:
        draw = rng.random()
        if status == "pending":
            if draw < 1 - (1 - PAYMENT_SETTLES) ** share:
                at = event_time(rng, start, end, placed + PAYMENT_AFTER)
                if at is not None:
                    kind = "failed" if rng.random() < FAILED_PAYMENT_SHARE else "paid"
                    steps[kind].append((order_id, at))
        elif status == "processing":
            if draw < CANCELS * share:
                at = event_time(rng, start, end, placed + PAYMENT_AFTER)
                if at is not None:
                    steps["cancelled"].append((order_id, at))
            elif draw < (CANCELS + SHIPS) * share and start - placed >= SHIPPING_AFTER:
                at = event_time(rng, start, end, placed + SHIPPING_AFTER)
                if at is not None:
                    steps["shipped"].append((order_id, at))
        elif draw < (DELIVERS_EXPRESS if express else DELIVERS_STANDARD) * share:
            at = event_time(rng, start, end, shipped + ARRIVAL_AFTER)
            if at is not None:
                steps["delivered"].append((order_id, at))


def _return_steps(hour: Hour, steps: Steps) -> None:
    """Delivered orders come back within the return window (RETURN_SHARE of them)."""
    start = hour.start
    delivered = hour.conn.execute(
        "SELECT order_id, extract(epoch FROM delivered_at)::bigint FROM orders"
        " WHERE order_status = 'delivered' AND order_date >= %s AND delivered_at >= %s"
        "   AND delivered_at < %s ORDER BY order_id",
        (to_datetime(start - 60 * DAY), to_datetime(start - RETURN_WINDOW_HOURS * HOUR),
         to_datetime(start)),
    ).fetchall()  # fmt: skip
    hazard = RETURN_SHARE / RETURN_WINDOW_HOURS * hour.share
    for order_id, delivered_at in delivered:
        if hour.rng.random() < hazard:
            at = event_time(hour.rng, start, hour.end, delivered_at + RETURN_AFTER)
            if at is not None:
                steps["returned"].append((order_id, at))
