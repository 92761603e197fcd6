"""The refresh log: one row per refresh, in both engines, for the dashboards.

`meta.refresh_log` in the warehouse and in ClickHouse: when, which mode, whether every
gate passed, which marts were published, which gates and expectations failed. The publish
step writes it when it publishes; a failing gate writes it too (nothing published), so
the dashboards can say "the last refresh failed its gates; the marts shown are from ...".
A run that ends before any gate decided (an extract or dbt error, a killed run worker, a
terminated run) gets its row from the refresh jobs' run-status sensors, status `failed`
(see :func:`record_ended_run`): every refresh that ends has a row, published or not.

Several writers may report on one run (two gates failing in parallel): the warehouse row
is upserted (lists merged) under an advisory lock, then copied to ClickHouse, where the
table is a ReplacingMergeTree collapsed right away, so a plain `SELECT *` sees one row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import psycopg

from core.clickhouse_cluster import clickhouse_cluster, on_cluster, table_engine
from core.clients import clickhouse_client
from core.settings import Environment

_LOG_LOCK = 0x5EED_0D03

# Worse outcomes win when several writers report on one run.
_STATUS_RANK = {"published": 0, "publish_failed": 1, "gate_failed": 2}
# A run that ended before a gate decided: written only where no other writer reported.
ENDED_BEFORE_A_GATE = "failed"

_POSTGRES_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.refresh_log (
    run_id text PRIMARY KEY,
    refreshed_at timestamp NOT NULL,  -- UTC
    mode text NOT NULL,
    status text NOT NULL,
    gates_passed boolean NOT NULL,
    marts_published text[] NOT NULL DEFAULT '{}',
    gates_failed text[] NOT NULL DEFAULT '{}',
    failing_expectations text[] NOT NULL DEFAULT '{}',
    publish_seconds double precision,
    detail text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS refresh_log_refreshed_at_idx ON meta.refresh_log (refreshed_at DESC);
"""

_CLICKHOUSE_DDL = """
CREATE TABLE IF NOT EXISTS meta.refresh_log{on_cluster} (
    run_id String,
    refreshed_at DateTime64(3),
    mode LowCardinality(String),
    status LowCardinality(String),
    gates_passed Bool,
    marts_published Array(String),
    gates_failed Array(String),
    failing_expectations Array(String),
    publish_seconds Nullable(Float64),
    detail String,
    version UInt64
) ENGINE = {engine}
"""
_CLICKHOUSE_ENGINE = "ReplacingMergeTree(version) ORDER BY run_id"


def clickhouse_refresh_log_ddl(cluster: str | None) -> list[str]:
    """The ClickHouse refresh log's DDL; on a ``cluster``, ON CLUSTER and replicated."""
    return [
        f"CREATE DATABASE IF NOT EXISTS meta{on_cluster(cluster)}",
        _CLICKHOUSE_DDL.format(
            on_cluster=on_cluster(cluster), engine=table_engine(_CLICKHOUSE_ENGINE, cluster)
        ),
    ]


_COLUMNS = (
    "run_id",
    "refreshed_at",
    "mode",
    "status",
    "gates_passed",
    "marts_published",
    "gates_failed",
    "failing_expectations",
    "publish_seconds",
    "detail",
)


@dataclass
class RefreshOutcome:
    """What one refresh did, as far as one writer knows."""

    run_id: str
    mode: str  # the run's plan: "nightly" or "hourly"
    status: str  # "published", "gate_failed", "publish_failed" or "failed"
    marts_published: Sequence[str] = ()
    gates_failed: Sequence[str] = ()
    failing_expectations: Sequence[str] = ()
    publish_seconds: float | None = None
    detail: str = ""
    refreshed_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None)
    )

    @property
    def gates_passed(self) -> bool:
        """Whether every gate passed: a run that ended before its gates passed none."""
        return self.status in ("published", "publish_failed")


def record_refresh(environment: Environment, outcome: RefreshOutcome) -> dict[str, object]:
    """Write (or merge into) the run's row in both engines; returns the merged row."""
    if outcome.status not in _STATUS_RANK:
        raise ValueError(f"unknown refresh status {outcome.status!r}")
    return _write_locked(environment, lambda conn: _upsert(conn, outcome))


def record_ended_run(
    environment: Environment, outcome: RefreshOutcome
) -> tuple[bool, dict[str, object]]:
    """Give a run that ended unpublished its row (status `failed`), unless a gate or the
    publish step already wrote one: their account (which gate, which expectations) stands.

    Idempotent per run id, so a sensor evaluated again writes nothing twice. Returns
    (whether this call wrote the row, the run's row as it now is). The ClickHouse copy is
    written again either way: a copy an earlier call could not write lands now.
    """
    if outcome.status != ENDED_BEFORE_A_GATE:
        raise ValueError(f"record_ended_run writes status {ENDED_BEFORE_A_GATE!r} only")
    inserted = False

    def insert_if_absent(conn: psycopg.Connection) -> dict[str, object]:
        nonlocal inserted
        inserted = (
            conn.execute(
                """
                INSERT INTO meta.refresh_log (run_id, refreshed_at, mode, status,
                    gates_passed, marts_published, gates_failed, failing_expectations,
                    publish_seconds, detail)
                VALUES (%(run_id)s, %(refreshed_at)s, %(mode)s, %(status)s,
                    %(gates_passed)s, %(marts_published)s, %(gates_failed)s,
                    %(failing_expectations)s, %(publish_seconds)s, %(detail)s)
                ON CONFLICT (run_id) DO NOTHING
                RETURNING run_id
                """,
                _row_parameters(outcome),
            ).fetchone()
            is not None
        )
        values = conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM meta.refresh_log WHERE run_id = %s",
            (outcome.run_id,),
        ).fetchone()
        assert values is not None
        return dict(zip(_COLUMNS, values, strict=True))

    row = _write_locked(environment, insert_if_absent)
    return inserted, row


