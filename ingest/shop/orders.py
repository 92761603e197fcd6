"""The shop's order history (orders, items, applied promotions, reviews) and its stock.

Orders are generated day by day in chunks of about ``ORDER_CHUNK_ROWS``, in time order,
so order ids grow with order dates and memory stays flat whatever the scale. How many
orders a day gets follows the customers active that day (signups minus churn, weighted
by each one's purchase rate) times the calendar (weekday, month, holidays); which
customer places a repeat order follows the same purchase rates; which products are
bought follows a Zipf-like popularity with per-category seasons.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ingest.shop import vocabulary
from ingest.shop.audit import AuditHistory
from ingest.shop.calendar import DAY, day_factors, month_index, seconds_into_day
from ingest.shop.copy import CopyBatch, Field, encode_batch, text_array
from ingest.shop.dimensions import (
    CITY_TAX_BASIS_POINTS,
    NEVER,
    CategoryFacts,
    CustomerFacts,
    ProductFacts,
    PromotionFacts,
    ShopPlan,
    random_stream,
)
from ingest.shop.fulfilment import (
    CANCELLED,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    PENDING,
    PROCESSING,
    Fulfilment,
    fulfil,
)
from ingest.shop.reviews import ReviewedLines, ReviewHistory

ORDER_CHUNK_ROWS = 25_000

# The realism knobs (see ingest/README.md; outcomes in fulfilment.py, reviews in reviews.py).
EXTRA_ITEMS_PER_ORDER = 2.05  # items per order = 1 + Poisson(this)
QUANTITY_WEIGHTS = np.array([0.72, 0.18, 0.06, 0.025, 0.015])  # 1..5 units per line
MARKDOWN_SHARE = 0.07  # lines sold at a reduced price
MARKDOWN_PERCENTS = np.array([10, 15, 20, 25, 30, 40])
WELCOME_CODE_SHARE = 0.35  # first orders using the welcome code
EXPRESS_SHARE = 0.15
SECOND_ADDRESS_SHARE = 0.25  # orders shipped to a customer's second address, if any
FREE_SHIPPING_FROM = 50_00
STANDARD_SHIPPING = 5_99
EXPRESS_SHIPPING = 14_99
EXPRESS_SHIPPING_MEMBERS = 9_99  # gold and platinum also ship standard for free


def _category_seasons(categories: CategoryFacts) -> np.ndarray:
    """(top-level category, month) demand factors and, per month, the acceptance ceiling."""
    seasons = np.ones((len(categories.top_names), 12))
    for index, name in enumerate(categories.top_names):
        if name in vocabulary.CATEGORY_MONTH_FACTORS:
            seasons[index] = vocabulary.CATEGORY_MONTH_FACTORS[name]
    return seasons / seasons.max(axis=0)


_STATUS_TEXT = text_array(ORDER_STATUSES)
_PAYMENT_TEXT = text_array(PAYMENT_STATUSES)


@dataclass
class _Placed:
    """One chunk's orders: who placed them when, in time order, and their ids."""

    ids: np.ndarray
    times: np.ndarray
    customer: np.ndarray  # index into CustomerFacts
    is_welcome: np.ndarray

    @property
    def count(self) -> int:
        """Orders in the chunk."""
        return len(self.times)


@dataclass
class _Lines:
    """One chunk's order lines (distinct products per order), amounts in cents."""

    order: np.ndarray  # index into _Placed
    times: np.ndarray
    product: np.ndarray  # index into ProductFacts
    quantity: np.ndarray
    unit_price: np.ndarray
    discount: np.ndarray
    total: np.ndarray
    subtotal: np.ndarray  # per order


@dataclass
class _Money:
    """Per order: the applied promotion (-1: none) and the amounts in cents."""

    promo: np.ndarray
    discount: np.ndarray
    address: np.ndarray
    express: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray


