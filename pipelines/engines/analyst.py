"""The `analyst` role of both engines: SELECT on the published marts, nothing else.

PostgreSQL: a login role with USAGE on `marts` and SELECT on its relations (the marts and
the seed's `mv_*` names), SELECT on `meta.refresh_log` (the dashboards' freshness banner),
`search_path = marts` (the seed's queries answer unqualified) and read-only transactions
by default. It has no privilege on `raw`, `staging`, `marts_next` or the shop's tables; the
embedded cluster also refuses its logins to the `shop` database (pg_hba.conf, see
:mod:`pipelines.engines.postgres`). Relations the publish moves into `marts` get the grant
in the publish transaction itself (:mod:`pipelines.defs.publish.marts`).

ClickHouse: on a real server, `CREATE USER analyst ... DEFAULT DATABASE marts` with
`GRANT SELECT ON marts.*` and on `meta.refresh_log`, read-only. The embedded chDB engine
has no writable user directory (CREATE USER is refused), so the endpoint enforces the same
role itself (:mod:`clickhouse_endpoint.analyst`).

The password comes from `ANALYST_PASSWORD`; the embedded engines default to
:data:`core.settings.EMBEDDED_DEFAULT_PASSWORD` (they listen on 127.0.0.1 only). It is never sent in
clear text in SQL: PostgreSQL gets a SCRAM verifier computed by libpq, ClickHouse a
salted SHA-256.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from core.settings import analyst_password
from core.vocabulary import ANALYST_ROLE, META_SCHEMA, PUBLISHED_SCHEMA, REFRESH_LOG_TABLE

log = logging.getLogger("shopmarts.analyst")

# What analysts may read besides the marts: when the marts were last published.
REFRESH_LOG = (META_SCHEMA, REFRESH_LOG_TABLE)
_ROLE_LOCK = 0x5EED_0A11  # serializes CREATE ROLE / GRANT between concurrent callers


def as_analyst(url: str) -> str:
    """``url`` (PostgreSQL or ClickHouse HTTP) with the analyst's user and password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    credentials = f"{ANALYST_ROLE}:{quote(analyst_password(), safe='')}@"
    return urlunsplit(parts._replace(netloc=credentials + host + port))


def postgres_role_exists(conn: psycopg.Connection) -> bool:
    """Whether the analyst role exists in this cluster."""
    row = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ANALYST_ROLE,)).fetchone()
    return row is not None