def _write_locked(
    environment: Environment, write: Callable[[psycopg.Connection], dict[str, object]]
) -> dict[str, object]:
    """Run ``write`` (which returns the run's row) under the log's lock, then copy the row
    to ClickHouse before releasing it, so copies land in the order the rows were written."""
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOG_LOCK,))
            conn.execute(_POSTGRES_DDL)
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOG_LOCK,))
        try:
            row = write(conn)
            _copy_to_clickhouse(environment.clickhouse_url, row)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOG_LOCK,))
    return row


def _row_parameters(outcome: RefreshOutcome) -> dict[str, object]:
    """The outcome as the refresh log's column values (lists deduplicated, in order)."""
    return {
        "run_id": outcome.run_id,
        "refreshed_at": outcome.refreshed_at,
        "mode": outcome.mode,
        "status": outcome.status,
        "gates_passed": outcome.gates_passed,
        "marts_published": sorted(set(outcome.marts_published)),
        "gates_failed": sorted(set(outcome.gates_failed)),
        "failing_expectations": list(dict.fromkeys(outcome.failing_expectations)),
        "publish_seconds": outcome.publish_seconds,
        "detail": outcome.detail,
    }


def _upsert(conn: psycopg.Connection, outcome: RefreshOutcome) -> dict[str, object]:
    ranks = list(_STATUS_RANK)
    cursor = conn.execute(
        """
        INSERT INTO meta.refresh_log AS log (run_id, refreshed_at, mode, status, gates_passed,
            marts_published, gates_failed, failing_expectations, publish_seconds, detail)
        VALUES (%(run_id)s, %(refreshed_at)s, %(mode)s, %(status)s, %(gates_passed)s,
            %(marts_published)s, %(gates_failed)s, %(failing_expectations)s,
            %(publish_seconds)s, %(detail)s)
        ON CONFLICT (run_id) DO UPDATE SET
            refreshed_at = greatest(log.refreshed_at, excluded.refreshed_at),
            status = CASE WHEN array_position(%(ranks)s::text[], excluded.status)
                             > array_position(%(ranks)s::text[], log.status)
                          THEN excluded.status ELSE log.status END,
            gates_passed = log.gates_passed AND excluded.gates_passed,
            marts_published = ARRAY(SELECT DISTINCT unnest(
                log.marts_published || excluded.marts_published) ORDER BY 1),
            gates_failed = ARRAY(SELECT DISTINCT unnest(
                log.gates_failed || excluded.gates_failed) ORDER BY 1),
            failing_expectations = log.failing_expectations || ARRAY(
                SELECT unnest(excluded.failing_expectations)
                EXCEPT SELECT unnest(log.failing_expectations)),
            publish_seconds = coalesce(excluded.publish_seconds, log.publish_seconds),
            detail = concat_ws(' | ', nullif(log.detail, ''), nullif(excluded.detail, ''))
        RETURNING run_id, refreshed_at, mode, status, gates_passed, marts_published,
            gates_failed, failing_expectations, publish_seconds, detail
        """,
        {**_row_parameters(outcome), "ranks": ranks},
    )
    values = cursor.fetchone()
    assert values is not None
    return dict(zip(_COLUMNS, values, strict=True))


def _copy_to_clickhouse(clickhouse_url: str, row: Mapping[str, object]) -> None:
    with clickhouse_client(clickhouse_url) as client:
        for statement in clickhouse_refresh_log_ddl(clickhouse_cluster()):
            client.command(statement)
        version = int(dt.datetime.now(dt.UTC).timestamp() * 1_000_000)
        client.insert(
            "meta.refresh_log",
            [[row[name] for name in _COLUMNS] + [version]],
            column_names=[*_COLUMNS, "version"],
        )
        # One row per run for readers that do not say FINAL (the dashboards).
        client.command("OPTIMIZE TABLE meta.refresh_log FINAL")


def latest_refreshes(environment: Environment, limit: int = 20) -> list[dict[str, object]]:
    """The newest rows of the warehouse's refresh log."""
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('meta.refresh_log') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        rows = conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM meta.refresh_log "
            "ORDER BY refreshed_at DESC LIMIT %s",
            (limit,),
        ).fetchall()
    return [dict(zip(_COLUMNS, values, strict=True)) for values in rows]
