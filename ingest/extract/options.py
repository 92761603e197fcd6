"""What a caller chooses about one extract: the mode and the knobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from core.clickhouse_cluster import clickhouse_cluster

Mode = Literal["full", "incremental"]

# Environment variable: host:port of the warehouse PostgreSQL as ClickHouse sees it,
# for clickhouse_method="pull" against a real ClickHouse server.
CLICKHOUSE_PULL_HOST_VAR = "CLICKHOUSE_WAREHOUSE_HOST"


@dataclass(frozen=True)
class ExtractOptions:
    """Knobs of one extract; the defaults are the measured best on a small machine."""

    raw_schema: str = "raw"  # warehouse schema and ClickHouse database
    chunk_bytes: int = 1 << 20
    # Rows whose cursor is up to this much older than the stored watermark are read
    # again: covers writers whose clock or transaction start the snapshot could not see.
    safety_margin: timedelta = timedelta(minutes=5)
    workers: int = 2  # loads at once (each a pipeline of 3 processes: measured best on 2 cores)
    # "stream": the shop's text COPY passes through this process into ClickHouse
    # (measured fastest here); "pull": ClickHouse copies full loads from the
    # warehouse table just loaded, through postgresql() (needs the warehouse host
    # as ClickHouse sees it: clickhouse_pull_host or CLICKHOUSE_WAREHOUSE_HOST).
    clickhouse_method: Literal["stream", "pull"] = "stream"
    clickhouse_pull_host: str | None = None  # host:port; default CLICKHOUSE_WAREHOUSE_HOST
    # Incremental: also remove raw rows whose key the shop no longer has (a scan of
    # the key columns per table). Off, hard deletes wait for the next full extract.
    reconcile_deletes: bool = True
    # ClickHouse cluster every DDL runs ON CLUSTER (replicated engines); default: the
    # CLICKHOUSE_CLUSTER setting, read when the options are made (None: one server).
    clickhouse_cluster: str | None = field(default_factory=clickhouse_cluster)
