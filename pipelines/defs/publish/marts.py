"""Publishing: the validated shadow marts change places with the published ones.

dbt builds the marts a run refreshes into the shadow (`marts_next`); the gates validate
them; then exactly those marts move into `marts`. Marts the run did not rebuild stay
published as they were.

PostgreSQL: one transaction drops the published relations being replaced and moves the
shadow ones in with `ALTER ... SET SCHEMA` (indexes, statistics and comments move with
them). Readers of `marts` see either every old mart or every new one, never a mix. The
transaction runs with a short `lock_timeout`: if an analyst's query holds a mart, the
attempt gives up within that time (so queries queued behind it wait no longer than that),
backs off and tries again until the deadline.

ClickHouse: `EXCHANGE TABLES marts_next.x AND marts.x, ...` in one statement (RENAME for a
mart published for the first time), then the old tables, now in the shadow, are dropped.
Queries already running keep reading the table they opened.

The seed's names (`mv_daily_sales`, ...) are views in `marts` over the marts. A
PostgreSQL view binds to the relation it was created over, not to its name, so a view
over a replaced mart would keep pointing at the old relation (and DROP would refuse to
drop it). The swap transaction therefore drops the seed views of the marts it replaces
and creates them again over the new relations, with the analyst's grant: a reader
blocked on a view during the swap resolves the name again once it commits and reads the
new mart. ClickHouse views resolve their tables by name at query time and follow the
exchange; they are created when missing and replaced when their columns no longer match
their mart's.

Only the relation that passed the gates may be published: each mart's shadow must still
be the relation whose identity (Postgres oid and relfilenode, ClickHouse uuid) the gate
recorded. A publish that finds a mart already in place with that identity skips it, so a
retried or resumed publish never swaps a mart back.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import psycopg
from clickhouse_connect.driver.client import Client as ClickHouseClient
from psycopg import sql

from core.clickhouse_cluster import clickhouse_cluster, on_cluster
from core.clients import clickhouse_client
from core.errors import ShopmartsError
from core.settings import Environment
from core.vocabulary import MARTS, PUBLISHED_SCHEMA, SHADOW_SCHEMA
from pipelines.engines.analyst import (
    clickhouse_analyst_statements,
    ensure_postgres_analyst,
    grant_postgres_select,
)
from quality.identity import PostgresRelation, clickhouse_uuids, postgres_relations

log = logging.getLogger("shopmarts.publish")

_SCHEMA_LOCK = 0x5EED_0D02  # serializes CREATE SCHEMA IF NOT EXISTS

# The seed's names of the marts (seed 003, "Analytics Layer"): view name -> mart.
SEED_VIEWS: dict[str, str] = {
    f"mv_{mart}": mart
    for mart in (
        "customer_analytics",
        "product_performance",
        "daily_sales",
        "category_performance",
        "customer_segments",
        "monthly_revenue",
        "inventory_status",
    )
}

# How a relation kind is named in DROP / ALTER.
_KIND_SQL = {
    "m": "MATERIALIZED VIEW",
    "r": "TABLE",
    "p": "TABLE",
    "v": "VIEW",
    "f": "FOREIGN TABLE",
}


class PublishError(ShopmartsError):
    """Publishing refused or failed; nothing changed in the engine that raised it."""


@dataclass(frozen=True)
class PublishOptions:
    """Knobs of the Postgres swap."""

    lock_timeout_ms: int = 100  # longest a reader queued behind one attempt can wait
    statement_timeout_ms: int = 30_000
    deadline_seconds: float = 300.0  # give up (nothing published) after this long


@dataclass
class EnginePublish:
    """What one engine's publish did."""

    engine: str
    published: list[str] = field(default_factory=list)
    already_published: list[str] = field(default_factory=list)
    attempts: int = 0
    seconds: float = 0.0  # the swap itself (Postgres: the successful transaction)
    total_seconds: float = 0.0  # including ANALYZE, retries and clean-up


