"""What one load of one table into one engine did, as the caller and the watermarks see it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.vocabulary import Engine
from ingest.extract.options import Mode


@dataclass(frozen=True)
class LoadReport:
    """What one load of one table into one engine did."""

    table: str
    engine: Engine
    mode: Mode
    reason: str  # why this mode, e.g. "requested", "first load", "column added: x"
    method: str
    rows: int
    bytes: int  # bytes read from the shop (or from the warehouse, for a pull)
    seconds: float
    watermark: datetime | None  # stored for the next incremental run
    lower_bound: datetime | None  # incremental: rows with cursor >= this were read
    cursor_column: str | None
    # Incremental: rows whose key is gone from the shop (hard deletes), removed from raw.
    deleted: int | None = None


ProgressCallback = Callable[[LoadReport], None]
