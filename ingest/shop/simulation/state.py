"""What the simulator keeps between hours (who buys, what sells, which promotions run) and
one hour's working set (its connection, random stream, window and tally)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg

from core.errors import ShopmartsError
from ingest.shop.calendar import DAY, HOUR, day_factors, to_datetime
from ingest.shop.schema import scalar

TREND_DAYS = 28

# Share of the shoppers in a promotion's window who use it, by kind of promotion: the
# welcome code is offered to first orders only (WELCOME_CODE_SHARE), evergreen codes
# have no end, the two big days draw most.
WELCOME_PREFIX = "WELCOME"
BIG_DAY_PREFIXES = ("BLACKFRIDAY", "CYBERMONDAY")
UPTAKE = {"welcome": 0.0, "evergreen": 0.025, "seasonal": 0.1, "big day": 0.3}


@dataclass
class Customers:
    """Active customers: who may order, how often (weights), and members' cheaper shipping."""

    ids: np.ndarray
    weights: np.ndarray
    member: np.ndarray  # gold or platinum: cheaper shipping

    def cumulative(self) -> np.ndarray:
        """Cumulative weights, for drawing customers by weight."""
        return np.cumsum(self.weights)

    def kept(self, keep: np.ndarray) -> Customers:
        """The customers where ``keep`` is true."""
        return Customers(self.ids[keep], self.weights[keep], self.member[keep])


@dataclass
class Products:
    """Products on sale: popularity (weights), current price and rating so far."""

    ids: np.ndarray
    weights: np.ndarray
    price: np.ndarray  # cents
    rating: np.ndarray  # average star rating so far

    def kept(self, keep: np.ndarray) -> Products:
        """The products where ``keep`` is true."""
        return Products(self.ids[keep], self.weights[keep], self.price[keep], self.rating[keep])


@dataclass
class Promotion:
    """A promotion that can still be applied."""

    promotion_id: int
    code: str
    percentage: bool
    value: int  # percent or cents
    min_order: int
    starts: int
    ends: int | None
    uptake: float


@dataclass
class Hour:
    """One simulated hour (or the last part of one): what every event of it works with."""

    conn: psycopg.Connection
    rng: np.random.Generator
    start: int
    end: int
    changes: Counter[tuple[str, str]]

    @property
    def share(self) -> float:
        """The part of a whole hour this window covers."""
        return (self.end - self.start) / HOUR


@dataclass
class ShopState:
    """The shop as the simulator sees it, loaded once and kept up to date by the events."""

    start: int  # the first simulated second: the hour after the newest row
    intensity: float
    orders_per_day: float  # at calendar factor 1
    signups_per_day: float
    size: float  # customers / 10,000: scale 1 is 10,000 customers
    customers: Customers
    products: Products
    promotions: list[Promotion]
    welcome: Promotion | None

    def expected(self, per_scale_one: tuple[float, float], share: float, size: float) -> float:
        """Expected events this hour from (rate at scale 1, floor) at ``size``."""
        rate, floor = per_scale_one
        return max(rate * size, floor) * share * self.intensity


def load_state(conn: psycopg.Connection, start: int, intensity: float) -> ShopState:
    """Read the shop's recent trend, customers, products and promotions before ``start``."""
    since = to_datetime(start - TREND_DAYS * DAY)
    recent_orders = scalar(conn, "SELECT count(*) FROM orders WHERE order_date >= %s", (since,))
    recent_signups = scalar(conn, "SELECT count(*) FROM customers WHERE created_at >= %s", (since,))
    shop_customers = scalar(conn, "SELECT count(*) FROM customers")
    # Per day at calendar factor 1: the trend the simulated days continue.
    trend_days = start - DAY * np.arange(TREND_DAYS, 0, -1)
    calendar = float(day_factors(trend_days).sum())
    customers = _customers(conn, to_datetime(start - 365 * DAY))
    products = _products(conn, to_datetime(start - 90 * DAY))
    if not len(customers.ids) or not len(products.ids):
        raise ShopmartsError("the shop has no active customers or products to simulate")
    promotions = _promotions(conn)
    return ShopState(
        start=start,
        intensity=intensity,
        orders_per_day=max(recent_orders, 1) / calendar,
        signups_per_day=recent_signups / calendar,
        size=max(shop_customers, 1) / 10_000,
        customers=customers,
        products=products,
        promotions=promotions,
        welcome=next((p for p in promotions if p.code.startswith(WELCOME_PREFIX)), None),
    )


