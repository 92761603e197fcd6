"""The slowly changing side of the generated shop: categories, products, customers, addresses
and promotions.

Each generator first draws the *facts* the order history needs as whole numeric arrays
(one small array per attribute, indexed by id - 1), then yields the table's rows in
fixed-size chunks, drawing the text columns only chunk by chunk.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from math import sqrt

import numpy as np

from ingest.shop import vocabulary
from ingest.shop.calendar import (
    DAY,
    YEAR,
    Timeline,
    black_friday,
    day_factors,
    epoch_seconds,
    to_datetime,
)
from ingest.shop.copy import CopyBatch, Field, encode_batch, text_array

DIMENSION_CHUNK_ROWS = 50_000
NEVER = np.iinfo(np.int64).max // 4  # a time after every other time

TIERS = ("bronze", "silver", "gold", "platinum")


def random_stream(seed: int, name: str, *index: int) -> np.random.Generator:
    """An independent, reproducible random stream per purpose (and chunk)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), *index])


@dataclass(frozen=True)
class ShopPlan:
    """Sizes and anchors of one generated shop."""

    scale: float
    seed: int
    timeline: Timeline

    @property
    def customers(self) -> int:
        return max(20, round(10_000 * self.scale))

    @property
    def orders(self) -> int:
        return max(50, round(50_000 * self.scale))

    @property
    def products(self) -> int:
        # Catalogues grow more slowly than customer bases.
        return max(100, round(20_000 * sqrt(self.scale)))

    @property
    def launch(self) -> int:
        """When the shop opened: two years before the recorded order history starts."""
        return self.timeline.start - int(2 * YEAR) - 30 * DAY


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")


# --------------------------------------------------------------------------- categories


@dataclass(frozen=True)
class CategoryFacts:
    """Leaf categories products hang from (ids, names, top-level index, price level)."""

    leaf_ids: np.ndarray
    leaf_names: list[str]
    leaf_top: np.ndarray
    top_names: list[str]
    top_price: np.ndarray


def categories(plan: ShopPlan) -> tuple[CategoryFacts, CopyBatch]:
    """The three-level tree: top-level ids first, then mid-level, then leaves."""
    tops = list(vocabulary.CATEGORY_TREE)
    rows: list[tuple[int, int | None, str, str]] = []
    mid_rows: list[tuple[str, str, str]] = []
    for top in tops:
        rows.append((len(rows) + 1, None, top, _slug(top)))
    for top_index, top in enumerate(tops):
        for mid in vocabulary.CATEGORY_TREE[top][1]:
            mid_rows.append((top, mid, _slug(f"{top} {mid}")))
            rows.append((len(rows) + 1, top_index + 1, mid, _slug(f"{top} {mid}")))
    leaf_ids, leaf_names, leaf_top = [], [], []
    for mid_index, (top, mid, mid_slug) in enumerate(mid_rows):
        for leaf in vocabulary.CATEGORY_TREE[top][1][mid]:
            leaf_ids.append(len(rows) + 1)
            leaf_names.append(leaf)
            leaf_top.append(tops.index(top))
            rows.append(
                (len(rows) + 1, len(tops) + mid_index + 1, leaf, f"{mid_slug}-{_slug(leaf)}")
            )
    count = len(rows)
    created = plan.launch - 10 * DAY + np.arange(count, dtype=np.int64) * 60
    parent = np.array([row[1] or 0 for row in rows], dtype=np.int64)
    batch = encode_batch("product_categories", [
        Field("category_id", "int8", np.array([row[0] for row in rows], dtype=np.int64)),
        Field("parent_category_id", "int8", parent, parent == 0),
        Field("name", "text", text_array([row[2] for row in rows])),
        Field("slug", "text", text_array([row[3] for row in rows])),
        Field("is_active", "bool", np.ones(count, dtype=bool)),
        Field("created_at", "timestamptz", created),
        Field("updated_at", "timestamptz", created),
    ])  # fmt: skip
    facts = CategoryFacts(
        leaf_ids=np.array(leaf_ids, dtype=np.int64),
        leaf_names=leaf_names,
        leaf_top=np.array(leaf_top, dtype=np.int64),
        top_names=tops,
        top_price=np.array([vocabulary.CATEGORY_TREE[top][0] for top in tops]),
    )
    return facts, batch


