"""Where each generated order stands at the end of the history, and when it got there.

Every order is paid a minute to hours after it is placed (or its payment fails), ships
within days, arrives after a transit that depends on the method, and may be cancelled by
the customer before shipping or returned after arrival. Steps after the end of the
history have not happened yet: the last days' orders are still pending, processing or
shipped. :data:`OUTCOMES` turns the steps into the order's status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.shop.calendar import DAY, HOUR

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
PAYMENT_STATUSES = ("pending", "completed", "failed", "refunded")
PENDING, PROCESSING, SHIPPED, DELIVERED, CANCELLED, RETURNED = range(6)
PAY_PENDING, PAY_COMPLETED, PAY_FAILED, PAY_REFUNDED = range(4)

FAILED_PAYMENT_SHARE = 0.035
CUSTOMER_CANCEL_SHARE = 0.025
RETURN_SHARE = 0.06

# Where an order stands at the end of the history: the first situation that holds (a
# Fulfilment mask), else delivered. Each: order status, payment status, and the time of
# the order's last change (a Fulfilment time).
OUTCOMES = (
    ("unpaid", PENDING, PAY_PENDING, "placed_at"),
    ("failed", CANCELLED, PAY_FAILED, "paid_at"),
    ("cancels", CANCELLED, PAY_REFUNDED, "cancelled_at"),
    ("unshipped", PROCESSING, PAY_COMPLETED, "paid_at"),
    ("in_transit", SHIPPED, PAY_COMPLETED, "shipped_at"),
    ("returns", RETURNED, PAY_REFUNDED, "returned_at"),
)
OTHERWISE = (DELIVERED, PAY_COMPLETED, "delivered_at")


@dataclass
class Fulfilment:
    """Per order: when each step happened (or would have) and where it stands at the end."""

    placed_at: np.ndarray
    paid_at: np.ndarray
    shipped_at: np.ndarray
    delivered_at: np.ndarray
    cancelled_at: np.ndarray
    returned_at: np.ndarray
    unpaid: np.ndarray
    failed: np.ndarray
    cancels: np.ndarray
    unshipped: np.ndarray
    in_transit: np.ndarray
    returns: np.ndarray
    status: np.ndarray = field(init=False)
    payment: np.ndarray = field(init=False)
    updated: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        situations = [getattr(self, name) for name, *_ in OUTCOMES]
        self.status = np.select(situations, [o[1] for o in OUTCOMES], OTHERWISE[0])
        self.payment = np.select(situations, [o[2] for o in OUTCOMES], OTHERWISE[1])
        self.updated = np.select(
            situations, [getattr(self, o[3]) for o in OUTCOMES], getattr(self, OTHERWISE[2])
        )

    @property
    def paid_ok(self) -> np.ndarray:
        """Orders whose payment went through."""
        return (self.status != PENDING) & ~self.failed

    @property
    def paid_failed(self) -> np.ndarray:
        """Orders whose payment failed."""
        return (self.status != PENDING) & self.failed

    @property
    def cancelled_by_customer(self) -> np.ndarray:
        """Orders the customer cancelled after paying."""
        return (self.status == CANCELLED) & ~self.failed

    @property
    def has_shipped(self) -> np.ndarray:
        """Orders that left the warehouse."""
        return np.isin(self.status, (SHIPPED, DELIVERED, RETURNED))

    @property
    def has_arrived(self) -> np.ndarray:
        """Orders that reached the customer."""
        return np.isin(self.status, (DELIVERED, RETURNED))

    @property
    def returned(self) -> np.ndarray:
        """Orders sent back."""
        return self.status == RETURNED


def fulfil(
    rng: np.random.Generator, placed_at: np.ndarray, express: np.ndarray, end: int
) -> Fulfilment:
    """Draw the steps of orders placed at ``placed_at``, as they stand at ``end``."""
    count = len(placed_at)
    paid_at = placed_at + 60 + np.minimum(rng.exponential(900.0, count), 6 * HOUR).astype(np.int64)
    shipped_at = paid_at + np.clip(
        rng.lognormal(np.log(20 * HOUR), 0.6, count), 2 * HOUR, 6 * DAY
    ).astype(np.int64)
    transit = np.where(express, rng.uniform(0.8, 2.2, count), rng.uniform(2.0, 7.0, count))
    delivered_at = shipped_at + (transit * DAY).astype(np.int64)
    failed = rng.random(count) < FAILED_PAYMENT_SHARE
    cancelled_at = paid_at + (rng.random(count) * (shipped_at - paid_at)).astype(np.int64)
    cancels = ~failed & (rng.random(count) < CUSTOMER_CANCEL_SHARE) & (cancelled_at < end)
    returned_at = delivered_at + (rng.uniform(2.0, 30.0, count) * DAY).astype(np.int64)
    returns = (rng.random(count) < RETURN_SHARE) & (returned_at < end)
    return Fulfilment(
        placed_at=placed_at,
        paid_at=paid_at,
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        cancelled_at=cancelled_at,
        returned_at=returned_at,
        unpaid=paid_at >= end,
        failed=failed,
        cancels=cancels,
        unshipped=shipped_at >= end,
        in_transit=delivered_at >= end,
        returns=returns,
    )