def _ensure_schema(conn: psycopg.Connection, schema: str) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def publish_postgres(
    warehouse_url: str,
    marts: Sequence[str],
    *,
    expected: Mapping[str, str] | None = None,
    shadow: str = SHADOW_SCHEMA,
    published: str = PUBLISHED_SCHEMA,
    options: PublishOptions | None = None,
) -> EnginePublish:
    """Move ``marts`` from ``shadow`` into ``published`` in one transaction.

    ``expected``: mart -> identity the gate validated; a shadow that is not that
    relation is refused (PublishError, nothing changed).
    """
    options = options or PublishOptions()
    report = EnginePublish("postgres")
    started = time.perf_counter()
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        _ensure_schema(conn, published)
        # The analyst role and its schema grants (idempotent; on a real server without
        # CREATEROLE an existing role still gets its grants).
        ensure_postgres_analyst(conn)
        # No ANALYZE here: each mart's build analyzed it, and the statistics move with it
        # (dbt_project/macros/materializations/postgres_materialized_view.sql).
        deadline = time.monotonic() + options.deadline_seconds
        while True:
            report.attempts += 1
            attempt_started = time.perf_counter()
            try:
                with conn.transaction():
                    conn.execute(
                        sql.SQL("SET LOCAL lock_timeout = {}").format(
                            sql.Literal(f"{options.lock_timeout_ms}ms")
                        )
                    )
                    conn.execute(
                        sql.SQL("SET LOCAL statement_timeout = {}").format(
                            sql.Literal(f"{options.statement_timeout_ms}ms")
                        )
                    )
                    moved, already = _swap_postgres(conn, marts, expected, shadow, published)
                report.seconds = time.perf_counter() - attempt_started
                report.published, report.already_published = moved, already
                break
            except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as error:
                if time.monotonic() > deadline:
                    raise PublishError(
                        f"could not publish {', '.join(marts)} in PostgreSQL within "
                        f"{options.deadline_seconds:.0f}s: the marts stayed in use "
                        f"({type(error).__name__}); nothing was published there"
                    ) from error
                # Let the queued readers through, then try again (jittered, growing).
                time.sleep(min(2.0, 0.05 * 2 ** min(report.attempts, 5)) * random.uniform(0.5, 1.5))
    report.total_seconds = time.perf_counter() - started
    return report


def _swap_postgres(
    conn: psycopg.Connection,
    marts: Sequence[str],
    expected: Mapping[str, str] | None,
    shadow: str,
    published: str,
) -> tuple[list[str], list[str]]:
    """Inside the caller's transaction: replace the published marts by the shadow ones."""
    shadows = postgres_relations(conn, shadow, marts)
    current = postgres_relations(conn, published, marts)
    to_move: list[str] = []
    already: list[str] = []
    for mart in marts:
        want = (expected or {}).get(mart)
        if mart not in shadows:
            if want is not None and mart in current and current[mart].identity == want:
                already.append(mart)  # an earlier attempt of this publish committed it
                continue
            raise PublishError(f"PostgreSQL: {shadow}.{mart} does not exist; nothing to publish")
        if want is not None and shadows[mart].identity != want:
            raise PublishError(
                f"PostgreSQL: {shadow}.{mart} is not the relation the gates validated "
                f"({shadows[mart].identity}, validated {want}); nothing was published"
            )
        to_move.append(mart)
    if not to_move:
        _ensure_seed_views_postgres(conn, published, [])
        return [], already

    # The seed views over the marts being replaced go first (they depend on them) and
    # come back over the new relations below, in this same transaction.
    stale_views = [view for view, mart in SEED_VIEWS.items() if mart in to_move]
    if stale_views:
        conn.execute(
            sql.SQL("DROP VIEW IF EXISTS {}").format(
                sql.SQL(", ").join(sql.Identifier(published, view) for view in stale_views)
            )
        )
    replaced = [current[m] for m in to_move if m in current]
    if replaced:
        # Objects outside the marts being replaced that depend on them (an analyst's view,
        # say) would have to be dropped with them: refuse instead.
        outsiders = conn.execute(
            """
            SELECT DISTINCT n.nspname || '.' || c.relname
            FROM pg_depend d
            JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
            JOIN pg_class c ON c.oid = r.ev_class
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(%(old)s)
              AND NOT c.oid = ANY(%(old)s)
            ORDER BY 1
            """,
            {"old": [r.oid for r in replaced]},
        ).fetchall()
        if outsiders:
            raise PublishError(
                "PostgreSQL: objects depend on the published marts being replaced and would "
                f"be dropped with them: {', '.join(row[0] for row in outsiders)}; "
                "nothing was published"
            )
        for mart in to_move:
            if mart in current:
                _copy_grants(conn, current[mart].oid, sql.Identifier(shadow, mart), shadows[mart])
        # One DROP per kind: dependencies among the dropped marts themselves are allowed.
        for kind in sorted({r.kind for r in replaced}):
            names = [
                sql.Identifier(published, m)
                for m in to_move
                if m in current and current[m].kind == kind
            ]
            conn.execute(
                sql.SQL("DROP {} {}").format(sql.SQL(_KIND_SQL[kind]), sql.SQL(", ").join(names))
            )
    for mart in to_move:
        conn.execute(
            sql.SQL("ALTER {} {} SET SCHEMA {}").format(
                sql.SQL(_KIND_SQL[shadows[mart].kind]),
                sql.Identifier(shadow, mart),
                sql.Identifier(published),
            )
        )
    # The locks are held now: the published marts must be exactly the ones validated.
    now_published = postgres_relations(conn, published, to_move)
    for mart in to_move:
        if now_published[mart].identity != shadows[mart].identity:
            raise PublishError(f"PostgreSQL: {mart} changed while being published; rolled back")
    # Moved relations keep the shadow's privileges: the analyst's grant comes with them.
    grant_postgres_select(conn, [sql.Identifier(published, mart) for mart in to_move])
    _ensure_seed_views_postgres(conn, published, to_move)
    return to_move, already