def ensure_postgres_analyst(conn: psycopg.Connection, *, manage_role: bool = True) -> bool:
    """Create or update the analyst role and its grants in the connected warehouse.

    Idempotent. With ``manage_role`` the role is created if missing and its password and
    settings are (re)set; without the privilege to do so (a real server whose roles a DBA
    manages), an existing role still gets its grants and a missing one is reported in the
    log. Returns whether the role exists afterwards. ``conn`` must be in autocommit mode.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ROLE_LOCK,))
        exists = postgres_role_exists(conn)
        if manage_role:
            try:
                with conn.transaction():
                    _manage_postgres_role(conn, exists)
                exists = True
            except psycopg.errors.InsufficientPrivilege as error:
                log.warning(
                    "cannot create or update the PostgreSQL role %s (%s); "
                    "create it as a superuser, the grants follow at the next publish",
                    ANALYST_ROLE,
                    str(error).strip().splitlines()[0],
                )
        if not exists:
            return False
        role = sql.Identifier(ANALYST_ROLE)
        # Only what is missing: a GRANT rewrites the catalog row even when it changes
        # nothing, and this runs before every publish.
        missing = conn.execute(
            """
            SELECT NOT has_database_privilege(%(role)s, current_database(), 'CONNECT'),
                   CASE WHEN to_regnamespace(%(marts)s) IS NULL THEN true
                        ELSE NOT has_schema_privilege(%(role)s, %(marts)s, 'USAGE') END,
                   CASE WHEN to_regclass(%(log)s) IS NULL THEN false
                        ELSE NOT (has_schema_privilege(%(role)s, %(meta)s, 'USAGE')
                                  AND has_table_privilege(%(role)s, %(log)s, 'SELECT')) END
            """,
            {
                "role": ANALYST_ROLE,
                "marts": PUBLISHED_SCHEMA,
                "meta": REFRESH_LOG[0],
                "log": ".".join(REFRESH_LOG),
            },
        ).fetchone()
        assert missing is not None
        connect, usage, refresh_log = missing
        if connect:
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(conn.info.dbname), role
                )
            )
        if usage:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(PUBLISHED_SCHEMA))
            )
            conn.execute(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    sql.Identifier(PUBLISHED_SCHEMA), role
                )
            )
        unreadable = conn.execute(
            """
            SELECT c.oid::regclass::text FROM pg_class c
            WHERE c.relnamespace = to_regnamespace(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND NOT has_table_privilege(%s, c.oid, 'SELECT')
            ORDER BY 1
            """,
            (PUBLISHED_SCHEMA, ANALYST_ROLE),
        ).fetchall()
        if unreadable:
            conn.execute(
                sql.SQL("GRANT SELECT ON TABLE {} TO {}").format(
                    sql.SQL(", ").join(sql.SQL(name) for (name,) in unreadable), role
                )
            )
        if refresh_log:
            conn.execute(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    sql.Identifier(REFRESH_LOG[0]), role
                )
            )
            conn.execute(
                sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(*REFRESH_LOG), role)
            )
    return True


def _manage_postgres_role(conn: psycopg.Connection, exists: bool) -> None:
    role = sql.Identifier(ANALYST_ROLE)
    if not exists:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
    # libpq computes the SCRAM verifier: the password itself never reaches the server.
    verifier = conn.pgconn.encrypt_password(
        analyst_password().encode(), ANALYST_ROLE.encode(), b"scram-sha-256"
    ).decode()
    conn.execute(
        sql.SQL(
            "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            "NOBYPASSRLS PASSWORD {}"
        ).format(role, sql.Literal(verifier))
    )
    # The seed's queries name the marts unqualified; reads only, even by mistake.
    conn.execute(
        sql.SQL("ALTER ROLE {} SET search_path = {}").format(role, sql.Identifier(PUBLISHED_SCHEMA))
    )
    conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))


def grant_postgres_select(conn: psycopg.Connection, relations: Sequence[sql.Composable]) -> None:
    """Inside the caller's transaction: SELECT on ``relations`` for the analyst, if the
    role exists (a publish moving relations into `marts` keeps the analyst's access)."""
    if not relations or not postgres_role_exists(conn):
        return
    conn.execute(
        sql.SQL("GRANT SELECT ON TABLE {} TO {}").format(
            sql.SQL(", ").join(relations), sql.Identifier(ANALYST_ROLE)
        )
    )


def clickhouse_analyst_statements(cluster: str = "") -> list[str]:
    """The statements creating the analyst user on a real ClickHouse server (idempotent);
    ``cluster`` is an ``ON CLUSTER`` clause (cluster mode), or empty."""
    salt = secrets.token_hex(16)
    digest = hashlib.sha256((analyst_password() + salt).encode()).hexdigest()
    identified = f"IDENTIFIED WITH sha256_hash BY '{digest}' SALT '{salt}'"
    return [
        f"CREATE USER IF NOT EXISTS {ANALYST_ROLE}{cluster} {identified} "
        f"DEFAULT DATABASE {PUBLISHED_SCHEMA} SETTINGS readonly = 2",
        f"ALTER USER {ANALYST_ROLE}{cluster} {identified} DEFAULT DATABASE {PUBLISHED_SCHEMA} "
        "SETTINGS readonly = 2",
        f"GRANT{cluster} SELECT ON {PUBLISHED_SCHEMA}.* TO {ANALYST_ROLE}",
        f"GRANT{cluster} SELECT ON {REFRESH_LOG[0]}.{REFRESH_LOG[1]} TO {ANALYST_ROLE}",
    ]
