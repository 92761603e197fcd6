"""Which relation exactly: the identity the gates record and the publish step checks.

PostgreSQL: ``oid:<oid>/<relfilenode>`` (a rebuild makes a new oid, a non-concurrent
REFRESH a new relfilenode). ClickHouse: ``uuid:<uuid>`` (dbt rebuilds a table under a new
uuid). The same identity before validation, after validation and at publish time proves
that what analysts get is what the gates checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient


@dataclass(frozen=True)
class PostgresRelation:
    oid: int
    relfilenode: int
    kind: str  # pg_class.relkind: r table, p partitioned, v view, m materialized view

    @property
    def identity(self) -> str:
        return f"oid:{self.oid}/{self.relfilenode}"


def postgres_relations(
    conn: psycopg.Connection, schema: str, names: Sequence[str]
) -> dict[str, PostgresRelation]:
    """The existing relations among ``schema.names``, by name."""
    rows = conn.execute(
        """
        SELECT c.relname, c.oid::bigint, c.relfilenode::bigint, c.relkind::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        """,
        (schema, list(names)),
    ).fetchall()
    return {name: PostgresRelation(oid, node, kind) for name, oid, node, kind in rows}


def clickhouse_uuids(
    client: ClickHouseClient, database: str, names: Sequence[str]
) -> dict[str, str]:
    """``uuid:<uuid>`` of each existing table among ``database.names``, by name."""
    rows = client.query(
        "SELECT name, toString(uuid) FROM system.tables "
        "WHERE database = %(database)s AND name IN %(names)s",
        parameters={"database": database, "names": list(names) or [""]},
    ).result_rows
    return {name: f"uuid:{uuid}" for name, uuid in rows}