# ----------------------------------------------------------------------------- products


@dataclass(frozen=True)
class ProductFacts:
    """Per product (index = product_id - 1), in order of creation."""

    created: np.ndarray
    discontinued: np.ndarray  # NEVER while still sold
    cumulative_popularity: np.ndarray  # running sum of Zipf-like weights, in id order
    popularity: np.ndarray
    price: np.ndarray  # cents
    cost: np.ndarray  # cents
    leaf: np.ndarray  # index into CategoryFacts.leaf_ids
    top: np.ndarray  # index of the top-level category
    quality: np.ndarray  # shifts the product's star ratings

    @property
    def count(self) -> int:
        return len(self.created)


def product_facts(plan: ShopPlan, categories: CategoryFacts) -> ProductFacts:
    rng = random_stream(plan.seed, "products")
    count = plan.products
    timeline = plan.timeline
    # Three quarters of the catalogue predates the recorded history; the rest launches during it.
    existing = rng.random(count) < 0.75
    created = np.where(
        existing,
        rng.integers(plan.launch, timeline.start, count),
        timeline.start
        + (rng.random(count) ** 0.8 * (timeline.end - timeline.start)).astype(np.int64),
    )
    created.sort()
    leaf_sizes = rng.gamma(2.0, 1.0, len(categories.leaf_ids))
    leaf = rng.choice(len(categories.leaf_ids), count, p=leaf_sizes / leaf_sizes.sum())
    top = categories.leaf_top[leaf]
    # A few products sell most: Zipf-like weights over a random ranking.
    rank = rng.permutation(count)
    popularity = 1.0 / (rank + 1.0) ** 0.95
    leaf_price_level = rng.lognormal(0.0, 0.3, len(categories.leaf_ids))
    dollars = categories.top_price[top] * leaf_price_level[leaf] * rng.lognormal(0.0, 0.55, count)
    dollars = np.maximum(np.rint(dollars), 2).astype(np.int64)
    ending = rng.choice(np.array([1, 51, 5, 0]), count, p=[0.75, 0.1, 0.08, 0.07])
    price = dollars * 100 - ending
    cost = np.floor(price * rng.uniform(0.35, 0.72, count)).astype(np.int64)
    discontinued = np.full(count, NEVER, dtype=np.int64)
    gone = rng.random(count) < 0.04
    earliest = np.maximum(created + 60 * DAY, timeline.start + 30 * DAY)
    gone &= earliest < timeline.end - DAY
    discontinued[gone] = earliest[gone] + (
        rng.random(int(gone.sum())) * (timeline.end - DAY - earliest[gone])
    ).astype(np.int64)
    return ProductFacts(
        created=created,
        discontinued=discontinued,
        cumulative_popularity=np.cumsum(popularity),
        popularity=popularity,
        price=price,
        cost=cost,
        leaf=leaf,
        top=top,
        quality=rng.normal(0.0, 0.45, count),
    )


