"""PostgreSQL binary COPY rows built with numpy, a whole chunk at a time.

Binary COPY is both the cheapest format to produce from arrays (fixed-width fields are
one structured-array assignment each) and the cheapest for the server to parse
(no text-to-timestamp or text-to-numeric conversion). Variable-length fields (text,
NULLs) are written padded to the column's widest value and the padding is cut out
with one boolean mask over the chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"

POSTGRES_EPOCH = 946_684_800  # 2000-01-01 in Unix seconds: where timestamptz counts from

Kind = Literal["int8", "int4", "int2", "bool", "timestamptz", "numeric", "text"]

_FIXED_DTYPES = {
    "int8": ">i8",
    "int4": ">i4",
    "int2": ">i2",
    "bool": "u1",
    "timestamptz": ">i8",
    # numeric as ndigits, weight, sign, dscale and four base-10000 digits: every amount is
    # sent with the same layout; the server strips the leading zero digits.
    "numeric": (">u2", (8,)),
}
_NUMERIC_LIMIT = 10**14  # cents: four base-10000 digits hold 10^10 - 0.01 dollars


@dataclass(frozen=True)
class Field:
    """One column of a chunk.

    ``values`` by kind: integers for int8/int4/int2, booleans for bool, Unix seconds for
    timestamptz, integer cents for numeric (scale 2), a numpy ``S`` (UTF-8 bytes) array
    for text. ``nulls`` marks NULL rows.
    """

    name: str
    kind: Kind
    values: np.ndarray
    nulls: np.ndarray | None = None


@dataclass(frozen=True)
class CopyBatch:
    """Rows of one table in binary COPY format, without the header and trailer."""

    table: str
    columns: tuple[str, ...]
    rows: int
    data: bytes

    def statement(self) -> str:
        # FREEZE: the table was created in this transaction, so rows can be written frozen and
        # nobody has to set their hint bits (rewriting every page) on first read.
        columns = ", ".join(self.columns)
        return f"COPY {self.table} ({columns}) FROM STDIN (FORMAT binary, FREEZE)"


def encode_batch(table: str, fields: Sequence[Field]) -> CopyBatch:
    """Encode equally long ``fields`` as binary COPY rows of ``table``."""
    count = len(fields[0].values)
    if any(len(field.values) != count for field in fields):
        raise ValueError(f"{table}: fields of different lengths")
    layout: list[tuple[str, object]] = [("field_count", ">i2")]
    for index, field in enumerate(fields):
        if field.kind == "text":
            value_dtype: object = f"S{max(field.values.dtype.itemsize, 1)}"
        else:
            value_dtype = _FIXED_DTYPES[field.kind]
        layout += [(f"length{index}", ">i4"), (f"value{index}", value_dtype)]
    dtype = np.dtype(layout)  # packed: no alignment padding between fields
    offsets = {name: (spec[0].itemsize, spec[1]) for name, spec in (dtype.fields or {}).items()}
    records = np.empty(count, dtype=dtype)
    records["field_count"] = len(fields)

    drop: list[tuple[int, np.ndarray]] = []  # (field index, bytes of the padded value to cut)
    for index, field in enumerate(fields):
        length_name, value_name = f"length{index}", f"value{index}"
        width = offsets[value_name][0]
        if field.kind == "text":
            lengths = np.strings.str_len(field.values).astype(np.int32)
            records[value_name] = field.values
            if np.any(lengths < width):
                drop.append((index, np.arange(width) >= lengths[:, None]))
        else:
            lengths = np.full(count, width, dtype=np.int32)
            records[value_name] = _fixed_values(field)
        if field.nulls is not None and field.nulls.any():
            lengths = np.where(field.nulls, -1, lengths)
            null_mask = np.zeros((count, width), dtype=bool)
            null_mask[field.nulls] = True
            drop.append((index, null_mask))
        records[length_name] = lengths

    row_bytes = records.view(np.uint8).reshape(count, dtype.itemsize)
    if not drop:
        return CopyBatch(table, tuple(f.name for f in fields), count, row_bytes.tobytes())
    keep = np.ones((count, dtype.itemsize), dtype=bool)
    for index, cut in drop:
        offset = offsets[f"value{index}"][1]
        keep[:, offset : offset + cut.shape[1]] &= ~cut
    return CopyBatch(table, tuple(f.name for f in fields), count, row_bytes[keep].tobytes())


def _fixed_values(field: Field) -> np.ndarray:
    values = np.asarray(field.values)
    if field.kind == "timestamptz":
        return (values.astype(np.int64) - POSTGRES_EPOCH) * 1_000_000
    if field.kind == "numeric":
        return numeric_digits(values)
    return values


def numeric_digits(cents: np.ndarray) -> np.ndarray:
    """PostgreSQL's binary numeric of amounts given in cents: (n, 8) unsigned shorts."""
    cents = np.asarray(cents, dtype=np.int64)
    magnitude = np.abs(cents)
    if magnitude.size and int(magnitude.max()) >= _NUMERIC_LIMIT:
        raise ValueError("amount too large for the numeric encoder")
    whole, fraction = np.divmod(magnitude, 100)
    out = np.empty((len(cents), 8), dtype=np.uint16)
    out[:, 0] = 4  # ndigits
    out[:, 1] = 2  # weight: the first digit counts 10^8
    out[:, 2] = np.where(cents < 0, 0x4000, 0)
    out[:, 3] = 2  # dscale
    out[:, 4] = whole // 10**8 % 10**4
    out[:, 5] = whole // 10**4 % 10**4
    out[:, 6] = whole % 10**4
    out[:, 7] = fraction * 100
    return out


def text_array(values: Sequence[str] | np.ndarray) -> np.ndarray:
    """UTF-8 bytes of ``values`` as a numpy ``S`` array (the text field's input)."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "S":
        return values
    return np.array([str(value).encode() for value in values], dtype=bytes)
