"""The audit log of the generated history: each order's placement and status steps.

The trigger logs whole rows once the shop runs; the generated history keeps, per step,
the fields the step changed, written with COPY along with the orders. Rows are buffered
until every earlier change has been drawn, so audit ids follow the time of the change.
JSON is built with numpy byte-string operations (no Python loop per row).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.shop.copy import CopyBatch, Field, encode_batch, text_array
from ingest.shop.fulfilment import (
    CANCELLED,
    DELIVERED,
    ORDER_STATUSES,
    PAY_COMPLETED,
    PAY_FAILED,
    PAY_PENDING,
    PAY_REFUNDED,
    PAYMENT_STATUSES,
    PENDING,
    PROCESSING,
    RETURNED,
    SHIPPED,
    Fulfilment,
)

# The steps of an order's history, in the order they sort within one instant.
AUDIT_STEPS = ("placed", "paid", "payment_failed", "cancelled", "shipped", "delivered", "returned")
# The status steps after placement: the orders that took the step (a Fulfilment mask),
# when (a Fulfilment time), and (order status, payment status) before and after.
AUDIT_TRANSITIONS = (
    ("paid", "paid_ok", "paid_at", (PENDING, PAY_PENDING), (PROCESSING, PAY_COMPLETED)),
    ("payment_failed", "paid_failed", "paid_at", (PENDING, PAY_PENDING), (CANCELLED, PAY_FAILED)),
    ("cancelled", "cancelled_by_customer", "cancelled_at", (PROCESSING, PAY_COMPLETED),
     (CANCELLED, PAY_REFUNDED)),
    ("shipped", "has_shipped", "shipped_at", (PROCESSING, PAY_COMPLETED),
     (SHIPPED, PAY_COMPLETED)),
    ("delivered", "has_arrived", "delivered_at", (SHIPPED, PAY_COMPLETED),
     (DELIVERED, PAY_COMPLETED)),
    ("returned", "returned", "returned_at", (DELIVERED, PAY_COMPLETED), (RETURNED, PAY_REFUNDED)),
)  # fmt: skip
TIMESTAMP_STEPS = ("shipped", "delivered")  # steps that fill a <step>_at column
_STATUS_TEXT = text_array(ORDER_STATUSES)
_PAYMENT_TEXT = text_array(PAYMENT_STATUSES)


def _json_text(values: np.ndarray) -> np.ndarray:
    """JSON strings of UTF-8 ``S`` values (no quotes or backslashes in them)."""
    return np.char.add(np.char.add(b'"', values), b'"')


def _json_number(values: np.ndarray) -> np.ndarray:
    """JSON numbers of integers."""
    return np.asarray(values, dtype=np.int64).astype("S20")


def _json_money(cents: np.ndarray) -> np.ndarray:
    """JSON numbers with two decimals of amounts in cents."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = (cents // 100).astype("S20")
    return np.char.add(np.char.add(whole, b"."), np.char.zfill((cents % 100).astype("S2"), 2))


def _json_time(seconds: np.ndarray) -> np.ndarray:
    """Timestamps as to_jsonb writes a timestamptz in UTC."""
    text = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("S19")
    return _json_text(np.char.add(text, b"+00:00"))


def _json_objects(pairs: list[tuple[bytes, np.ndarray]]) -> np.ndarray:
    """``{"key": value, ...}`` per row, from already JSON-encoded value arrays, prefixed
    with the jsonb binary format's version byte (1)."""
    out = np.char.add(b'\x01{"' + pairs[0][0] + b'": ', pairs[0][1])
    for key, values in pairs[1:]:
        out = np.char.add(np.char.add(out, b', "' + key + b'": '), values)
    return np.char.add(out, b"}")


def _with_timestamp(objects: np.ndarray, key: str, seconds: np.ndarray) -> np.ndarray:
    """``objects`` with one more field ``key``: a timestamp."""
    return np.char.add(
        np.char.rstrip(objects, b"}"),
        np.char.add(np.char.add(f', "{key}": '.encode(), _json_time(seconds)), b"}"),
    )