def product_batches(
    plan: ShopPlan, facts: ProductFacts, categories: CategoryFacts
) -> Iterator[CopyBatch]:
    brands = text_array(vocabulary.BRANDS)
    descriptors = text_array(vocabulary.PRODUCT_DESCRIPTORS)
    claims = text_array(vocabulary.PRODUCT_CLAIMS)
    leaf_names = text_array(categories.leaf_names)
    leaf_codes = np.strings.zfill((np.arange(len(leaf_names)) + 1).astype("S"), 3)
    top_codes = text_array([_slug(name)[:3].upper() for name in categories.top_names])
    for chunk, lo in enumerate(range(0, facts.count, DIMENSION_CHUNK_ROWS)):
        hi = min(lo + DIMENSION_CHUNK_ROWS, facts.count)
        rng = random_stream(plan.seed, "product text", chunk)
        size = hi - lo
        ids = np.arange(lo + 1, hi + 1, dtype=np.int64)
        leaf, top = facts.leaf[lo:hi], facts.top[lo:hi]
        brand = brands[rng.integers(0, len(brands), size)]
        descriptor = descriptors[rng.integers(0, len(descriptors), size)]
        model = np.strings.add(
            np.array([b"X", b"S", b"V", b"R", b"Z", b"M"])[rng.integers(0, 6, size)],
            (rng.integers(1, 100, size) * 10).astype("S"),
        )
        name = _join(brand, b" ", descriptor, b" ", leaf_names[leaf], b" ", model)
        sku = _join(
            top_codes[top], b"-", leaf_codes[leaf], b"-", np.strings.zfill(ids.astype("S"), 7)
        )
        description = _join(
            descriptor, b" ", np.strings.lower(leaf_names[leaf]), b" by ", brand, b". ",
            claims[rng.integers(0, len(claims), size)],
        )  # fmt: skip
        created = facts.created[lo:hi]
        discontinued = facts.discontinued[lo:hi]
        active = discontinued == NEVER
        edited = created + (rng.random(size) * (plan.timeline.end - created)).astype(np.int64)
        updated = np.where(active, np.where(rng.random(size) < 0.3, edited, created), discontinued)
        yield encode_batch("products", [
            Field("product_id", "int8", ids),
            Field("sku", "text", sku),
            Field("name", "text", name),
            Field("description", "text", description),
            Field("brand", "text", brand),
            Field("category_id", "int8", categories.leaf_ids[leaf]),
            Field("unit_price", "numeric", facts.price[lo:hi]),
            Field("cost_price", "numeric", facts.cost[lo:hi]),
            Field("is_active", "bool", active),
            Field("created_at", "timestamptz", created),
            Field("updated_at", "timestamptz", updated),
        ])  # fmt: skip


def _join(*parts: np.ndarray | bytes) -> np.ndarray:
    result = np.asarray(parts[0])
    for part in parts[1:]:
        result = np.strings.add(result, part)
    return result


# ---------------------------------------------------------------- customers and addresses


@dataclass(frozen=True)
class CustomerFacts:
    """Per customer (index = customer_id - 1), in order of signup, plus their addresses."""

    signup: np.ndarray
    churn: np.ndarray  # stops buying from then on
    purchase_rate: np.ndarray
    cumulative_rate: np.ndarray
    welcome_order: np.ndarray  # time of the order right after signup, NEVER if none
    tier: np.ndarray  # index into TIERS
    deactivated: np.ndarray  # NEVER while the account is open
    # addresses: per customer the first address id and how many of each kind
    first_address: np.ndarray
    has_billing: np.ndarray
    has_second_shipping: np.ndarray
    address_city: np.ndarray  # per address (index = address_id - 1)

    @property
    def count(self) -> int:
        return len(self.signup)

    @property
    def address_count(self) -> int:
        return len(self.address_city)

    def second_shipping_address(self) -> np.ndarray:
        """Id of each customer's second shipping address, -1 if none."""
        second = self.first_address + 1 + self.has_billing
        return np.where(self.has_second_shipping, second, -1)


_CITY_WEIGHTS = np.array([city[4] for city in vocabulary.CITIES])
CITY_TAX_BASIS_POINTS = np.array(
    [vocabulary.STATE_TAX_BASIS_POINTS[city[1]] for city in vocabulary.CITIES], dtype=np.int64
)