class OrderHistory:
    """Generates the order history chunk by chunk and remembers what the stock needs."""

    def __init__(
        self,
        plan: ShopPlan,
        categories: CategoryFacts,
        customers: CustomerFacts,
        products: ProductFacts,
        promotions: PromotionFacts,
    ) -> None:
        self.plan = plan
        self.customers = customers
        self.products = products
        self.promotions = promotions
        self.seasons = _category_seasons(categories)
        self.second_address = customers.second_shipping_address()
        self.units_last_30_days = np.zeros(products.count, dtype=np.int64)
        self.reserved_units = np.zeros(products.count, dtype=np.int64)
        self.next_order_id = 1
        self.next_item_id = 1
        self.next_review_id = 1
        self.next_audit_id = 1
        self.reviews = ReviewHistory(products.quality, plan.timeline.end)
        self.audit = AuditHistory()

    # ---------------------------------------------------------------------- the day plan

    def _orders_per_day(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Repeat orders per day, and the welcome orders (times, customers) in time order."""
        timeline = self.plan.timeline
        customers = self.customers
        days = timeline.days
        welcome = np.flatnonzero(customers.welcome_order != NEVER)
        welcome = welcome[np.argsort(customers.welcome_order[welcome], kind="stable")]
        welcome_times = customers.welcome_order[welcome]
        repeat_total = max(self.plan.orders - len(welcome), 0)
        signup_day = np.clip((customers.signup - timeline.start) // DAY, 0, days)
        churn_day = np.clip((customers.churn - timeline.start) // DAY, 0, days)
        rate = customers.purchase_rate
        active = np.cumsum(
            np.bincount(signup_day, rate, days + 1) - np.bincount(churn_day, rate, days + 1)
        )[:days]
        expected = np.maximum(active, 0) * day_factors(timeline.day_starts())
        if expected.sum() <= 0:
            expected = np.ones(days)
        rng = random_stream(self.plan.seed, "orders per day")
        repeat = rng.multinomial(repeat_total, expected / expected.sum())
        return repeat, welcome_times, welcome

    def _chunks(self, repeat: np.ndarray, welcome_times: np.ndarray) -> list[tuple[int, int]]:
        timeline = self.plan.timeline
        welcome_day = (welcome_times - timeline.start) // DAY
        per_day = repeat + np.bincount(welcome_day, minlength=timeline.days)[: timeline.days]
        chunk_of_day = (np.cumsum(per_day) - per_day) // ORDER_CHUNK_ROWS
        edges = np.flatnonzero(np.diff(chunk_of_day)) + 1
        bounds = np.concatenate(([0], edges, [timeline.days]))
        return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    # ---------------------------------------------------------------------------- chunks

    def batches(self) -> Iterator[CopyBatch]:
        """Orders, order_items, order_promotions and reviews, chunk after chunk."""
        repeat, welcome_times, welcome_customers = self._orders_per_day()
        welcome_day = (welcome_times - self.plan.timeline.start) // DAY
        for index, (first_day, end_day) in enumerate(self._chunks(repeat, welcome_times)):
            lo, hi = np.searchsorted(welcome_day, [first_day, end_day])
            yield from self._chunk(
                index, first_day, end_day, repeat, welcome_times[lo:hi], welcome_customers[lo:hi]
            )
        yield from self._released(NEVER)

    def _chunk(
        self,
        index: int,
        first_day: int,
        end_day: int,
        repeat: np.ndarray,
        welcome_times: np.ndarray,
        welcome_customers: np.ndarray,
    ) -> Iterator[CopyBatch]:
        """One chunk of days: its orders and lines, then the reviews and audit rows whose
        time has come. The steps draw from one random stream in a fixed order."""
        rng = random_stream(self.plan.seed, "orders", index)
        placed = self._place(rng, first_day, end_day, repeat, welcome_times, welcome_customers)
        lines = self._lines(rng, placed)
        money = self._money(rng, placed, lines.subtotal)
        fulfilment = fulfil(rng, placed.times, money.express, self.plan.timeline.end)
        line_status = fulfilment.status[lines.order]
        self._remember_stock(lines, line_status)
        yield from _order_batches(placed, lines, money, fulfilment, self.next_item_id)
        self.next_item_id += len(lines.product)
        self.reviews.draw(rng, ReviewedLines(
            customer_id=placed.customer[lines.order] + 1,
            product=lines.product,
            order_id=placed.ids[lines.order],
            delivered=fulfilment.has_arrived[lines.order],
            returned=fulfilment.returned[lines.order],
            delivered_at=fulfilment.delivered_at[lines.order],
        ))  # fmt: skip
        self.audit.add(placed.ids, placed.customer + 1, money.total, fulfilment)
        yield from self._released(self.plan.timeline.start + end_day * DAY)

    def _released(self, before: int) -> Iterator[CopyBatch]:
        """The reviews and audit rows dated before ``before``, now that none can precede them."""
        for batch in (self.reviews.release(before), self.audit.release(before)):
            if batch is not None:
                yield batch

    def _place(
        self,
        rng: np.random.Generator,
        first_day: int,
        end_day: int,
        repeat: np.ndarray,
        welcome_times: np.ndarray,
        welcome_customers: np.ndarray,
    ) -> _Placed:
        """The chunk's repeat orders (days by plan, customers by rate) and welcome orders."""
        start = self.plan.timeline.start
        days = np.repeat(np.arange(first_day, end_day), repeat[first_day:end_day])
        repeat_times = start + days * DAY + seconds_into_day(rng, len(days))
        times = np.concatenate((repeat_times, welcome_times))
        customer = np.concatenate(
            (_sample_customers(rng, self.customers, repeat_times), welcome_customers)
        )
        is_welcome = np.concatenate((np.zeros(len(days), bool), np.ones(len(welcome_times), bool)))
        order = np.lexsort((customer, times))
        count = len(times)
        ids = np.arange(self.next_order_id, self.next_order_id + count, dtype=np.int64)
        self.next_order_id += count
        return _Placed(ids, times[order], customer[order], is_welcome[order])

    def _lines(self, rng: np.random.Generator, placed: _Placed) -> _Lines:
        """Distinct products per order, quantities, markdowns, line totals and subtotals."""
        products, count = self.products, placed.count
        lines = 1 + rng.poisson(EXTRA_ITEMS_PER_ORDER, count)
        line_order = np.repeat(np.arange(count), lines)
        line_times = placed.times[line_order]
        product = _sample_products(rng, products, self.seasons, line_times)
        duplicate = np.zeros(len(product), dtype=bool)
        for _ in range(4):
            duplicate = _repeats(line_order * products.count + product)
            if not duplicate.any():
                break
            product[duplicate] = _sample_products(
                rng, products, self.seasons, line_times[duplicate]
            )
        keep = ~duplicate
        line_order, line_times, product = line_order[keep], line_times[keep], product[keep]
        lines = np.bincount(line_order, minlength=count)

        quantity = 1 + rng.choice(len(QUANTITY_WEIGHTS), len(product), p=QUANTITY_WEIGHTS)
        unit_price = products.price[product]
        gross = quantity * unit_price
        markdown = np.where(
            rng.random(len(product)) < MARKDOWN_SHARE,
            MARKDOWN_PERCENTS[rng.integers(0, len(MARKDOWN_PERCENTS), len(product))],
            0,
        )
        discount = (gross * markdown + 50) // 100
        total = gross - discount
        starts = np.concatenate(([0], np.cumsum(lines)[:-1]))
        subtotal = np.add.reduceat(total, starts)
        return _Lines(
            line_order, line_times, product, quantity, unit_price, discount, total, subtotal
        )

    def _money(self, rng: np.random.Generator, placed: _Placed, subtotal: np.ndarray) -> _Money:
        """Promotion, shipping address, method and amount, tax and total of each order."""
        promotions, customers, count = self.promotions, self.customers, placed.count
        times, customer = placed.times, placed.customer
        # The campaigns running at order time, the welcome code on first orders.
        running = (promotions.starts <= times[:, None]) & (times[:, None] < promotions.ends)
        weights = running * promotions.uptake
        uptake = weights.sum(axis=1)
        promo = np.full(count, -1, dtype=np.int64)
        uses = np.flatnonzero(rng.random(count) < uptake)
        if len(uses):
            cumulative = np.cumsum(weights[uses], axis=1)
            draw = rng.random(len(uses)) * uptake[uses]
            promo[uses] = np.minimum(
                (cumulative <= draw[:, None]).sum(axis=1), len(promotions.starts) - 1
            )
        promo[placed.is_welcome & (rng.random(count) < WELCOME_CODE_SHARE)] = promotions.welcome
        promo[(promo >= 0) & (subtotal < promotions.min_order[promo])] = -1
        value = promotions.value[promo]
        discount = np.where(
            promotions.percentage[promo],
            (subtotal * value + 50) // 100,
            np.minimum(value, subtotal),
        )
        discount = np.where(promo >= 0, discount, 0)

        second = self.second_address[customer]
        address = np.where(
            (second > 0) & (rng.random(count) < SECOND_ADDRESS_SHARE),
            second,
            customers.first_address[customer],
        )
        tax_rate = CITY_TAX_BASIS_POINTS[customers.address_city[address - 1]]
        member = customers.tier[customer] >= 2
        express = rng.random(count) < EXPRESS_SHARE
        net = subtotal - discount
        shipping = np.where(
            express,
            np.where(member, EXPRESS_SHIPPING_MEMBERS, EXPRESS_SHIPPING),
            np.where(member | (net >= FREE_SHIPPING_FROM), 0, STANDARD_SHIPPING),
        )
        tax = (net * tax_rate + 5_000) // 10_000
        return _Money(promo, discount, address, express, shipping, tax, net + tax + shipping)

    def _remember_stock(self, lines: _Lines, line_status: np.ndarray) -> None:
        """Units sold in the last 30 days and units reserved by open orders, per product."""
        count = self.products.count
        sold = line_status != CANCELLED
        recent = sold & (lines.times >= self.plan.timeline.end - 30 * DAY)
        self.units_last_30_days += np.bincount(
            lines.product[recent], lines.quantity[recent], count
        ).astype(np.int64)
        open_line = np.isin(line_status, (PENDING, PROCESSING))
        self.reserved_units += np.bincount(
            lines.product[open_line], lines.quantity[open_line], count
        ).astype(np.int64)


def _order_batches(
    placed: _Placed, lines: _Lines, money: _Money, fulfilment: Fulfilment, first_item_id: int
) -> Iterator[CopyBatch]:
    """The chunk's orders, order_items and order_promotions as binary COPY."""
    ids, times = placed.ids, placed.times
    yield encode_batch("orders", [
        Field("order_id", "int8", ids),
        Field("customer_id", "int8", placed.customer + 1),
        Field("order_date", "timestamptz", times),
        Field("order_status", "text", _STATUS_TEXT[fulfilment.status]),
        Field("payment_status", "text", _PAYMENT_TEXT[fulfilment.payment]),
        Field("subtotal", "numeric", lines.subtotal),
        Field("discount_amount", "numeric", money.discount),
        Field("tax_amount", "numeric", money.tax),
        Field("shipping_amount", "numeric", money.shipping),
        Field("total_amount", "numeric", money.total),
        Field("shipping_address_id", "int8", money.address),
        Field("shipping_method", "text", np.where(money.express, b"express", b"standard")),
        Field("shipped_at", "timestamptz", fulfilment.shipped_at, ~fulfilment.has_shipped),
        Field("delivered_at", "timestamptz", fulfilment.delivered_at, ~fulfilment.has_arrived),
        Field("created_at", "timestamptz", times),
        Field("updated_at", "timestamptz", fulfilment.updated),
    ])  # fmt: skip
    item_ids = np.arange(first_item_id, first_item_id + len(lines.product), dtype=np.int64)
    yield encode_batch("order_items", [
        Field("order_item_id", "int8", item_ids),
        Field("order_id", "int8", ids[lines.order]),
        Field("product_id", "int8", lines.product + 1),
        Field("quantity", "int4", lines.quantity),
        Field("unit_price", "numeric", lines.unit_price),
        Field("discount_amount", "numeric", lines.discount),
        Field("line_total", "numeric", lines.total),
        Field("created_at", "timestamptz", lines.times),
        Field("updated_at", "timestamptz", lines.times),
    ])  # fmt: skip
    with_promo = money.promo >= 0
    if with_promo.any():
        yield encode_batch("order_promotions", [
            Field("order_id", "int8", ids[with_promo]),
            Field("promotion_id", "int8", money.promo[with_promo] + 1),
            Field("discount_amount", "numeric", money.discount[with_promo]),
            Field("created_at", "timestamptz", times[with_promo]),
            Field("updated_at", "timestamptz", times[with_promo]),
        ])  # fmt: skip


def _sample_customers(
    rng: np.random.Generator, customers: CustomerFacts, times: np.ndarray
) -> np.ndarray:
    """Customer index per order: signed up by then, by purchase rate, not yet churned."""
    eligible = np.maximum(np.searchsorted(customers.signup, times, side="right"), 1)
    chosen = np.zeros(len(times), dtype=np.int64)
    pending = np.arange(len(times))
    for _ in range(60):
        if not len(pending):
            break
        limit = eligible[pending]
        total = customers.cumulative_rate[limit - 1]
        pick = np.searchsorted(
            customers.cumulative_rate, rng.random(len(pending)) * total, side="right"
        )
        pick = np.minimum(pick, limit - 1)
        chosen[pending] = pick
        pending = pending[customers.churn[pick] <= times[pending]]
    return chosen


def _sample_products(
    rng: np.random.Generator, products: ProductFacts, seasons: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """Product index per line: on sale then, by popularity, in its category's season."""
    eligible = np.maximum(np.searchsorted(products.created, times, side="right"), 1)
    months = month_index(times)
    chosen = np.zeros(len(times), dtype=np.int64)
    pending = np.arange(len(times))
    for _ in range(60):
        if not len(pending):
            break
        limit = eligible[pending]
        total = products.cumulative_popularity[limit - 1]
        pick = np.searchsorted(
            products.cumulative_popularity, rng.random(len(pending)) * total, side="right"
        )
        pick = np.minimum(pick, limit - 1)
        chosen[pending] = pick
        in_season = rng.random(len(pending)) < seasons[products.top[pick], months[pending]]
        on_sale = products.discontinued[pick] > times[pending]
        pending = pending[~(in_season & on_sale)]
    return chosen


def _repeats(keys: np.ndarray) -> np.ndarray:
    """True for every occurrence of a key after its first."""
    _, first = np.unique(keys, return_index=True)
    repeated = np.ones(len(keys), dtype=bool)
    repeated[first] = False
    return repeated


# ---------------------------------------------------------------------------- inventory

OUT_OF_STOCK_SHARE = 0.06
LOW_STOCK_SHARE = 0.12
OVERSTOCK_SHARE = 0.08
SECOND_WAREHOUSE_SHARE = 0.08
LEAD_TIME_DAYS = 7


def inventory_batch(plan: ShopPlan, products: ProductFacts, history: OrderHistory) -> CopyBatch:
    """Stock per product and warehouse, sized by the last 30 days of sales.

    Products still on sale are stocked in one warehouse, some in two; the reserved units
    are the open (pending or processing) orders' lines. Some rows are out of stock, some
    below their reorder point, some overstocked.
    """
    rng = random_stream(plan.seed, "inventory")
    count = products.count
    warehouses = text_array(vocabulary.WAREHOUSES)
    primary = rng.choice(len(warehouses), count, p=vocabulary.WAREHOUSE_SHARES)
    other = (primary + 1 + rng.integers(0, len(warehouses) - 1, count)) % len(warehouses)
    two = rng.random(count) < SECOND_WAREHOUSE_SHARE
    stocked = products.discontinued == NEVER
    rows_per_product = np.where(stocked, 1 + two, 0)
    product = np.repeat(np.arange(count), rows_per_product)
    is_second = np.zeros(len(product), dtype=bool)
    is_second[1:] = product[1:] == product[:-1]
    warehouse = np.where(is_second, other[product], primary[product])
    size = len(product)

    share = np.where(two[product], np.where(is_second, 0.4, 0.6), 1.0)
    daily_units = history.units_last_30_days[product] / 30.0 * share
    reorder_point = np.maximum(3, np.ceil(daily_units * LEAD_TIME_DAYS * 1.5)).astype(np.int64)
    reorder_quantity = np.maximum(10, np.ceil(daily_units * 30 / 10) * 10).astype(np.int64)
    reserved = np.where(is_second, 0, history.reserved_units[product])
    draw = rng.random(size)
    available = np.select(
        [
            draw < OUT_OF_STOCK_SHARE,
            draw < OUT_OF_STOCK_SHARE + LOW_STOCK_SHARE,
            draw < OUT_OF_STOCK_SHARE + LOW_STOCK_SHARE + OVERSTOCK_SHARE,
        ],
        [
            np.zeros(size, dtype=np.int64),
            rng.integers(1, reorder_point),
            reorder_point + 3 * reorder_quantity + rng.integers(0, 3 * reorder_quantity + 1),
        ],
        reorder_point + rng.integers(0, 2 * reorder_quantity + 1),
    )
    created = products.created[product]
    moved = plan.timeline.end - 1 - rng.exponential(3 * DAY, size).astype(np.int64)
    order = np.lexsort((warehouse, product))  # one row per product and warehouse, by product
    columns = {
        "product": product, "warehouse": warehouse, "on_hand": reserved + available,
        "reserved": reserved, "reorder_point": reorder_point, "reorder_quantity": reorder_quantity,
        "created": created, "updated": np.maximum(created, moved),
    }  # fmt: skip
    columns = {name: values[order] for name, values in columns.items()}
    return encode_batch("inventory", [
        Field("inventory_id", "int8", np.arange(1, size + 1, dtype=np.int64)),
        Field("product_id", "int8", columns["product"] + 1),
        Field("warehouse_code", "text", warehouses[columns["warehouse"]]),
        Field("quantity_on_hand", "int4", columns["on_hand"]),
        Field("quantity_reserved", "int4", columns["reserved"]),
        Field("reorder_point", "int4", columns["reorder_point"]),
        Field("reorder_quantity", "int4", columns["reorder_quantity"]),
        Field("created_at", "timestamptz", columns["created"]),
        Field("updated_at", "timestamptz", columns["updated"]),
    ])  # fmt: skip
