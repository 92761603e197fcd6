"""New customers sign up, each with a shipping address and sometimes a billing one."""

from __future__ import annotations

import numpy as np

from ingest.shop import vocabulary
from ingest.shop.calendar import to_datetime
from ingest.shop.simulation.state import Customers, Hour, ShopState

BILLING_ADDRESS_SHARE = 0.45
MARKETING_OPT_IN_SHARE = 0.55


def signups(hour: Hour, state: ShopState, factor: float) -> list[tuple[int, int]]:
    """New customers with their addresses; returns (customer_id, created_at) of each.

    ``factor`` is the hour's share of a whole hour times its calendar weight.
    """
    rng = hour.rng
    count = int(rng.poisson(state.signups_per_day / 24 * factor * state.intensity))
    if not count:
        return []
    ids = [row[0] for row in hour.conn.execute(
        "SELECT nextval(pg_get_serial_sequence('customers', 'customer_id'))"
        " FROM generate_series(1, %s)", (count,)
    )]  # fmt: skip
    created = np.sort(rng.integers(hour.start, hour.end, count))
    cities = _insert_customers(hour, ids, created)
    _insert_addresses(hour, ids, cities, [to_datetime(t) for t in created])
    state.customers = Customers(
        ids=np.concatenate((state.customers.ids, np.array(ids, dtype=np.int64))),
        weights=np.concatenate((state.customers.weights, np.ones(count))),
        member=np.concatenate((state.customers.member, np.zeros(count, dtype=bool))),
    )
    return list(zip(ids, created.tolist(), strict=True))


def _insert_customers(hour: Hour, ids: list[int], created: np.ndarray) -> np.ndarray:
    """Insert the customers; returns the index of each one's city in vocabulary.CITIES."""
    rng, count = hour.rng, len(ids)
    first = [vocabulary.FIRST_NAMES[i] for i in rng.integers(0, len(vocabulary.FIRST_NAMES), count)]
    last = [vocabulary.LAST_NAMES[i] for i in rng.integers(0, len(vocabulary.LAST_NAMES), count)]
    domains = [
        vocabulary.EMAIL_DOMAINS[i] for i in rng.integers(0, len(vocabulary.EMAIL_DOMAINS), count)
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
    opt_in = (rng.random(count) < MARKETING_OPT_IN_SHARE).tolist()
    times = [to_datetime(t) for t in created]
    cursor = hour.conn.execute(
        "INSERT INTO customers (customer_id, email, first_name, last_name, phone, tier,"
        " marketing_opt_in, created_at)"
        " SELECT id, email, first_name, last_name, phone, 'bronze', opt_in, created_at"
        " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[],"
        "   %s::boolean[], %s::timestamptz[])"
        "   AS n(id, email, first_name, last_name, phone, opt_in, created_at)",
        (ids, emails, first, last, phones, opt_in, times),
    )
    hour.changes["customers", "insert"] += cursor.rowcount
    return cities


def _insert_addresses(hour: Hour, ids: list[int], cities: np.ndarray, times: list) -> None:
    """Every new customer's shipping address, and a billing address for some."""
    rng = hour.rng
    billing = rng.random(len(ids)) < BILLING_ADDRESS_SHARE
    rows = [(i, "shipping", c, t) for i, c, t in zip(ids, cities, times, strict=True)]
    rows += [
        (i, "billing", c, t) for i, c, t, b in zip(ids, cities, times, billing, strict=True) if b
    ]
    streets = rng.integers(0, len(vocabulary.STREET_NAMES), len(rows))
    suffixes = rng.integers(0, len(vocabulary.STREET_SUFFIXES), len(rows))
    numbers = rng.integers(1, 9900, len(rows))
    zips = rng.integers(0, 100, len(rows))
    cursor = hour.conn.execute(
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
    hour.changes["addresses", "insert"] += cursor.rowcount