def customer_facts(plan: ShopPlan) -> CustomerFacts:
    rng = random_stream(plan.seed, "customers")
    count = plan.customers
    timeline = plan.timeline
    # A quarter signed up in the shop's first two years, before the recorded order history;
    # the others join during it, more every year and more in the holiday season.
    legacy = rng.random(count) < 0.25
    legacy_count = int(legacy.sum())
    day_starts = timeline.day_starts()
    years_in = (day_starts - timeline.start) / YEAR
    day_weights = np.exp(0.45 * years_in) * day_factors(day_starts) ** 0.5
    signup_day = np.searchsorted(
        np.cumsum(day_weights) / day_weights.sum(), rng.random(count - legacy_count), side="right"
    )
    signup = np.empty(count, dtype=np.int64)
    signup[legacy] = rng.integers(plan.launch, timeline.start, legacy_count)
    signup[~legacy] = day_starts[signup_day] + rng.integers(0, DAY, count - legacy_count)
    signup.sort()

    # Purchase propensity differs a lot between customers; some never come back, others churn
    # early, the loyal ones stay for years.
    buyer = rng.random(count) < 0.9
    purchase_rate = np.where(buyer, np.minimum(rng.lognormal(0.0, 1.0, count), 15.0), 0.0)
    short_lived = rng.random(count) < 0.3
    lifetime = np.where(
        short_lived, rng.exponential(60 * DAY, count), rng.exponential(2.2 * YEAR, count)
    ).astype(np.int64)
    churn = signup + lifetime + DAY

    after_signup = np.minimum(rng.lognormal(np.log(1200.0), 1.4, count), 3 * DAY).astype(np.int64)
    welcome = signup + 60 + after_signup
    welcome_ok = (
        (signup >= timeline.start) & buyer & (rng.random(count) < 0.7) & (welcome < timeline.end)
    )
    welcome_order = np.where(welcome_ok, welcome, NEVER)
    churn = np.where(welcome_ok, np.maximum(churn, welcome + DAY), churn)

    # Tiers follow purchase propensity, loosely.
    score = np.where(buyer, purchase_rate * rng.lognormal(0.0, 0.3, count), -1.0)
    order = np.argsort(-score, kind="stable")
    tier = np.zeros(count, dtype=np.int64)
    cut = np.round(np.array([0.03, 0.10, 0.30]) * count).astype(int)
    tier[order[: cut[2]]] = 1
    tier[order[: cut[1]]] = 2
    tier[order[: cut[0]]] = 3

    closed = (churn < timeline.end - 180 * DAY) & (rng.random(count) < 0.15)
    closed_at = churn + rng.integers(30 * DAY, 365 * DAY, count)
    deactivated = np.where(closed & (closed_at < timeline.end), closed_at, NEVER)

    has_billing = rng.random(count) < 0.45
    has_second = rng.random(count) < 0.18
    per_customer = 1 + has_billing.astype(np.int64) + has_second.astype(np.int64)
    first_address = np.concatenate(([1], 1 + np.cumsum(per_customer)[:-1])).astype(np.int64)
    city = rng.choice(
        len(_CITY_WEIGHTS), int(per_customer.sum()), p=_CITY_WEIGHTS / _CITY_WEIGHTS.sum()
    )
    # Billing addresses are mostly in the home city.
    home_city = city[first_address - 1]
    billing_rows = first_address[has_billing]  # billing follows the default shipping address
    same_city = rng.random(len(billing_rows)) < 0.85
    city[billing_rows[same_city]] = home_city[has_billing][same_city]
    return CustomerFacts(
        signup=signup,
        churn=churn,
        purchase_rate=purchase_rate,
        cumulative_rate=np.cumsum(purchase_rate),
        welcome_order=welcome_order,
        tier=tier,
        deactivated=deactivated,
        first_address=first_address,
        has_billing=has_billing,
        has_second_shipping=has_second,
        address_city=city.astype(np.int64),
    )


