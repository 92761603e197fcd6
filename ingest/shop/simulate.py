"""`shopmarts simulate`: hour after hour of shop activity, written as plain DML.

The shop's own clock continues from its newest row: each simulated hour runs in one
transaction and inserts, updates and deletes rows the way the shop's application would,
so the `updated_at` and audit triggers fire. New rows carry the simulated time in
`created_at` / `order_date`; `updated_at` is the database's now(), which is what the
hourly incremental extract follows.

Rates continue the shop's recent trend (orders and signups of the last 28 days, shaped
by the calendar); ``intensity`` multiplies them. Given the same seed and the same starting
shop the run is deterministic.

Every profile: a shop of another profile keeps the canonical shop it was written from in
schema ``shopmarts_canonical``; the same simulator advances that one, then the profile's
tables are synced from it through the profile's fill.sql (:mod:`ingest.shop.profile_sync`),
in the same transaction. One logical shop: after N simulated hours the profile's tables are
exactly the canonical shop after N hours, written through the profile's schema.
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
from ingest.profiles import (
    CANONICAL_SCHEMA,
    DEFAULT_PROFILE,
    Profile,
    configured_profile,
    get_profile,
)
from ingest.shop.calendar import DAY, HOUR, HOUR_WEIGHTS, day_factors, to_datetime
from ingest.shop.profile_sync import PROFILE_SCHEMA, SyncReport, sync_profile
from ingest.shop.progress import Progress
from ingest.shop.schema import SHOP_TABLES, connect, scalar
from ingest.shop.simulation.fulfilment import fulfilment
from ingest.shop.simulation.housekeeping import expire_promotions, housekeeping
from ingest.shop.simulation.orders import orders
from ingest.shop.simulation.reviews import reviews
from ingest.shop.simulation.signups import signups
from ingest.shop.simulation.state import Hour, load_state
from ingest.shop.simulation.stock import restock

MAX_HOURS = 24 * 366


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
    sync: SyncReport | None = None  # a non-canonical profile's tables synced afterwards

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
        if self.sync is not None:
            out.extend(self.sync.lines())
        return out


def simulate_shop(
    shop_url: str,
    *,
    hours: float,
    seed: int | None,
    progress: bool,
    intensity: float = 1.0,
    profile: str | None = None,
) -> SimulateReport:
    """Advance the shop by ``hours`` simulated hours (see the module docstring).

    ``profile`` names the shop's source profile (default: SHOPMARTS_SOURCE_PROFILE's).
    """
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
    chosen = configured_profile() if profile is None else get_profile(profile)
    shown = Progress(progress)
    started = time.perf_counter()
    with connect(shop_url) as conn:
        try:
            if chosen.name == DEFAULT_PROFILE:
                simulator = _Simulator(conn, shop_url, seed, intensity)
                report = simulator.run(hours, shown)
            else:
                report = _simulate_profile(conn, shop_url, chosen, hours, seed, intensity, shown)
        except psycopg.Error as error:
            first_line = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            raise ShopmartsError(f"simulating the shop failed: {first_line}") from error
    report.seconds = time.perf_counter() - started
    shown.done(f"simulated {hours:g} hours: {sum(report.orders_per_hour):,} new orders")
    return report


def _simulate_profile(
    conn: psycopg.Connection,
    shop_url: str,
    profile: Profile,
    hours: float,
    seed: int,
    intensity: float,
    shown: Progress,
) -> SimulateReport:
    """The canonical shop in its schema advanced, then ``profile``'s tables synced from it.

    One transaction (the connection's; each hour is a savepoint of it, as for the canonical
    shop): a failure leaves both as they were, and the sync's ``now()`` is the hours'.
    """
    missing = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM unnest(%s::text[]) AS t(name)"
            " WHERE to_regclass(quote_ident(%s) || '.' || quote_ident(name)) IS NULL",
            (list(profile.table_names), PROFILE_SCHEMA),
        )
    ]
    if missing or scalar(conn, "SELECT to_regnamespace(%s) IS NULL", (CANONICAL_SCHEMA,)):
        what = f"no {', '.join(missing[:3])} table" if missing else f"no {CANONICAL_SCHEMA} schema"
        raise ShopmartsError(
            f"the shop at {redact(shop_url)} is not a {profile.name} shop written by "
            f"`shopmarts generate` ({what}): run `shopmarts generate --profile {profile.name}` "
            "first"
        )
    search_path = scalar(conn, "SELECT current_setting('search_path')")
    # The canonical simulator names its tables unqualified: the canonical shop's schema.
    conn.execute("SELECT set_config('search_path', %s, false)", (CANONICAL_SCHEMA,))
    simulator = _Simulator(conn, shop_url, seed, intensity, schema=CANONICAL_SCHEMA)
    report = simulator.run(hours, shown)
    conn.execute("SELECT set_config('search_path', %s, false)", (search_path,))
    shown.update(f"sync profile {profile.name} from the canonical shop")
    with conn.transaction():
        report.sync = sync_profile(conn, profile)
    return report


class _Simulator:
    """Runs the hours: finds where the shop's clock stands, then calls each hour's events."""

    def __init__(
        self,
        conn: psycopg.Connection,
        shop_url: str,
        seed: int,
        intensity: float,
        schema: str = PROFILE_SCHEMA,
    ) -> None:
        self.conn = conn
        self.seed = seed
        self.intensity = intensity
        missing = scalar(
            conn,
            "SELECT count(*) FROM unnest(%s::text[]) AS t(name)"
            " WHERE to_regclass(quote_ident(%s) || '.' || quote_ident(name)) IS NULL",
            (list(SHOP_TABLES), schema),
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
        self.state = load_state(conn, self.start, intensity)

    def run(self, hours: float, shown: Progress) -> SimulateReport:
        """Simulate ``hours`` from the hour after the newest row, one transaction each."""
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
                hour = Hour(self.conn, rng, window_start, window_end, report.changes)
                placed = self._hour(hour)
            report.orders_per_hour.append(placed)
            shown.update(
                f"simulated hour {number}/{len(windows)} "
                f"({to_datetime(window_start):%Y-%m-%d %H:00}): {placed} new orders"
            )
        return report

    def _hour(self, hour: Hour) -> int:
        """One hour's events, in a fixed order (their random draws depend on it)."""
        state, start = self.state, hour.start
        hour_factor = float(day_factors(np.array([start]))[0] * HOUR_WEIGHTS[(start % DAY) // HOUR])
        expire_promotions(hour, state)
        new_customers = signups(hour, state, hour.share * hour_factor)
        fulfilment(hour)
        expected = state.orders_per_day / 24 * hour_factor * hour.share * self.intensity
        placed = orders(hour, state, max(1, int(hour.rng.poisson(expected))), new_customers)
        restock(hour)
        reviews(hour, state)
        housekeeping(hour, state)
        return placed
