"""Stock follows the orders (reserved, released, shipped, taken back) and is restocked."""

from __future__ import annotations

from ingest.shop.simulation.state import Hour

RESTOCKS = 1 / 120  # per hour: a delivery about five days after stock ran low

# Per movement: which inventory row of a product takes it (the first by this order), and
# how the row changes by the orders' units t.quantity.
STOCK_MOVES = {
    "reserve": ("i.quantity_available DESC",
                "quantity_reserved = least(i.quantity_reserved + t.quantity, i.quantity_on_hand)"),
    "release": ("i.quantity_reserved DESC",
                "quantity_reserved = greatest(i.quantity_reserved - t.quantity, 0)"),
    "ship": ("i.quantity_reserved DESC",
             "quantity_reserved = greatest(i.quantity_reserved - t.quantity, 0),"
             " quantity_on_hand = greatest(i.quantity_on_hand - t.quantity,"
             "   greatest(i.quantity_reserved - t.quantity, 0))"),
    "return": ("i.quantity_on_hand", "quantity_on_hand = i.quantity_on_hand + t.quantity"),
}  # fmt: skip


def move_stock(hour: Hour, kind: str, order_ids: list[int]) -> None:
    """Reserve, release, ship or take back the units of these orders' lines."""
    target_order, assignment = STOCK_MOVES[kind]
    cursor = hour.conn.execute(
        "WITH moved AS (SELECT product_id, sum(quantity)::int AS quantity FROM order_items"
        "   WHERE order_id = ANY(%s) GROUP BY product_id),"
        " target AS (SELECT DISTINCT ON (i.product_id) i.inventory_id, m.quantity"
        "   FROM inventory i JOIN moved m USING (product_id)"
        f"   ORDER BY i.product_id, {target_order}, i.inventory_id)"
        f" UPDATE inventory i SET {assignment}"
        " FROM target t WHERE i.inventory_id = t.inventory_id",
        (order_ids,),
    )
    hour.changes["inventory", "update"] += cursor.rowcount


def restock(hour: Hour) -> None:
    """Rows below their reorder point get their reorder quantity, at RESTOCKS per hour."""
    low = [row[0] for row in hour.conn.execute(
        "SELECT inventory_id FROM inventory WHERE quantity_available < reorder_point"
        " ORDER BY inventory_id"
    )]  # fmt: skip
    arrived = [
        i
        for i, draw in zip(low, hour.rng.random(len(low)), strict=True)
        if draw < RESTOCKS * hour.share
    ]
    if arrived:
        cursor = hour.conn.execute(
            "UPDATE inventory SET quantity_on_hand = quantity_on_hand + reorder_quantity"
            " WHERE inventory_id = ANY(%s)",
            (arrived,),
        )
        hour.changes["inventory", "update"] += cursor.rowcount