def customer_batches(plan: ShopPlan, facts: CustomerFacts) -> Iterator[CopyBatch]:
    """Customers and their addresses, chunk by chunk."""
    first_names = text_array(vocabulary.FIRST_NAMES)
    last_names = text_array(vocabulary.LAST_NAMES)
    first_lower = np.strings.lower(first_names)
    last_lower = np.strings.lower(last_names)
    domains = text_array(vocabulary.EMAIL_DOMAINS)
    area_codes = text_array([city[3] for city in vocabulary.CITIES])
    tiers = text_array(TIERS)
    for chunk, lo in enumerate(range(0, facts.count, DIMENSION_CHUNK_ROWS)):
        hi = min(lo + DIMENSION_CHUNK_ROWS, facts.count)
        size = hi - lo
        rng = random_stream(plan.seed, "customer text", chunk)
        ids = np.arange(lo + 1, hi + 1, dtype=np.int64)
        first = rng.integers(0, len(first_names), size)
        last = rng.integers(0, len(last_names), size)
        pattern = rng.integers(0, 3, size)
        separator = np.array([b".", b"_", b""])[pattern]
        local = _join(first_lower[first], separator, last_lower[last])
        local = np.where(
            pattern == 2, _join(np.strings.slice(first_lower[first], 1), last_lower[last]), local
        )
        email = _join(local, ids.astype("S"), b"@", domains[rng.integers(0, len(domains), size)])
        home_city = facts.address_city[facts.first_address[lo:hi] - 1]
        phone = _join(
            b"+1-", area_codes[home_city], b"-555-", rng.integers(1000, 10000, size).astype("S")
        )
        created = facts.signup[lo:hi]
        deactivated = facts.deactivated[lo:hi]
        edited = created + (rng.random(size) * (plan.timeline.end - created)).astype(np.int64)
        updated = np.where(
            deactivated != NEVER, deactivated, np.where(rng.random(size) < 0.35, edited, created)
        )
        yield encode_batch("customers", [
            Field("customer_id", "int8", ids),
            Field("email", "text", email),
            Field("first_name", "text", first_names[first]),
            Field("last_name", "text", last_names[last]),
            Field("phone", "text", phone, rng.random(size) < 0.12),
            Field("tier", "text", tiers[facts.tier[lo:hi]]),
            Field("marketing_opt_in", "bool", rng.random(size) < 0.55),
            Field("is_active", "bool", deactivated == NEVER),
            Field("created_at", "timestamptz", created),
            Field("updated_at", "timestamptz", updated),
        ])  # fmt: skip
        yield _address_batch(plan, facts, lo, hi, chunk)


def _address_batch(plan: ShopPlan, facts: CustomerFacts, lo: int, hi: int, chunk: int) -> CopyBatch:
    rng = random_stream(plan.seed, "address text", chunk)
    has_billing = facts.has_billing[lo:hi]
    has_second = facts.has_second_shipping[lo:hi]
    per_customer = 1 + has_billing.astype(np.int64) + has_second.astype(np.int64)
    customer = np.repeat(np.arange(lo + 1, hi + 1, dtype=np.int64), per_customer)
    # kind: 0 default shipping, 1 billing, 2 second shipping; rows ordered that way per customer
    position = np.arange(len(customer)) - np.repeat(
        np.cumsum(per_customer) - per_customer, per_customer
    )
    kind = np.where(
        position == 0, 0, np.where((position == 1) & np.repeat(has_billing, per_customer), 1, 2)
    )
    first_id = int(facts.first_address[lo])
    ids = np.arange(first_id, first_id + len(customer), dtype=np.int64)
    city = facts.address_city[ids - 1]
    size = len(ids)
    streets = text_array(vocabulary.STREET_NAMES)
    suffixes = text_array(vocabulary.STREET_SUFFIXES)
    line1 = _join(
        rng.integers(1, 9900, size).astype("S"), b" ",
        streets[rng.integers(0, len(streets), size)], b" ",
        suffixes[rng.integers(0, len(suffixes), size)],
    )  # fmt: skip
    line2 = _join(b"Apt ", rng.integers(1, 40, size).astype("S"),
                  np.array([b"A", b"B", b"C", b"D"])[rng.integers(0, 4, size)])  # fmt: skip
    cities = text_array([c[0] for c in vocabulary.CITIES])
    states = text_array([c[1] for c in vocabulary.CITIES])
    zip3 = text_array([c[2] for c in vocabulary.CITIES])
    postal = _join(zip3[city], np.strings.zfill(rng.integers(0, 100, size).astype("S"), 2))
    created = facts.signup[customer - 1]
    # All of a customer's addresses date from the signup; some were edited since.
    edited = created + (rng.random(size) * (plan.timeline.end - created)).astype(np.int64)
    updated = np.where(rng.random(size) < 0.1, edited, created)
    return encode_batch("addresses", [
        Field("address_id", "int8", ids),
        Field("customer_id", "int8", customer),
        Field("address_type", "text", np.array([b"shipping", b"billing", b"shipping"])[kind]),
        Field("line1", "text", line1),
        Field("line2", "text", line2, rng.random(size) >= 0.22),
        Field("city", "text", cities[city]),
        Field("state", "text", states[city]),
        Field("postal_code", "text", postal),
        Field("country", "text", np.full(size, b"US")),
        Field("is_default", "bool", kind < 2),
        Field("created_at", "timestamptz", created),
        Field("updated_at", "timestamptz", updated),
    ])  # fmt: skip


