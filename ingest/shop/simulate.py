"""`shopmarts simulate`: hour after hour of shop activity, written as plain DML.

The shop's own clock continues from its newest row: each simulated hour runs in one
transaction and inserts, updates and deletes rows the way the shop's application would,
so the `updated_at` and audit triggers fire. New rows carry the simulated time in
`created_at` / `order_date`; `updated_at` is the database's now(), which is what the
hourly incremental extract follows.

Rates continue the shop's recent trend (orders and signups of the last 28 days, shaped
by the calendar); ``intensity`` multiplies them. Given the same seed and the same starting
shop the run is deterministic.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import psycopg

from core.errors import ShopmartsError
from core.settings import redact
from ingest.profiles import require_canonical
from ingest.shop import vocabulary
from ingest.shop.calendar import DAY, HOUR, HOUR_WEIGHTS, day_factors, to_datetime
from ingest.shop.orders import (
    ANGRY_REVIEW_SHARE,
    CUSTOMER_CANCEL_SHARE,
    EXPRESS_SHARE,
    EXPRESS_SHIPPING,
    EXPRESS_SHIPPING_MEMBERS,
    EXTRA_ITEMS_PER_ORDER,
    FAILED_PAYMENT_SHARE,
    FREE_SHIPPING_FROM,
    MARKDOWN_PERCENTS,
    MARKDOWN_SHARE,
    QUANTITY_WEIGHTS,
    RETURN_SHARE,
    REVIEW_SHARE,
    STANDARD_SHIPPING,
    WELCOME_CODE_SHARE,
)
from ingest.shop.progress import Progress
from ingest.shop.schema import SHOP_TABLES, connect, scalar

MAX_HOURS = 24 * 366
TREND_DAYS = 28
WELCOME_ORDER_SHARE = 0.7  # new customers ordering right after signing up
BILLING_ADDRESS_SHARE = 0.45
# Per-hour hazards of the fulfilment steps.
PAYMENT_SETTLES = 0.95
SHIPS = 1 / 20
DELIVERS_STANDARD = 1 / 108
DELIVERS_EXPRESS = 1 / 36
RETURN_WINDOW_HOURS = 28 * 24
CANCELS = CUSTOMER_CANCEL_SHARE / 20
RESTOCKS = 1 / 120  # a delivery about five days after stock ran low
REVIEW_WINDOW_HOURS = 30 * 24
# Housekeeping per hour at scale 1 (10,000 customers), and a floor so small shops see some.
PRICE_CHANGES = (0.5, 0.2)
CUSTOMER_DEACTIVATIONS = (0.03, 0.1)
PRODUCT_DEACTIVATIONS = (0.03, 0.05)
ORDER_DELETIONS = (0.05, 0.1)  # cancelled orders purged with their items
REVIEW_DELETIONS = (0.05, 0.1)  # reviews removed by moderation


@dataclass
class SimulateReport:
    """What the simulated hours did, per table and action."""

    seed: int
    start: datetime
    end: datetime
    hours: float
    intensity: float
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    orders_per_hour: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"simulated {self.hours:g} hours, {self.start:%Y-%m-%d %H:%M} to "
            f"{self.end:%Y-%m-%d %H:%M} UTC (seed {self.seed}, intensity {self.intensity:g}) "
            f"in {self.seconds:.1f} s"
        ]
        tables = sorted({table for (table, _), count in self.changes.items() if count})
        for table in tables:
            actions = ", ".join(
                f"{action} {count:,}"
                for (name, action), count in sorted(self.changes.items())
                if name == table and count
            )
            out.append(f"  {table:<18}{actions}")
        return out


@dataclass
class _Customers:
    ids: np.ndarray
    weights: np.ndarray
    member: np.ndarray  # gold or platinum: cheaper shipping

    def cumulative(self) -> np.ndarray:
        return np.cumsum(self.weights)


@dataclass
class _Products:
    ids: np.ndarray
    weights: np.ndarray
    price: np.ndarray  # cents
    rating: np.ndarray  # average star rating so far


@dataclass
class _Promotion:
    promotion_id: int
    code: str
    percentage: bool
    value: int  # percent or cents
    min_order: int
    starts: int
    ends: int | None
    uptake: float


def simulate_shop(
    shop_url: str,
    *,
    hours: float,
    seed: int | None,
    progress: bool,
    intensity: float = 1.0,
) -> SimulateReport:
    """Advance the shop by ``hours`` simulated hours (see the module docstring)."""
    if not math.isfinite(hours) or hours <= 0:
        raise ShopmartsError(f"--hours must be a positive number, got {hours:g}")
    if hours > MAX_HOURS:
        raise ShopmartsError(f"--hours must be at most {MAX_HOURS}, got {hours:g}")
    if not math.isfinite(intensity) or intensity <= 0:
        raise ShopmartsError(f"--intensity must be a positive number, got {intensity:g}")
    if seed is None:
        seed = time.time_ns() % 2**63
    elif seed < 0:
        raise ShopmartsError(f"--seed must be zero or positive, got {seed}")
    require_canonical("simulate")
    shown = Progress(progress)
    started = time.perf_counter()
    with connect(shop_url) as conn:
        try:
            simulator = _Simulator(conn, shop_url, seed, intensity)
            report = simulator.run(hours, shown)
        except psycopg.Error as error:
            first_line = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            raise ShopmartsError(f"simulating the shop failed: {first_line}") from error
    report.seconds = time.perf_counter() - started
    shown.done(f"simulated {hours:g} hours: {sum(report.orders_per_hour):,} new orders")
    return report


class _Simulator:
    def __init__(
        self, conn: psycopg.Connection, shop_url: str, seed: int, intensity: float
    ) -> None:
        self.conn = conn
        self.seed = seed
        self.intensity = intensity
        missing = scalar(
            conn,
            "SELECT count(*) FROM unnest(%s::text[]) AS t(name)"
            " WHERE to_regclass('public.' || quote_ident(name)) IS NULL",
            (list(SHOP_TABLES),),
        )
        newest = None
        if not missing:
            newest = scalar(
                conn,
                "SELECT greatest((SELECT max(order_date) FROM orders),"
                " (SELECT max(created_at) FROM customers), (SELECT max(created_at) FROM reviews))",
            )
        if newest is None:
            raise ShopmartsError(
                f"the shop at {redact(shop_url)} is empty: run `shopmarts generate` first"
            )
        newest_seconds = int(newest.timestamp())
        self.start = newest_seconds - newest_seconds % HOUR + HOUR
        self._load_state()

    # ------------------------------------------------------------------------- state

    def _load_state(self) -> None:
        conn = self.conn
        since = to_datetime(self.start - TREND_DAYS * DAY)
        year_ago = to_datetime(self.start - 365 * DAY)
        recent_orders = scalar(conn, "SELECT count(*) FROM orders WHERE order_date >= %s", (since,))
        recent_signups = scalar(
            conn, "SELECT count(*) FROM customers WHERE created_at >= %s", (since,)
        )
        shop_customers = scalar(conn, "SELECT count(*) FROM customers")
        # Per day at calendar factor 1: the trend the simulated days continue.
        trend_days = self.start - DAY * np.arange(TREND_DAYS, 0, -1)
        calendar = float(day_factors(trend_days).sum())
        self.orders_per_day = max(recent_orders, 1) / calendar
        self.signups_per_day = recent_signups / calendar
        self.size = max(shop_customers, 1) / 10_000

        rows = conn.execute(
            "SELECT c.customer_id, c.tier IN ('gold', 'platinum'), count(o.order_id)"
            " FROM customers c LEFT JOIN orders o"
            "   ON o.customer_id = c.customer_id AND o.order_date >= %s"
            " WHERE c.is_active GROUP BY c.customer_id ORDER BY c.customer_id",
            (year_ago,),
        ).fetchall()
        self.customers = _Customers(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            weights=np.array([r[2] + 0.3 for r in rows], dtype=float),
            member=np.array([r[1] for r in rows], dtype=bool),
        )
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
            (to_datetime(self.start - 90 * DAY),),
        ).fetchall()
        self.products = _Products(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            weights=np.array([float(r[2]) + 0.2 for r in rows], dtype=float),
            price=np.array([r[1] for r in rows], dtype=np.int64),
            rating=np.array([r[3] for r in rows], dtype=float),
        )
        if not len(self.customers.ids) or not len(self.products.ids):
            raise ShopmartsError("the shop has no active customers or products to simulate")
        self.promotions = []
        for row in conn.execute(
            "SELECT promotion_id, code, discount_type = 'percentage',"
            " (discount_value * 100)::bigint, (min_order_amount * 100)::bigint, starts_at, ends_at"
            " FROM promotions"
            " WHERE is_active ORDER BY promotion_id"
        ):
            percentage = bool(row[2])
            ends = int(row[6].timestamp()) if row[6] else None
            uptake = 0.0 if row[1].startswith("WELCOME") else 0.025 if ends is None else 0.1
            if row[1].startswith(("BLACKFRIDAY", "CYBERMONDAY")):
                uptake = 0.3
            self.promotions.append(_Promotion(
                promotion_id=row[0], code=row[1], percentage=percentage,
                value=row[3] // 100 if percentage else row[3], min_order=row[4],
                starts=int(row[5].timestamp()), ends=ends, uptake=uptake,
            ))  # fmt: skip
        self.welcome = next((p for p in self.promotions if p.code.startswith("WELCOME")), None)

    # --------------------------------------------------------------------------- run

    def run(self, hours: float, shown: Progress) -> SimulateReport:
        end = self.start + round(hours * HOUR)
        wall_clock = int(datetime.now(UTC).timestamp())
        if end > wall_clock:
            room = max((wall_clock - self.start) // HOUR, 0)
            raise ShopmartsError(
                f"simulating {hours:g} hours from {to_datetime(self.start):%Y-%m-%d %H:%M} UTC "
                "would run the shop's clock past the wall clock (updated_at comes from it); "
                f"at most {room} hours fit, or generate with an earlier --end-date"
            )
        report = SimulateReport(
            seed=self.seed, start=to_datetime(self.start), end=to_datetime(end), hours=hours,
            intensity=self.intensity,
        )  # fmt: skip
        windows = list(range(self.start, end, HOUR))
        for number, window_start in enumerate(windows, 1):
            window_end = min(window_start + HOUR, end)
            rng = np.random.default_rng([self.seed, window_start])
            with self.conn.transaction():
                orders = self._hour(rng, window_start, window_end, report.changes)
            report.orders_per_hour.append(orders)
            shown.update(
                f"simulated hour {number}/{len(windows)} "
                f"({to_datetime(window_start):%Y-%m-%d %H:00}): {orders} new orders"
            )
        return report

    def _expected(self, per_scale_one: tuple[float, float], share: float, size: float) -> float:
        rate, floor = per_scale_one
        return max(rate * size, floor) * share * self.intensity

    def _hour(self, rng: np.random.Generator, start: int, end: int, changes: Counter) -> int:
        share = (end - start) / HOUR
        hour_factor = float(day_factors(np.array([start]))[0] * HOUR_WEIGHTS[(start % DAY) // HOUR])
        self._promotions(start, end, changes)
        new_customers = self._signups(rng, start, end, share * hour_factor, changes)
        self._fulfilment(rng, start, end, share, changes)
        expected_orders = self.orders_per_day / 24 * hour_factor * share * self.intensity
        orders = self._orders(rng, start, end, max(1, int(rng.poisson(expected_orders))),
                              new_customers, changes)  # fmt: skip
        self._restock(rng, share, changes)
        self._reviews(rng, start, end, share, changes)
        self._housekeeping(rng, start, end, share, changes)
        return orders

    # ------------------------------------------------------------------------ steps

    def _promotions(self, start: int, end: int, changes: Counter) -> None:
        cursor = self.conn.execute(
            "UPDATE promotions SET is_active = false WHERE is_active AND ends_at <= %s",
            (to_datetime(end),),
        )
        changes["promotions", "update"] += cursor.rowcount
        self.promotions = [p for p in self.promotions if p.ends is None or p.ends > end]

    def _signups(
        self, rng: np.random.Generator, start: int, end: int, factor: float, changes: Counter
    ) -> list[tuple[int, int]]:
        """New customers with their addresses; returns (customer_id, created_at) of each."""
        count = int(rng.poisson(self.signups_per_day / 24 * factor * self.intensity))
        if not count:
            return []
        ids = [row[0] for row in self.conn.execute(
            "SELECT nextval(pg_get_serial_sequence('customers', 'customer_id'))"
            " FROM generate_series(1, %s)", (count,)
        )]  # fmt: skip
        created = np.sort(rng.integers(start, end, count))
        first = [
            vocabulary.FIRST_NAMES[i] for i in rng.integers(0, len(vocabulary.FIRST_NAMES), count)
        ]
        last = [
            vocabulary.LAST_NAMES[i] for i in rng.integers(0, len(vocabulary.LAST_NAMES), count)
        ]
        domains = [
            vocabulary.EMAIL_DOMAINS[i]
            for i in rng.integers(0, len(vocabulary.EMAIL_DOMAINS), count)
        ]
        cities = rng.choice(len(vocabulary.CITIES), count)
        phones = [
            f"+1-{vocabulary.CITIES[c][3]}-555-{n}"
            for c, n in zip(cities, rng.integers(1000, 10000, count), strict=True)
        ]
        emails = [
            f"{given.lower()}.{family.lower()}{number}@{domain}"
            for given, family, number, domain in zip(first, last, ids, domains, strict=True)
        ]
        opt_in = (rng.random(count) < 0.55).tolist()
        times = [to_datetime(t) for t in created]
        cursor = self.conn.execute(
            "INSERT INTO customers (customer_id, email, first_name, last_name, phone, tier,"
            " marketing_opt_in, created_at)"
            " SELECT id, email, first_name, last_name, phone, 'bronze', opt_in, created_at"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[],"
            "   %s::boolean[], %s::timestamptz[])"
            "   AS n(id, email, first_name, last_name, phone, opt_in, created_at)",
            (ids, emails, first, last, phones, opt_in, times),
        )
        changes["customers", "insert"] += cursor.rowcount
        billing = rng.random(count) < BILLING_ADDRESS_SHARE
        rows = [(i, "shipping", c, t) for i, c, t in zip(ids, cities, times, strict=True)]
        rows += [
            (i, "billing", c, t)
            for i, c, t, b in zip(ids, cities, times, billing, strict=True)
            if b
        ]
        streets = rng.integers(0, len(vocabulary.STREET_NAMES), len(rows))
        suffixes = rng.integers(0, len(vocabulary.STREET_SUFFIXES), len(rows))
        numbers = rng.integers(1, 9900, len(rows))
        zips = rng.integers(0, 100, len(rows))
        cursor = self.conn.execute(
            "INSERT INTO addresses (customer_id, address_type, line1, city, state, postal_code,"
            " country, is_default, created_at)"
            " SELECT customer_id, kind, line1, city, state, postal_code, 'US', true, created_at"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[],"
            "   %s::text[], %s::timestamptz[])"
            "   AS a(customer_id, kind, line1, city, state, postal_code, created_at)",
            (
                [r[0] for r in rows],
                [r[1] for r in rows],
                [f"{n} {vocabulary.STREET_NAMES[s]} {vocabulary.STREET_SUFFIXES[x]}"
                 for n, s, x in zip(numbers, streets, suffixes, strict=True)],
                [vocabulary.CITIES[r[2]][0] for r in rows],
                [vocabulary.CITIES[r[2]][1] for r in rows],
                [f"{vocabulary.CITIES[r[2]][2]}{z:02d}" for r, z in zip(rows, zips, strict=True)],
                [r[3] for r in rows],
            ),
        )  # fmt: skip
        changes["addresses", "insert"] += cursor.rowcount
        self.customers = _Customers(
            ids=np.concatenate((self.customers.ids, np.array(ids, dtype=np.int64))),
            weights=np.concatenate((self.customers.weights, np.ones(count))),
            member=np.concatenate((self.customers.member, np.zeros(count, dtype=bool))),
        )
        return list(zip(ids, created.tolist(), strict=True))

    def _orders(
        self,
        rng: np.random.Generator,
        start: int,
        end: int,
        count: int,
        new_customers: list[tuple[int, int]],
        changes: Counter,
    ) -> int:
        """New orders (pending payment) with items and promotions; stock gets reserved."""
        customers = self.customers
        picks = np.searchsorted(
            customers.cumulative(), rng.random(count) * customers.weights.sum(), side="right"
        )
        picks = np.minimum(picks, len(customers.ids) - 1)
        placed = [(int(customers.ids[p]), int(t), False) for p, t in
                  zip(picks, rng.integers(start, end, count), strict=True)]  # fmt: skip
        for customer_id, created in new_customers:
            if rng.random() < WELCOME_ORDER_SHARE:
                placed.append(
                    (customer_id, min(created + int(rng.integers(60, 1800)), end - 1), True)
                )
        placed.sort(key=lambda order: (order[1], order[0]))
        members = dict(zip(customers.ids.tolist(), customers.member.tolist(), strict=True))

        addresses = {
            row[0]: (row[1], row[2])
            for row in self.conn.execute(
                "SELECT DISTINCT ON (customer_id) customer_id, address_id, state FROM addresses"
                " WHERE customer_id = ANY(%s) AND address_type = 'shipping'"
                " ORDER BY customer_id, is_default DESC, address_id",
                (sorted({order[0] for order in placed}),),
            )
        }
        placed = [order for order in placed if order[0] in addresses]
        if not placed:
            return 0
        ids = [row[0] for row in self.conn.execute(
            "SELECT nextval(pg_get_serial_sequence('orders', 'order_id'))"
            " FROM generate_series(1, %s)", (len(placed),)
        )]  # fmt: skip

        products = self.products
        cumulative = np.cumsum(products.weights)
        orders, items, applied = [], [], []
        for order_id, (customer_id, placed_at, welcome) in zip(ids, placed, strict=True):
            lines = 1 + int(rng.poisson(EXTRA_ITEMS_PER_ORDER))
            chosen = np.searchsorted(cumulative, rng.random(lines) * cumulative[-1], side="right")
            chosen = list(dict.fromkeys(np.minimum(chosen, len(products.ids) - 1).tolist()))
            subtotal = 0
            for index in chosen:
                quantity = 1 + int(rng.choice(len(QUANTITY_WEIGHTS), p=QUANTITY_WEIGHTS))
                price = int(products.price[index])
                markdown = (
                    int(rng.choice(MARKDOWN_PERCENTS)) if rng.random() < MARKDOWN_SHARE else 0
                )
                discount = (quantity * price * markdown + 50) // 100
                line_total = quantity * price - discount
                subtotal += line_total
                items.append(
                    (
                        order_id,
                        int(products.ids[index]),
                        quantity,
                        price,
                        discount,
                        line_total,
                        placed_at,
                    )
                )
            promotion = self._pick_promotion(rng, placed_at, welcome, subtotal)
            discount = 0
            if promotion is not None:
                if promotion.percentage:
                    discount = (subtotal * promotion.value + 50) // 100
                else:
                    discount = min(promotion.value, subtotal)
                applied.append((order_id, promotion.promotion_id, discount, placed_at))
            address_id, state = addresses[customer_id]
            member = members.get(customer_id, False)
            express = rng.random() < EXPRESS_SHARE
            net = subtotal - discount
            if express:
                shipping = EXPRESS_SHIPPING_MEMBERS if member else EXPRESS_SHIPPING
            else:
                shipping = 0 if member or net >= FREE_SHIPPING_FROM else STANDARD_SHIPPING
            tax = (net * vocabulary.STATE_TAX_BASIS_POINTS.get(state, 0) + 5_000) // 10_000
            method = "express" if express else "standard"
            total = net + tax + shipping
            orders.append(
                (order_id, customer_id, placed_at, subtotal, discount, tax, shipping, total,
                 address_id, method)
            )  # fmt: skip

        cursor = self.conn.execute(
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
            _columns(orders, timestamps={2}),
        )
        changes["orders", "insert"] += cursor.rowcount
        cursor = self.conn.execute(
            "INSERT INTO order_items (order_id, product_id, quantity, unit_price, discount_amount,"
            " line_total, created_at)"
            " SELECT order_id, product_id, quantity, price / 100.0, discount / 100.0,"
            "   line_total / 100.0, placed_at"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::bigint[], %s::bigint[],"
            "   %s::bigint[], %s::timestamptz[])"
            "   AS i(order_id, product_id, quantity, price, discount, line_total, placed_at)",
            _columns(items, timestamps={6}),
        )
        changes["order_items", "insert"] += cursor.rowcount
        if applied:
            cursor = self.conn.execute(
                "INSERT INTO order_promotions (order_id, promotion_id, discount_amount, created_at)"
                " SELECT order_id, promotion_id, discount / 100.0, placed_at"
                " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[])"
                "   AS p(order_id, promotion_id, discount, placed_at)",
                _columns(applied, timestamps={3}),
            )
            changes["order_promotions", "insert"] += cursor.rowcount
        self._move_stock("reserve", ids, changes)
        return len(orders)

    def _pick_promotion(
        self, rng: np.random.Generator, at: int, welcome: bool, subtotal: int
    ) -> _Promotion | None:
        if welcome and self.welcome is not None and rng.random() < WELCOME_CODE_SHARE:
            chosen: _Promotion | None = self.welcome
        else:
            running = [
                p for p in self.promotions if p.starts <= at and (p.ends is None or at < p.ends)
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

    def _fulfilment(
        self, rng: np.random.Generator, start: int, end: int, share: float, changes: Counter
    ) -> None:
        """Payments settle or fail, orders ship, arrive, get cancelled or returned."""
        rows = self.conn.execute(
            "SELECT order_id, extract(epoch FROM order_date)::bigint, order_status,"
            " shipping_method = 'express', extract(epoch FROM shipped_at)::bigint FROM orders"
            " WHERE order_status IN ('pending', 'processing', 'shipped') AND order_date < %s"
            " ORDER BY order_id",
            (to_datetime(start),),
        ).fetchall()
        kinds = ("paid", "failed", "cancelled", "shipped", "delivered", "returned")
        updates: dict[str, list[tuple[int, int]]] = {kind: [] for kind in kinds}
        for order_id, placed, status, express, shipped in rows:
            draw = rng.random()
            if status == "pending":
                if draw < 1 - (1 - PAYMENT_SETTLES) ** share:
                    at = _event_time(rng, start, end, placed + 60)
                    if at is not None:
                        kind = "failed" if rng.random() < FAILED_PAYMENT_SHARE else "paid"
                        updates[kind].append((order_id, at))
            elif status == "processing":
                if draw < CANCELS * share:
                    at = _event_time(rng, start, end, placed + 60)
                    if at is not None:
                        updates["cancelled"].append((order_id, at))
                elif draw < (CANCELS + SHIPS) * share and start - placed >= 2 * HOUR:
                    at = _event_time(rng, start, end, placed + 2 * HOUR)
                    if at is not None:
                        updates["shipped"].append((order_id, at))
            elif draw < (DELIVERS_EXPRESS if express else DELIVERS_STANDARD) * share:
                at = _event_time(rng, start, end, shipped + HOUR)
                if at is not None:
                    updates["delivered"].append((order_id, at))
        delivered = self.conn.execute(
            "SELECT order_id, extract(epoch FROM delivered_at)::bigint FROM orders"
            " WHERE order_status = 'delivered' AND order_date >= %s AND delivered_at >= %s"
            "   AND delivered_at < %s ORDER BY order_id",
            (to_datetime(start - 60 * DAY), to_datetime(start - RETURN_WINDOW_HOURS * HOUR),
             to_datetime(start)),
        ).fetchall()  # fmt: skip
        hazard = RETURN_SHARE / RETURN_WINDOW_HOURS * share
        for order_id, delivered_at in delivered:
            if rng.random() < hazard:
                at = _event_time(rng, start, end, delivered_at + HOUR)
                if at is not None:
                    updates["returned"].append((order_id, at))

        statements = {
            "paid": "order_status = 'processing', payment_status = 'completed'",
            "failed": "order_status = 'cancelled', payment_status = 'failed'",
            "cancelled": "order_status = 'cancelled', payment_status = 'refunded'",
            "shipped": "order_status = 'shipped', shipped_at = u.at",
            "delivered": "order_status = 'delivered', delivered_at = u.at",
            "returned": "order_status = 'returned', payment_status = 'refunded'",
        }
        stock = {
            "failed": "release",
            "cancelled": "release",
            "shipped": "ship",
            "returned": "return",
        }
        for kind, assignments in statements.items():
            if not updates[kind]:
                continue
            ids = [order_id for order_id, _ in updates[kind]]
            cursor = self.conn.execute(
                f"UPDATE orders SET {assignments}"
                " FROM unnest(%s::bigint[], %s::timestamptz[]) AS u(order_id, at)"
                " WHERE orders.order_id = u.order_id",
                (ids, [to_datetime(at) for _, at in updates[kind]]),
            )
            changes["orders", "update"] += cursor.rowcount
            if kind in stock:
                self._move_stock(stock[kind], ids, changes)

    def _move_stock(self, kind: str, order_ids: list[int], changes: Counter) -> None:
        """Reserve, release, ship or take back the units of these orders' lines."""
        target_order, assignment = {
            "reserve": ("i.quantity_available DESC",
                        "quantity_reserved ="
                        " least(i.quantity_reserved + t.quantity, i.quantity_on_hand)"),
            "release": ("i.quantity_reserved DESC",
                        "quantity_reserved = greatest(i.quantity_reserved - t.quantity, 0)"),
            "ship": ("i.quantity_reserved DESC",
                     "quantity_reserved = greatest(i.quantity_reserved - t.quantity, 0),"
                     " quantity_on_hand = greatest(i.quantity_on_hand - t.quantity,"
                     "   greatest(i.quantity_reserved - t.quantity, 0))"),
            "return": ("i.quantity_on_hand",
                       "quantity_on_hand = i.quantity_on_hand + t.quantity"),
        }[kind]  # fmt: skip
        cursor = self.conn.execute(
            "WITH moved AS (SELECT product_id, sum(quantity)::int AS quantity FROM order_items"
            "   WHERE order_id = ANY(%s) GROUP BY product_id),"
            " target AS (SELECT DISTINCT ON (i.product_id) i.inventory_id, m.quantity"
            "   FROM inventory i JOIN moved m USING (product_id)"
            f"   ORDER BY i.product_id, {target_order}, i.inventory_id)"
            f" UPDATE inventory i SET {assignment}"
            " FROM target t WHERE i.inventory_id = t.inventory_id",
            (order_ids,),
        )
        changes["inventory", "update"] += cursor.rowcount

    def _restock(self, rng: np.random.Generator, share: float, changes: Counter) -> None:
        low = [row[0] for row in self.conn.execute(
            "SELECT inventory_id FROM inventory WHERE quantity_available < reorder_point"
            " ORDER BY inventory_id"
        )]  # fmt: skip
        arrived = [
            i for i, draw in zip(low, rng.random(len(low)), strict=True) if draw < RESTOCKS * share
        ]
        if arrived:
            cursor = self.conn.execute(
                "UPDATE inventory SET quantity_on_hand = quantity_on_hand + reorder_quantity"
                " WHERE inventory_id = ANY(%s)",
                (arrived,),
            )
            changes["inventory", "update"] += cursor.rowcount

    def _reviews(
        self, rng: np.random.Generator, start: int, end: int, share: float, changes: Counter
    ) -> None:
        """Customers review lines of recently delivered (or returned) orders."""
        candidates = self.conn.execute(
            "SELECT order_id FROM orders WHERE order_status IN ('delivered', 'returned')"
            " AND order_date >= %s AND delivered_at >= %s ORDER BY order_id",
            (to_datetime(start - 60 * DAY), to_datetime(start - REVIEW_WINDOW_HOURS * HOUR)),
        ).fetchall()
        # About three lines per order, each reviewed with REVIEW_SHARE over the window.
        hazard = 3 * REVIEW_SHARE / REVIEW_WINDOW_HOURS * share * self.intensity
        chosen = [row[0] for row, draw in zip(candidates, rng.random(len(candidates)), strict=True)
                  if draw < hazard]  # fmt: skip
        if not chosen:
            return
        lines = self.conn.execute(
            "SELECT DISTINCT ON (oi.order_id) oi.order_id, o.customer_id, oi.product_id,"
            "   o.order_status = 'returned', extract(epoch FROM o.delivered_at)::bigint"
            " FROM order_items oi JOIN orders o USING (order_id)"
            " WHERE oi.order_id = ANY(%s) AND NOT EXISTS (SELECT 1 FROM reviews r"
            "   WHERE r.order_id = oi.order_id AND r.product_id = oi.product_id)"
            " ORDER BY oi.order_id, md5(oi.order_item_id::text || %s)",
            (chosen, str(start)),
        ).fetchall()
        rating_of = dict(
            zip(self.products.ids.tolist(), self.products.rating.tolist(), strict=True)
        )
        rows = []
        for order_id, customer_id, product_id, returned, delivered_at in lines:
            at = _event_time(rng, start, end, delivered_at + HOUR)
            if at is None:
                continue
            latent = rating_of.get(product_id, 4.2) + rng.normal(0.0, 1.0) - 1.6 * returned
            rating = 1 if rng.random() < ANGRY_REVIEW_SHARE else int(min(max(round(latent), 1), 5))
            titles = vocabulary.REVIEW_TITLES[rating - 1]
            sentences = vocabulary.REVIEW_SENTENCES[rating - 1]
            first, second = rng.choice(len(sentences), 2, replace=False)
            rows.append((customer_id, product_id, order_id, rating,
                         titles[int(rng.integers(0, len(titles)))],
                         f"{sentences[first]} {sentences[second]}", at))  # fmt: skip
        if rows:
            cursor = self.conn.execute(
                "INSERT INTO reviews (customer_id, product_id, order_id, rating, title, body,"
                " created_at)"
                " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::smallint[],"
                "   %s::text[], %s::text[], %s::timestamptz[])",
                _columns(rows, timestamps={6}),
            )
            changes["reviews", "insert"] += cursor.rowcount

    def _housekeeping(
        self, rng: np.random.Generator, start: int, end: int, share: float, changes: Counter
    ) -> None:
        """Price changes, deactivated accounts and products, purged orders and reviews."""
        size, products = self.size, self.products
        count = int(rng.poisson(self._expected(PRICE_CHANGES, share, math.sqrt(size))))
        if count:
            picks = sorted(set(rng.integers(0, len(products.ids), count).tolist()))
            factors = np.round(rng.uniform(0.85, 1.15, len(picks)), 3).tolist()
            cursor = self.conn.execute(
                "UPDATE products p"
                " SET unit_price = greatest(p.cost_price, round(p.unit_price * u.factor) - 0.01)"
                " FROM unnest(%s::bigint[], %s::numeric[]) AS u(product_id, factor)"
                " WHERE p.product_id = u.product_id"
                " RETURNING p.product_id, (p.unit_price * 100)::bigint",
                (products.ids[picks].tolist(), factors),
            )
            new_prices: dict[int, int] = dict(cursor.fetchall())
            changes["products", "update"] += len(new_prices)
            for index in picks:
                products.price[index] = new_prices.get(
                    int(products.ids[index]), products.price[index]
                )

        count = int(rng.poisson(self._expected(CUSTOMER_DEACTIVATIONS, share, size)))
        if count and len(self.customers.ids) > count:
            picks = sorted(set(rng.integers(0, len(self.customers.ids), count).tolist()))
            cursor = self.conn.execute(
                "UPDATE customers SET is_active = false WHERE customer_id = ANY(%s) AND is_active",
                (self.customers.ids[picks].tolist(),),
            )
            changes["customers", "update"] += cursor.rowcount
            keep = np.ones(len(self.customers.ids), dtype=bool)
            keep[picks] = False
            self.customers = _Customers(
                self.customers.ids[keep], self.customers.weights[keep], self.customers.member[keep]
            )

        count = int(rng.poisson(self._expected(PRODUCT_DEACTIVATIONS, share, math.sqrt(size))))
        if count and len(products.ids) > count:
            picks = sorted(set(rng.integers(0, len(products.ids), count).tolist()))
            cursor = self.conn.execute(
                "UPDATE products SET is_active = false WHERE product_id = ANY(%s) AND is_active",
                (products.ids[picks].tolist(),),
            )
            changes["products", "update"] += cursor.rowcount
            keep = np.ones(len(products.ids), dtype=bool)
            keep[picks] = False
            self.products = _Products(
                products.ids[keep],
                products.weights[keep],
                products.price[keep],
                products.rating[keep],
            )

        count = int(rng.poisson(self._expected(ORDER_DELETIONS, share, size)))
        if count:
            newest = scalar(self.conn, "SELECT coalesce(max(order_id), 0) FROM orders")
            candidates = sorted(set(rng.integers(1, newest + 1, 40 * count).tolist()))
            cursor = self.conn.execute(
                "DELETE FROM orders WHERE order_id IN (SELECT order_id FROM orders"
                "  WHERE order_id = ANY(%s) AND order_status = 'cancelled' AND order_date < %s"
                "  ORDER BY order_id LIMIT %s)",
                (candidates, to_datetime(start - DAY), count),
            )
            changes["orders", "delete"] += cursor.rowcount

        count = int(rng.poisson(self._expected(REVIEW_DELETIONS, share, size)))
        if count:
            newest = scalar(self.conn, "SELECT coalesce(max(review_id), 0) FROM reviews")
            candidates = sorted(set(rng.integers(1, newest + 1, 4 * count).tolist()))
            cursor = self.conn.execute(
                "DELETE FROM reviews WHERE review_id IN (SELECT review_id FROM reviews"
                "  WHERE review_id = ANY(%s) ORDER BY review_id LIMIT %s)",
                (candidates, count),
            )
            changes["reviews", "delete"] += cursor.rowcount


def _event_time(rng: np.random.Generator, start: int, end: int, earliest: int) -> int | None:
    """A moment in [start, end) not before ``earliest``, or None if the hour is too early."""
    low = max(start, earliest)
    if low >= end:
        return None
    return int(rng.integers(low, end))


def _columns(rows: list[tuple], timestamps: set[int]) -> list[list]:
    """Row tuples as per-column lists for unnest(); Unix seconds become datetimes."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    for index in timestamps:
        columns[index] = [to_datetime(value) for value in columns[index]]
    return columns
