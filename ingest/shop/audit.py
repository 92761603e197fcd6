"""The audit log of the generated history: each order's placement and status steps.

The trigger logs whole rows once the shop runs; the generated history keeps, per step,
the fields the step changed, written with COPY along with the orders. Rows are buffered
until every earlier change has been drawn, so audit ids follow the time of the change.
JSON is built with numpy byte-string operations (no Python loop per row).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.shop.copy import CopyBatch, Field, encode_batch

# The steps of an order's history, in the order they sort within one instant.
AUDIT_STEPS = ("placed", "paid", "payment_failed", "cancelled", "shipped", "delivered", "returned")


def json_text(values: np.ndarray) -> np.ndarray:
    """JSON strings of UTF-8 ``S`` values (no quotes or backslashes in them)."""
    return np.char.add(np.char.add(b'"', values), b'"')


def json_number(values: np.ndarray) -> np.ndarray:
    """JSON numbers of integers."""
    return np.asarray(values, dtype=np.int64).astype("S20")


def json_money(cents: np.ndarray) -> np.ndarray:
    """JSON numbers with two decimals of amounts in cents."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = (cents // 100).astype("S20")
    return np.char.add(np.char.add(whole, b"."), np.char.zfill((cents % 100).astype("S2"), 2))


def json_time(seconds: np.ndarray) -> np.ndarray:
    """Timestamps as to_jsonb writes a timestamptz in UTC."""
    text = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("S19")
    return json_text(np.char.add(text, b"+00:00"))


def json_objects(pairs: list[tuple[bytes, np.ndarray]]) -> np.ndarray:
    """``{"key": value, ...}`` per row, from already JSON-encoded value arrays, prefixed
    with the jsonb binary format's version byte (1)."""
    out = np.char.add(b'\x01{"' + pairs[0][0] + b'": ', pairs[0][1])
    for key, values in pairs[1:]:
        out = np.char.add(np.char.add(out, b', "' + key + b'": '), values)
    return np.char.add(out, b"}")


def with_timestamp(objects: np.ndarray, key: str, seconds: np.ndarray) -> np.ndarray:
    """``objects`` with one more field ``key``: a timestamp."""
    return np.char.add(
        np.char.rstrip(objects, b"}"),
        np.char.add(np.char.add(f', "{key}": '.encode(), json_time(seconds)), b"}"),
    )


@dataclass
class PendingAudit:
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


def audit_rows_batch(first_id: int, rows: dict[str, np.ndarray]) -> CopyBatch:
    """The binary COPY of released audit rows, ids from ``first_id``."""
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
