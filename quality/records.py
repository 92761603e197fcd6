"""What the gates remember, in the warehouse's `meta` schema.

- `meta.gate_results`: every suite's outcome per run, with the identity (Postgres oid,
  ClickHouse uuid) of the relation it validated. The publish step moves only relations
  whose exact identity passed every gate of its run.
- `meta.raw_row_counts`: row counts of the last raw load that passed its gate, per engine
  and table, for the "no sharp drop" rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

if TYPE_CHECKING:  # quality.results imports Great Expectations, slow to load
    from quality.results import GateResult

GATE_RESULTS_RETENTION_DAYS = 90
_DDL_LOCK = 0x5EED_0D01  # serializes CREATE ... IF NOT EXISTS of the gate tables

_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.gate_results (
    run_id text NOT NULL,
    gate text NOT NULL,
    engine text NOT NULL,
    subject text NOT NULL,
    passed boolean NOT NULL,
    relation text,
    relation_identity text,
    evaluated integer NOT NULL,
    failing jsonb NOT NULL DEFAULT '[]'::jsonb,
    row_count bigint,
    checked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, gate, engine, subject)
);
CREATE TABLE IF NOT EXISTS meta.raw_row_counts (
    engine text NOT NULL,
    table_name text NOT NULL,
    row_count bigint NOT NULL,
    run_id text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (engine, table_name)
);
"""


def ensure_meta_schema(conn: psycopg.Connection) -> None:
    """Create the gate tables if missing (concurrent callers wait for one another)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
        conn.execute(_DDL)


@dataclass(frozen=True)
class GateRecord:
    """One stored suite outcome."""

    gate: str
    engine: str
    subject: str
    passed: bool
    relation: str | None
    relation_identity: str | None
    failing: list[dict[str, Any]]


def record_gate(warehouse_url: str, run_id: str, result: GateResult) -> None:
    """Store every suite outcome of ``result`` for ``run_id`` (a rerun overwrites)."""
    rows = [
        (
            run_id,
            result.gate,
            result.engine,
            outcome.table,
            outcome.success,
            outcome.relation,
            outcome.relation_identity,
            outcome.evaluated,
            Jsonb([failure.as_dict() for failure in outcome.failures]),
            outcome.row_count,
        )
        for outcome in result.outcomes
    ]
    record_rows(warehouse_url, rows)


def record_rows(warehouse_url: str, rows: list[tuple[Any, ...]]) -> None:
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        ensure_meta_schema(conn)
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                """
                INSERT INTO meta.gate_results (run_id, gate, engine, subject, passed, relation,
                    relation_identity, evaluated, failing, row_count)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (run_id, gate, engine, subject) DO UPDATE SET
                    passed = excluded.passed, relation = excluded.relation,
                    relation_identity = excluded.relation_identity,
                    evaluated = excluded.evaluated, failing = excluded.failing,
                    row_count = excluded.row_count, checked_at = now()
                """,
                rows,
            )
            cursor.execute(
                "DELETE FROM meta.gate_results "
                "WHERE checked_at < now() - make_interval(days => %s)",
                (GATE_RESULTS_RETENTION_DAYS,),
            )


def gate_records(warehouse_url: str, run_id: str) -> list[GateRecord]:
    """Everything the gates of ``run_id`` stored."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        ensure_meta_schema(conn)
        rows = conn.execute(
            """
            SELECT gate, engine, subject, passed, relation, relation_identity, failing
            FROM meta.gate_results WHERE run_id = %s ORDER BY gate, engine, subject
            """,
            (run_id,),
        ).fetchall()
    return [
        GateRecord(
            gate,
            engine,
            subject,
            passed,
            relation,
            identity,
            failing if isinstance(failing, list) else json.loads(failing),
        )
        for gate, engine, subject, passed, relation, identity, failing in rows
    ]


def last_good_counts(warehouse_url: str, engine: str) -> dict[str, int]:
    """Row counts of the last raw load of each table that passed the gate on ``engine``."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        ensure_meta_schema(conn)
        rows = conn.execute(
            "SELECT table_name, row_count FROM meta.raw_row_counts WHERE engine = %s", (engine,)
        ).fetchall()
    return {table: int(count) for table, count in rows}


def remember_good_counts(
    warehouse_url: str, engine: str, counts: Mapping[str, int], run_id: str | None
) -> None:
    """Make ``counts`` the baseline of the row-count rule (called when a raw gate passes)."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        ensure_meta_schema(conn)
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                """
                INSERT INTO meta.raw_row_counts (engine, table_name, row_count, run_id)
                VALUES (%s, %s, %s, %s)
                ON CONFLICT (engine, table_name) DO UPDATE SET row_count = excluded.row_count,
                    run_id = excluded.run_id, recorded_at = now()
                """,
                [(engine, table, count, run_id) for table, count in counts.items()],
            )


def forget_good_counts(warehouse_url: str, engine: str | None = None) -> None:
    """Drop the row-count baseline (e.g. after deliberately regenerating a smaller shop)."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        ensure_meta_schema(conn)
        if engine is None:
            conn.execute("DELETE FROM meta.raw_row_counts")
        else:
            conn.execute("DELETE FROM meta.raw_row_counts WHERE engine = %s", (engine,))