def _ensure_seed_views_postgres(
    conn: psycopg.Connection, published: str, moved: Sequence[str]
) -> None:
    """Inside the swap transaction: every published mart answers to its seed name.

    Views of the marts just ``moved`` were dropped before the move and are created again
    here; those of other marts are created only when missing (a first publish, or a
    warehouse published before the seed names existed).
    """
    present = postgres_relations(conn, published, list(SEED_VIEWS.values()))
    existing = postgres_relations(conn, published, list(SEED_VIEWS))
    created = []
    for view, mart in SEED_VIEWS.items():
        if mart not in present or (view in existing and mart not in moved):
            continue
        if view in existing:  # defensive: the caller drops the moved marts' views first
            conn.execute(sql.SQL("DROP VIEW {}").format(sql.Identifier(published, view)))
        conn.execute(
            sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
                sql.Identifier(published, view), sql.Identifier(published, mart)
            )
        )
        conn.execute(
            sql.SQL("COMMENT ON VIEW {} IS {}").format(
                sql.Identifier(published, view),
                sql.Literal(
                    f"The seed's name of {published}.{mart}; recreated by every publish of it."
                ),
            )
        )
        created.append(sql.Identifier(published, view))
    grant_postgres_select(conn, created)


def _copy_grants(
    conn: psycopg.Connection, old_oid: int, target: sql.Identifier, relation: PostgresRelation
) -> None:
    """Give the new relation the privileges the published one had (analysts keep access)."""
    grants = conn.execute(
        """
        SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
               a.privilege_type
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = %s AND a.grantee <> c.relowner
        """,
        (old_oid,),
    ).fetchall()
    kind = sql.SQL("TABLE")  # GRANT ... ON TABLE covers views and materialized views
    for grantee, privilege in grants:
        role = sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee.strip('"'))
        conn.execute(
            sql.SQL("GRANT {} ON {} {} TO {}").format(sql.SQL(privilege), kind, target, role)
        )
    del relation


# --- ClickHouse ------------------------------------------------------------------------