def _customers(conn: psycopg.Connection, year_ago: datetime) -> Customers:
    rows = conn.execute(
        "SELECT c.customer_id, c.tier IN ('gold', 'platinum'), count(o.order_id)"
        " FROM customers c LEFT JOIN orders o"
        "   ON o.customer_id = c.customer_id AND o.order_date >= %s"
        " WHERE c.is_active GROUP BY c.customer_id ORDER BY c.customer_id",
        (year_ago,),
    ).fetchall()
    return Customers(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        weights=np.array([r[2] + 0.3 for r in rows], dtype=float),
        member=np.array([r[1] for r in rows], dtype=bool),
    )


def _products(conn: psycopg.Connection, sales_since: datetime) -> Products:
    rows = conn.execute(
        "SELECT p.product_id, (p.unit_price * 100)::bigint, coalesce(s.units, 0),"
        "   coalesce(r.rating, 4.2)::float8"
        " FROM products p"
        " LEFT JOIN (SELECT oi.product_id, sum(oi.quantity) AS units FROM order_items oi"
        "   JOIN orders o USING (order_id) WHERE o.order_date >= %s GROUP BY 1) s"
        "   USING (product_id)"
        " LEFT JOIN (SELECT product_id, avg(rating) AS rating FROM reviews GROUP BY 1) r"
        "   USING (product_id)"
        " WHERE p.is_active ORDER BY p.product_id",
        (sales_since,),
    ).fetchall()
    return Products(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        weights=np.array([float(r[2]) + 0.2 for r in rows], dtype=float),
        price=np.array([r[1] for r in rows], dtype=np.int64),
        rating=np.array([r[3] for r in rows], dtype=float),
    )


def _promotions(conn: psycopg.Connection) -> list[Promotion]:
    promotions = []
    for row in conn.execute(
        "SELECT promotion_id, code, discount_type = 'percentage',"
        " (discount_value * 100)::bigint, (min_order_amount * 100)::bigint, starts_at, ends_at"
        " FROM promotions"
        " WHERE is_active ORDER BY promotion_id"
    ):
        percentage = bool(row[2])
        ends = int(row[6].timestamp()) if row[6] else None
        promotions.append(Promotion(
            promotion_id=row[0], code=row[1], percentage=percentage,
            value=row[3] // 100 if percentage else row[3], min_order=row[4],
            starts=int(row[5].timestamp()), ends=ends, uptake=UPTAKE[_kind(row[1], ends)],
        ))  # fmt: skip
    return promotions


def _kind(code: str, ends: int | None) -> str:
    """The kind of promotion, which decides its uptake (see UPTAKE)."""
    if code.startswith(BIG_DAY_PREFIXES):
        return "big day"
    if code.startswith(WELCOME_PREFIX):
        return "welcome"
    return "evergreen" if ends is None else "seasonal"


def event_time(rng: np.random.Generator, start: int, end: int, earliest: int) -> int | None:
    """A moment in [start, end) not before ``earliest``, or None if the hour is too early."""
    low = max(start, earliest)
    if low >= end:
        return None
    return int(rng.integers(low, end))


def columns(rows: list[tuple], timestamps: set[int]) -> list[list]:
    """Row tuples as per-column lists for unnest(); Unix seconds become datetimes."""
    out = [list(column) for column in zip(*rows, strict=True)]
    for index in timestamps:
        out[index] = [to_datetime(value) for value in out[index]]
    return out