# ---------------------------------------------------------------------------- promotions


@dataclass(frozen=True)
class PromotionFacts:
    """Per promotion (index = promotion_id - 1)."""

    starts: np.ndarray
    ends: np.ndarray  # NEVER for evergreen codes
    percentage: np.ndarray  # bool: percent off (else a fixed amount)
    value: np.ndarray  # percent, or cents off
    min_order: np.ndarray  # cents
    uptake: np.ndarray  # share of orders using it while it runs
    welcome: int  # index of the first-order code


def promotions(plan: ShopPlan) -> tuple[PromotionFacts, CopyBatch]:
    timeline = plan.timeline
    rows: list[tuple[str, str, str, float, float, int, int, float]] = []
    for code, name, kind, value, minimum in vocabulary.EVERGREEN_PROMOTIONS:
        uptake = {"WELCOME10": 0.0, "SAVE10": 0.03, "LOYAL5": 0.015, "APPONLY15": 0.025}[code]
        rows.append((code, name, kind, value, minimum, plan.launch, int(NEVER), uptake))
    first_year = to_datetime(timeline.start).year - 1
    last_year = to_datetime(timeline.end).year + 1
    campaigns = []
    for year in range(first_year, last_year + 1):
        for stem, name, kind, value, minimum, month, day, length in vocabulary.SEASONAL_CAMPAIGNS:
            if stem in ("BLACKFRIDAY", "CYBERMONDAY"):
                begin = epoch_seconds(black_friday(year) + timedelta(days=day))
            else:
                begin = epoch_seconds(date(year, month, day))
            uptake = 0.3 if stem in ("BLACKFRIDAY", "CYBERMONDAY") else 0.1
            campaigns.append((f"{stem}{year}", f"{name} {year}", kind, value, minimum, begin,
                              begin + length * DAY, uptake))  # fmt: skip
    # Campaigns of the recorded history, plus the ones already set up for the coming weeks.
    for campaign in sorted(campaigns, key=lambda row: row[5]):
        announced = campaign[5] - 21 * DAY
        if campaign[6] > timeline.start and announced < timeline.end:
            rows.append(campaign)
    count = len(rows)
    starts = np.array([row[5] for row in rows], dtype=np.int64)
    ends = np.array([row[6] for row in rows], dtype=np.int64)
    created = np.where(ends == NEVER, starts, starts - 21 * DAY)
    expired = ends <= timeline.end
    updated = np.where(expired, ends, created)
    value_cents = np.array([round(row[3] * 100) for row in rows], dtype=np.int64)
    batch = encode_batch("promotions", [
        Field("promotion_id", "int8", np.arange(1, count + 1, dtype=np.int64)),
        Field("code", "text", text_array([row[0] for row in rows])),
        Field("name", "text", text_array([row[1] for row in rows])),
        Field("discount_type", "text", text_array([row[2] for row in rows])),
        Field("discount_value", "numeric", value_cents),
        Field("min_order_amount", "numeric",
              np.array([round(row[4] * 100) for row in rows], dtype=np.int64)),
        Field("starts_at", "timestamptz", starts),
        Field("ends_at", "timestamptz", ends, ends == NEVER),
        Field("is_active", "bool", ~expired),
        Field("created_at", "timestamptz", created),
        Field("updated_at", "timestamptz", updated),
    ])  # fmt: skip
    percentage = np.array([row[2] == "percentage" for row in rows])
    facts = PromotionFacts(
        starts=starts,
        ends=ends,
        percentage=percentage,
        value=np.where(percentage, value_cents // 100, value_cents),
        min_order=np.array([round(row[4] * 100) for row in rows], dtype=np.int64),
        uptake=np.array([row[7] for row in rows]),
        welcome=[row[0] for row in rows].index("WELCOME10"),
    )
    return facts, batch
