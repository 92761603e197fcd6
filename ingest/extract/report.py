"""What one load of one table into one engine did, as the caller and the watermarks see it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from core.vocabulary import Engine
from ingest.extract.options import Mode

if TYPE_CHECKING:
    from ingest.extract.plan import LoadPlan


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


def load_report(
    plan: LoadPlan,
    watermark: datetime,
    method: str,
    rows: int,
    size: int,
    started: float,
    deleted: int | None = None,
) -> LoadReport:
    """The report of ``plan``'s load, begun at ``started`` (perf_counter) and done now.

    ``watermark`` is the snapshot's; it is kept only for tables an incremental run can
    use it for (a cursor column and a primary key).
    """
    has_cursor = plan.table.cursor_column is not None and bool(plan.table.primary_key)
    return LoadReport(
        table=plan.table.name,
        engine=plan.engine,
        mode=plan.mode,
        reason=plan.reason,
        method=method,
        rows=rows,
        bytes=size,
        seconds=time.perf_counter() - started,
        watermark=watermark if has_cursor else None,
        lower_bound=plan.lower_bound,
        cursor_column=plan.table.cursor_column,
        deleted=deleted,
    )


ProgressCallback = Callable[[LoadReport], None]