def _ch(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def publish_clickhouse(
    clickhouse_url: str,
    marts: Sequence[str],
    *,
    expected: Mapping[str, str] | None = None,
    shadow: str = SHADOW_SCHEMA,
    published: str = PUBLISHED_SCHEMA,
) -> EnginePublish:
    """Swap ``marts`` from ``shadow`` into ``published`` with EXCHANGE TABLES."""
    report = EnginePublish("clickhouse")
    started = time.perf_counter()
    cluster = on_cluster(clickhouse_cluster())  # cluster mode: on every node at once
    with clickhouse_client(clickhouse_url) as client:
        client.command(f"CREATE DATABASE IF NOT EXISTS {_ch(published)}{cluster}")
        _ensure_clickhouse_analyst(client)
        shadows = clickhouse_uuids(client, shadow, marts)
        current = clickhouse_uuids(client, published, marts)
        to_move: list[str] = []
        leftovers: list[str] = []  # old marts an interrupted publish left in the shadow
        for mart in marts:
            want = (expected or {}).get(mart)
            if want is not None and current.get(mart) == want:
                report.already_published.append(mart)
                if mart in shadows:
                    leftovers.append(mart)
                continue
            if mart not in shadows:
                raise PublishError(
                    f"ClickHouse: {shadow}.{mart} does not exist; nothing to publish"
                )
            if want is not None and shadows[mart] != want:
                raise PublishError(
                    f"ClickHouse: {shadow}.{mart} is not the table the gates validated "
                    f"({shadows[mart]}, validated {want}); nothing was published"
                )
            to_move.append(mart)
        report.attempts = 1
        swap_started = time.perf_counter()
        exchange = [m for m in to_move if m in current]
        rename = [m for m in to_move if m not in current]
        if exchange:
            pairs = ", ".join(
                f"{_ch(shadow)}.{_ch(m)} AND {_ch(published)}.{_ch(m)}" for m in exchange
            )
            client.command(f"EXCHANGE TABLES {pairs}{cluster}")
        if rename:
            pairs = ", ".join(
                f"{_ch(shadow)}.{_ch(m)} TO {_ch(published)}.{_ch(m)}" for m in rename
            )
            client.command(f"RENAME TABLE {pairs}{cluster}")
        report.seconds = time.perf_counter() - swap_started
        report.published = to_move
        now_published = clickhouse_uuids(client, published, to_move)
        wrong = [m for m in to_move if now_published.get(m) != shadows[m]]
        if wrong:
            raise PublishError(f"ClickHouse: {', '.join(wrong)} not in place after the exchange")
        # The old tables are now in the shadow. Queries still reading them keep them alive.
        for mart in [*exchange, *leftovers]:
            client.command(f"DROP TABLE IF EXISTS {_ch(shadow)}.{_ch(mart)}{cluster}")
        ensure_seed_views_clickhouse(client, published)
    report.total_seconds = time.perf_counter() - started
    return report


def _ensure_clickhouse_analyst(client: ClickHouseClient) -> None:
    """The analyst user on a real server. The embedded endpoint refuses CREATE USER (chDB
    has no writable user directory) and enforces the same role itself."""
    from clickhouse_connect.driver.exceptions import DatabaseError

    try:
        for statement in clickhouse_analyst_statements(on_cluster(clickhouse_cluster())):
            client.command(statement)
    except DatabaseError as error:
        log.info("ClickHouse analyst user not managed here: %s", str(error).splitlines()[0])


def ensure_seed_views_clickhouse(
    client: ClickHouseClient, published: str = PUBLISHED_SCHEMA
) -> None:
    """Every published mart answers to its seed name: a view, created when missing and
    replaced (atomically) when its columns no longer match the mart's."""
    rows = client.query(
        "SELECT table, arraySort(groupArray((position, name, type))) FROM system.columns "
        "WHERE database = %(db)s AND table IN %(names)s GROUP BY table",
        parameters={"db": published, "names": [*SEED_VIEWS, *SEED_VIEWS.values()]},
    ).result_rows
    columns = {table: [tuple(column) for column in listed] for table, listed in rows}
    for view, mart in SEED_VIEWS.items():
        if mart not in columns or columns.get(view) == columns[mart]:
            continue
        verb = "CREATE OR REPLACE VIEW" if view in columns else "CREATE VIEW IF NOT EXISTS"
        client.command(
            f"{verb} {_ch(published)}.{_ch(view)}{on_cluster(clickhouse_cluster())} "
            f"AS SELECT * FROM {_ch(published)}.{_ch(mart)} "
            f"COMMENT 'The seed''s name of {published}.{mart}'"
        )


# --- both engines ----------------------------------------------------------------------


@dataclass
class PublishReport:
    """What a publish did in both engines."""

    marts: list[str]
    postgres: EnginePublish
    clickhouse: EnginePublish

    @property
    def published(self) -> list[str]:
        return sorted(
            set(self.postgres.published + self.postgres.already_published)
            & set(self.clickhouse.published + self.clickhouse.already_published)
        )


def publish_marts(
    environment: Environment,
    marts: Sequence[str],
    *,
    expected: Mapping[str, Mapping[str, str]] | None = None,
    options: PublishOptions | None = None,
) -> PublishReport:
    """Publish ``marts`` in PostgreSQL, then in ClickHouse.

    ``expected``: {engine: {mart: identity}} as validated by the gates. Every mart is
    checked in both engines before either changes, so a refused publish changes nothing.
    """
    unknown = sorted(set(marts) - set(MARTS))
    if unknown:
        raise PublishError(f"unknown marts: {', '.join(unknown)}")
    marts = [m for m in MARTS if m in marts]
    expected = expected or {}
    # Refuse before touching anything: every shadow must be the validated one (or the
    # mart already published with that identity).
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        pg_shadow = postgres_relations(conn, SHADOW_SCHEMA, marts)
        pg_current = postgres_relations(conn, PUBLISHED_SCHEMA, marts)
    with clickhouse_client(environment.clickhouse_url) as client:
        ch_shadow = clickhouse_uuids(client, SHADOW_SCHEMA, marts)
        ch_current = clickhouse_uuids(client, PUBLISHED_SCHEMA, marts)
    problems = []
    for mart in marts:
        for engine, shadow_ids, current_ids in (
            (
                "postgres",
                {m: r.identity for m, r in pg_shadow.items()},
                {m: r.identity for m, r in pg_current.items()},
            ),
            ("clickhouse", ch_shadow, ch_current),
        ):
            want = expected.get(engine, {}).get(mart)
            if want is None and expected:
                problems.append(f"{engine} {mart}: no validated identity")
            elif want is not None and want not in (shadow_ids.get(mart), current_ids.get(mart)):
                problems.append(f"{engine} {mart}: the shadow is not what the gates validated")
            elif want is None and mart not in shadow_ids:
                problems.append(f"{engine} {mart}: no shadow to publish")
    if problems:
        raise PublishError("publish refused, nothing changed: " + "; ".join(problems))
    postgres = publish_postgres(
        environment.warehouse_url, marts, expected=expected.get("postgres"), options=options
    )
    clickhouse = publish_clickhouse(
        environment.clickhouse_url, marts, expected=expected.get("clickhouse")
    )
    return PublishReport(list(marts), postgres, clickhouse)


# --- fingerprints: proving what changed and what did not --------------------------------


@dataclass(frozen=True)
class MartFingerprint:
    """Which relation a mart is and what it holds, to compare before and after a refresh."""

    identity: str  # Postgres oid/relfilenode; ClickHouse uuid and active parts
    rows: int
    checksum: str  # over every row's full text (Postgres) / every row's hash (ClickHouse)

    @property
    def content(self) -> tuple[int, str]:
        return self.rows, self.checksum


def mart_fingerprints(
    environment: Environment, schema: str = PUBLISHED_SCHEMA, marts: Sequence[str] = MARTS
) -> dict[tuple[str, str], MartFingerprint | None]:
    """{(engine, mart): fingerprint or None when missing} for ``marts`` in ``schema``."""
    found: dict[tuple[str, str], MartFingerprint | None] = {}
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        relations = postgres_relations(conn, schema, marts)
        for mart in marts:
            if mart not in relations:
                found["postgres", mart] = None
                continue
            rows, checksum = conn.execute(
                sql.SQL(
                    "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                    "FROM {} AS t"
                ).format(sql.Identifier(schema, mart))
            ).fetchone() or (0, "")
            found["postgres", mart] = MartFingerprint(relations[mart].identity, rows, checksum)
    with clickhouse_client(environment.clickhouse_url) as client:
        uuids = clickhouse_uuids(client, schema, marts)
        for mart in marts:
            if mart not in uuids:
                found["clickhouse", mart] = None
                continue
            rows, checksum = client.query(
                f"SELECT count(), toString(sum(cityHash64(*))) FROM {_ch(schema)}.{_ch(mart)}"
            ).result_rows[0]
            parts = client.query(
                "SELECT arrayStringConcat(arraySort(groupArray(name)), ',') FROM system.parts "
                "WHERE database = %(db)s AND table = %(table)s AND active",
                parameters={"db": schema, "table": mart},
            ).result_rows[0][0]
            found["clickhouse", mart] = MartFingerprint(
                f"{uuids[mart]}/{parts}", int(rows), str(checksum)
            )
    return found
