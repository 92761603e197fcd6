"""Customers review lines of recently delivered (or returned) orders."""

from __future__ import annotations

from ingest.shop import vocabulary
from ingest.shop.calendar import DAY, HOUR, to_datetime
from ingest.shop.reviews import ANGRY_REVIEW_SHARE, REVIEW_SHARE
from ingest.shop.simulation.state import Hour, ShopState, columns, event_time

REVIEW_WINDOW_HOURS = 30 * 24
LINES_PER_ORDER = 3  # about; each reviewed with REVIEW_SHARE over the window
RETURNED_PENALTY = 1.6  # stars a returned product's review loses
UNRATED_PRODUCT = 4.2  # the rating expected of a product nobody reviewed yet


def reviews(hour: Hour, state: ShopState) -> None:
    """Customers review lines of recently delivered (or returned) orders."""
    rng, start = hour.rng, hour.start
    candidates = hour.conn.execute(
        "SELECT order_id FROM orders WHERE order_status IN ('delivered', 'returned')"
        " AND order_date >= %s AND delivered_at >= %s ORDER BY order_id",
        (to_datetime(start - 60 * DAY), to_datetime(start - REVIEW_WINDOW_HOURS * HOUR)),
    ).fetchall()
    hazard = LINES_PER_ORDER * REVIEW_SHARE / REVIEW_WINDOW_HOURS * hour.share * state.intensity
    chosen = [row[0] for row, draw in zip(candidates, rng.random(len(candidates)), strict=True)
              if draw < hazard]  # fmt: skip
    if not chosen:
        return
    lines = hour.conn.execute(
        "SELECT DISTINCT ON (oi.order_id) oi.order_id, o.customer_id, oi.product_id,"
        "   o.order_status = 'returned', extract(epoch FROM o.delivered_at)::bigint"
        " FROM order_items oi JOIN orders o USING (order_id)"
        " WHERE oi.order_id = ANY(%s) AND NOT EXISTS (SELECT 1 FROM reviews r"
        "   WHERE r.order_id = oi.order_id AND r.product_id = oi.product_id)"
        " ORDER BY oi.order_id, md5(oi.order_item_id::text || %s)",
        (chosen, str(start)),
    ).fetchall()
    rating_of = dict(zip(state.products.ids.tolist(), state.products.rating.tolist(), strict=True))
    rows = []
    for order_id, customer_id, product_id, returned, delivered_at in lines:
        at = event_time(rng, start, hour.end, delivered_at + HOUR)
        if at is None:
            continue
        latent = (
            rating_of.get(product_id, UNRATED_PRODUCT)
            + rng.normal(0.0, 1.0)
            - RETURNED_PENALTY * returned
        )
        rating = 1 if rng.random() < ANGRY_REVIEW_SHARE else int(min(max(round(latent), 1), 5))
        titles = vocabulary.REVIEW_TITLES[rating - 1]
        sentences = vocabulary.REVIEW_SENTENCES[rating - 1]
        first, second = rng.choice(len(sentences), 2, replace=False)
        rows.append((customer_id, product_id, order_id, rating,
                     titles[int(rng.integers(0, len(titles)))],
                     f"{sentences[first]} {sentences[second]}", at))  # fmt: skip
    if rows:
        cursor = hour.conn.execute(
            "INSERT INTO reviews (customer_id, product_id, order_id, rating, title, body,"
            " created_at)"
            " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::smallint[],"
            "   %s::text[], %s::text[], %s::timestamptz[])",
            columns(rows, timestamps={6}),
        )
        hour.changes["reviews", "insert"] += cursor.rowcount