@dataclass
class _PendingAudit:
    """Audit rows drawn but not yet written: ids follow the time of the change."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, new: dict[str, np.ndarray]) -> None:
        """Buffer ``new`` rows (columns by name)."""
        if not len(new["record_id"]):
            return
        if not self.columns:
            self.columns = new
        else:
            self.columns = {k: np.concatenate((self.columns[k], new[k])) for k in new}

    def release(self, before: int) -> dict[str, np.ndarray]:
        """The rows changed before ``before``, in time order, removed from the buffer."""
        if not self.columns:
            return {}
        ready = self.columns["changed_at"] < before
        out = {k: v[ready] for k, v in self.columns.items()}
        self.columns = {k: v[~ready] for k, v in self.columns.items()}
        order = np.lexsort((out["step"], out["record_id"], out["changed_at"]))
        return {k: v[order] for k, v in out.items()} if len(order) else {}


class AuditHistory:
    """The audit log of the generated orders, added chunk by chunk, released in time order."""

    def __init__(self) -> None:
        self.next_id = 1
        self._pending = _PendingAudit()

    def add(
        self,
        order_ids: np.ndarray,
        customer_ids: np.ndarray,
        total: np.ndarray,
        fulfilment: Fulfilment,
    ) -> None:
        """Buffer each order's placement and status steps up to the end of the history."""
        count, times = len(order_ids), fulfilment.placed_at

        def state(order_status: int, payment_status: int, rows: int) -> np.ndarray:
            return _json_objects([
                (b"order_status", _json_text(np.full(rows, _STATUS_TEXT[order_status]))),
                (b"payment_status", _json_text(np.full(rows, _PAYMENT_TEXT[payment_status]))),
            ])  # fmt: skip

        inserted = _json_objects([
            (b"order_id", _json_number(order_ids)),
            (b"customer_id", _json_number(customer_ids)),
            (b"order_date", _json_time(times)),
            (b"order_status", _json_text(np.full(count, _STATUS_TEXT[PENDING]))),
            (b"payment_status", _json_text(np.full(count, _PAYMENT_TEXT[PAY_PENDING]))),
            (b"total_amount", _json_money(total)),
        ])  # fmt: skip
        self._pending.add({
            "record_id": order_ids, "action": np.full(count, b"INSERT"),
            "old_values": np.full(count, b""), "old_null": np.ones(count, dtype=bool),
            "new_values": inserted, "changed_at": times,
            "step": np.full(count, AUDIT_STEPS.index("placed")),
        })  # fmt: skip
        for step, mask, moment, before, after in AUDIT_TRANSITIONS:
            chosen = getattr(fulfilment, mask)
            at = getattr(fulfilment, moment)[chosen]
            new_values = state(*after, len(at))
            if step in TIMESTAMP_STEPS:
                # The timestamp column the step fills, as the trigger's row image has it.
                new_values = _with_timestamp(new_values, f"{step}_at", at)
            self._pending.add({
                "record_id": order_ids[chosen], "action": np.full(len(at), b"UPDATE"),
                "old_values": state(*before, len(at)), "old_null": np.zeros(len(at), dtype=bool),
                "new_values": new_values, "changed_at": at,
                "step": np.full(len(at), AUDIT_STEPS.index(step)),
            })  # fmt: skip

    def release(self, before: int) -> CopyBatch | None:
        """The buffered rows changed before ``before`` as binary COPY (None: none)."""
        rows = self._pending.release(before)
        if not rows:
            return None
        batch = _audit_batch(self.next_id, rows)
        self.next_id += batch.rows
        return batch


def _audit_batch(first_id: int, rows: dict[str, np.ndarray]) -> CopyBatch:
    count = len(rows["record_id"])
    return encode_batch("audit_log", [
        Field("audit_id", "int8", np.arange(first_id, first_id + count, dtype=np.int64)),
        Field("table_name", "text", np.full(count, b"orders")),
        Field("record_id", "int8", rows["record_id"]),
        Field("action", "text", rows["action"]),
        Field("old_values", "text", rows["old_values"], rows["old_null"]),
        Field("new_values", "text", rows["new_values"]),
        Field("changed_at", "timestamptz", rows["changed_at"]),
    ])  # fmt: skip
