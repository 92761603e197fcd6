"""The analyst's access and the seed's view names, against the real engines.

- the seed's `mv_*` names answer in both engines (qualified, and unqualified for the
  analyst), and keep answering through a publish while readers loop on them: no read
  fails, each PostgreSQL read sees all old or all new marts, the last read sees the new;
- the analyst reads the marts and is refused on raw, staging, the shadow, the shop, table
  functions and any write, in both engines; a wrong password is refused.
"""

from __future__ import annotations

import base64
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import clickhouse_connect
import dagster as dg
import psycopg
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from test_quality_gates import Pipeline, ensure_published

from core.clients import clickhouse_client
from core.settings import Environment
from core.vocabulary import ANALYST_ROLE, SHADOW_SCHEMA
from pipelines.defs.publish.marts import SEED_VIEWS, publish_marts
from pipelines.engines.analyst import as_analyst


@pytest.fixture(scope="module")
def published(environment: Environment) -> None:
    ensure_published(environment, Pipeline(environment))


def analyst_postgres(url: str) -> psycopg.Connection:
    return psycopg.connect(as_analyst(url), autocommit=True, connect_timeout=5)


def analyst_clickhouse(url: str) -> Any:
    return clickhouse_connect.get_client(dsn=as_analyst(url), connect_timeout=5)


def http_query(url: str, query: str, **parameters: str) -> tuple[int, str]:
    """One request to the ClickHouse HTTP interface as the analyst (basic auth)."""
    parts = urlsplit(as_analyst(url))
    request = urllib.request.Request(
        f"http://{parts.hostname}:{parts.port}/?" + urlencode({"query": query, **parameters}),
        headers={
            "Authorization": "Basic "
            + base64.b64encode(
                f"{parts.username}:{unquote(parts.password or '')}".encode()
            ).decode()
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def view_counts_postgres(conn: psycopg.Connection, qualified: bool = True) -> dict[str, int]:
    prefix = "marts." if qualified else ""
    query = " UNION ALL ".join(
        f"SELECT '{view}', count(*) FROM {prefix}{view}" for view in SEED_VIEWS
    )
    return {view: int(n) for view, n in conn.execute(query).fetchall()}


def view_counts_clickhouse(client: Any, qualified: bool = True) -> dict[str, int]:
    prefix = "marts." if qualified else ""
    query = " UNION ALL ".join(
        f"SELECT '{view}', count() FROM {prefix}{view}" for view in SEED_VIEWS
    )
    return {view: int(n) for view, n in client.query(query).result_rows}


def mart_counts(environment: Environment) -> dict[tuple[str, str], int]:
    counts = {}
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        for view, mart in SEED_VIEWS.items():
            row = conn.execute(f"SELECT count(*) FROM marts.{mart}").fetchone()
            assert row is not None
            counts["postgres", view] = int(row[0])
    with clickhouse_client(environment.clickhouse_url) as client:
        for view, mart in SEED_VIEWS.items():
            counts["clickhouse", view] = int(client.command(f"SELECT count() FROM marts.{mart}"))
    return counts


# --- the seed's names ---------------------------------------------------------------------


def test_seed_names_answer_in_both_engines(environment: Environment, published: None) -> None:
    counts = mart_counts(environment)
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        assert view_counts_postgres(conn) == {v: counts["postgres", v] for v in SEED_VIEWS}
    with analyst_postgres(environment.warehouse_url) as conn:
        # The seed's queries name them unqualified: the analyst's search_path is marts.
        assert view_counts_postgres(conn, qualified=False) == {
            v: counts["postgres", v] for v in SEED_VIEWS
        }
    with clickhouse_client(environment.clickhouse_url) as client:
        assert view_counts_clickhouse(client) == {v: counts["clickhouse", v] for v in SEED_VIEWS}
    client = analyst_clickhouse(environment.clickhouse_url)
    try:
        assert view_counts_clickhouse(client, qualified=False) == {
            v: counts["clickhouse", v] for v in SEED_VIEWS
        }
    finally:
        client.close()
    assert all(counts.values()), counts


def shadow_copies_without_one_row(environment: Environment) -> None:
    """New shadow relations of every seed mart, each one row short of the published one."""
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart in SEED_VIEWS.values():
            kind = conn.execute(
                "SELECT relkind::text FROM pg_class WHERE oid = to_regclass(%s)",
                (f"{SHADOW_SCHEMA}.{mart}",),
            ).fetchone()
            if kind:
                what = {"m": "MATERIALIZED VIEW", "v": "VIEW"}.get(kind[0], "TABLE")
                conn.execute(f"DROP {what} {SHADOW_SCHEMA}.{mart}")
            conn.execute(
                f"CREATE TABLE {SHADOW_SCHEMA}.{mart} AS SELECT * FROM marts.{mart} OFFSET 1"
            )
    with clickhouse_client(environment.clickhouse_url) as client:
        client.command(f"CREATE DATABASE IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart in SEED_VIEWS.values():
            client.command(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
            client.command(f"CREATE TABLE {SHADOW_SCHEMA}.{mart} AS marts.{mart}")
            total = int(client.command(f"SELECT count() FROM marts.{mart}"))
            client.command(
                f"INSERT INTO {SHADOW_SCHEMA}.{mart} SELECT * FROM marts.{mart} LIMIT {total - 1}"
            )


@dataclass
class ViewReader:
    """Reads every seed view of one engine as the analyst, one statement per read."""

    engine: str
    read: Callable[[], dict[str, int]]
    reads: list[dict[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.reads.append(self.read())
            except Exception as error:  # noqa: BLE001 - every failed read is a finding
                self.errors.append(f"{type(error).__name__}: {error}")
            time.sleep(0.005)


def test_seed_names_follow_a_publish_while_readers_hold_them(
    environment: Environment, published: None
) -> None:
    before = mart_counts(environment)
    shadow_copies_without_one_row(environment)
    pg = analyst_postgres(environment.warehouse_url)
    ch = analyst_clickhouse(environment.clickhouse_url)
    readers = [
        ViewReader("postgres", lambda: view_counts_postgres(pg, qualified=False)),
        ViewReader("clickhouse", lambda: view_counts_clickhouse(ch, qualified=False)),
    ]
    threads = [threading.Thread(target=reader.run, daemon=True) for reader in readers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)  # reads of the old state
        report = publish_marts(environment, list(SEED_VIEWS.values()))
        time.sleep(0.3)  # reads of the new state
    finally:
        for reader in readers:
            reader.stop.set()
        for thread in threads:
            thread.join(30)
        pg.close()
        ch.close()
    assert sorted(report.published) == sorted(SEED_VIEWS.values())
    after = mart_counts(environment)
    for reader in readers:
        assert not reader.errors, reader.errors[:3]
        assert len(reader.reads) > 5, (reader.engine, len(reader.reads))
        old = {view: before[reader.engine, view] for view in SEED_VIEWS}
        new = {view: after[reader.engine, view] for view in SEED_VIEWS}
        assert new == {view: count - 1 for view, count in old.items()}
        assert reader.reads[0] == old, reader.engine
        assert reader.reads[-1] == new, reader.engine
        for observed in reader.reads:
            for view, count in observed.items():
                assert count in (old[view], new[view]), (reader.engine, view, count)
            if reader.engine == "postgres":  # one transaction swaps every mart and view
                assert observed in (old, new), observed
    # The recreated views carry the analyst's grant; the next publish does it again.
    with analyst_postgres(environment.warehouse_url) as conn:
        assert view_counts_postgres(conn) == {v: after["postgres", v] for v in SEED_VIEWS}


# --- the analyst role ---------------------------------------------------------------------


def test_analyst_reads_marts_only_in_postgres(environment: Environment, published: None) -> None:
    with analyst_postgres(environment.warehouse_url) as conn:
        row = conn.execute("SELECT current_user, count(*) FROM daily_sales").fetchone()
        assert row is not None and row[0] == ANALYST_ROLE and row[1] > 0
        assert conn.execute("SELECT count(*) FROM meta.refresh_log").fetchone()
        refused = [
            "SELECT count(*) FROM raw.orders",
            "SELECT count(*) FROM raw.audit_log",
            f"SELECT count(*) FROM {SHADOW_SCHEMA}.daily_sales",
            "SELECT count(*) FROM staging.stg_shop__orders",
            "CREATE TABLE marts.mine (x int)",
            "CREATE TABLE public.mine (x int)",
            "DELETE FROM marts.daily_sales",
            "REFRESH MATERIALIZED VIEW marts.customer_segments",
            "DROP VIEW marts.mv_daily_sales",
        ]
        for statement in refused:
            with pytest.raises(psycopg.Error) as caught:
                conn.execute(statement)
            assert isinstance(
                caught.value,
                psycopg.errors.InsufficientPrivilege
                | psycopg.errors.ReadOnlySqlTransaction
                | psycopg.errors.UndefinedTable,
            ), (statement, caught.value)
        # Read-only by default; switching that off still leaves no privilege to write.
        conn.execute("SET default_transaction_read_only = off")
        for statement in (
            "INSERT INTO marts.daily_sales SELECT * FROM marts.daily_sales LIMIT 1",
            "UPDATE marts.monthly_revenue SET revenue = 0",
            "TRUNCATE meta.refresh_log",
            "CREATE TABLE marts.mine (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects"):
        analyst_postgres(environment.shop_url)
    wrong = as_analyst(environment.warehouse_url).replace(":analyst@", ":wrong@")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)


def test_analyst_reads_marts_only_in_clickhouse(environment: Environment, published: None) -> None:
    client = analyst_clickhouse(environment.clickhouse_url)
    try:
        assert client.command("SELECT currentDatabase()") == "marts"
        assert int(client.command("SELECT count() FROM daily_sales")) > 0
        assert int(client.command("SELECT count() FROM marts.mv_inventory_status")) > 0
        rows = client.query("SELECT count() FROM meta.refresh_log FINAL").result_rows
        assert rows[0][0] > 0
        refused = {
            "SELECT count() FROM raw.orders": "raw.orders",
            "SELECT * FROM marts.daily_sales WHERE sales_date IN "
            "(SELECT toDate(changed_at) FROM raw.audit_log)": "raw.audit_log",
            f"SELECT count() FROM {SHADOW_SCHEMA}.daily_sales": SHADOW_SCHEMA,
            "SELECT count() FROM system.tables": "system.tables",
            "SELECT * FROM file('/etc/passwd', 'LineAsString')": "table function file",
            "SELECT * FROM postgresql('127.0.0.1:5432', 'shop', 'orders', 'postgres', '')": (
                "table function postgresql"
            ),
            "SELECT * FROM numbers(10)": "table function numbers",
            "SELECT count() FROM `raw`.`orders` AS `a, identifier: marts.daily_sales`": (
                "raw.orders"
            ),
            "SELECT dictGet('raw.d', 'x', toUInt64(1))": "function dictGet",
            "WITH o AS (SELECT * FROM raw.orders) SELECT count() FROM o": "raw.orders",
            "INSERT INTO marts.daily_sales SELECT * FROM marts.daily_sales": "readonly",
            "CREATE TABLE marts.mine (x Int8) ENGINE = Memory": "readonly",
            "DROP TABLE marts.daily_sales": "readonly",
            "SELECT 1 INTO OUTFILE '/tmp/analyst.csv'": "OUTFILE",
        }
        for statement, reason in refused.items():
            with pytest.raises(DatabaseError) as caught:
                client.query(statement)
            assert reason in str(caught.value), (statement, str(caught.value)[:300])
        with pytest.raises(DatabaseError, match="readonly"):
            client.insert("daily_sales", [[1]], column_names=["orders_count"])
        # Another database, asked for by URL parameter: refused too.
        answer = http_query(environment.clickhouse_url, "SELECT 1", database="raw")
        assert answer[0] == 500 and "database raw" in answer[1], answer
    finally:
        client.close()
    # Nothing the analyst tried changed the marts.
    with clickhouse_client(environment.clickhouse_url) as admin:
        assert admin.command("EXISTS TABLE marts.mine") == 0
    wrong = as_analyst(environment.clickhouse_url).replace(":analyst@", ":wrong@")
    with pytest.raises(DatabaseError, match="Authentication failed"):
        clickhouse_connect.get_client(dsn=wrong, connect_timeout=5)


# --- Planner statistics: the marts as built, raw after the nightly -------------------------


def analyze_counts(environment: Environment) -> dict[str, tuple[int, Any]]:
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || relname, analyze_count, last_analyze"
            " FROM pg_stat_user_tables WHERE schemaname IN ('raw', 'marts')"
        ).fetchall()
    return {name: (int(count), last) for name, count, last in rows}


def test_the_hourly_publishes_marts_with_their_statistics(
    environment: Environment, published: None
) -> None:
    from test_quality_gates import HOURLY_MARTS

    from pipelines.definitions import defs
    from pipelines.defs.environment import ShopmartsEnvironment
    from pipelines.defs.housekeeping.assets import analyzed_warehouse

    # No ANALYZE step in the hourly: each mart's build analyzed it, in the shadow, and
    # its statistics moved with it into `marts`.
    graph = defs.resolve_job_def("hourly_refresh").asset_layer.asset_graph
    analyzed = dg.AssetKey(["postgres", "analyzed"])
    assert analyzed not in graph.executable_asset_keys
    assert (
        analyzed
        in defs.resolve_job_def("nightly_refresh").asset_layer.asset_graph.executable_asset_keys
    )

    from ingest.shop.simulate import simulate_shop

    simulate_shop(environment.shop_url, hours=2, seed=4242, progress=False)
    started_at = time.time()
    hourly = Pipeline(environment).run(extract="incremental", marts=HOURLY_MARTS, mode="hourly")
    assert hourly.success
    counts = analyze_counts(environment)
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        for mart in HOURLY_MARTS:
            _added, last = counts[f"marts.{mart}"]
            assert last is not None and last.timestamp() >= started_at - 1, mart
            # Fresh statistics: the row count the planner knows is the mart's (these marts
            # are under ANALYZE's 30,000-row sample, so it counts every row).
            known, rows = conn.execute(
                f"SELECT c.reltuples::bigint, (SELECT count(*) FROM marts.{mart})"
                f" FROM pg_class c WHERE c.oid = 'marts.{mart}'::regclass"
            ).fetchone()
            assert known == rows > 0, mart
            columns = conn.execute(
                "SELECT count(*) FROM pg_stats WHERE schemaname = 'marts' AND tablename = %s",
                (mart,),
            ).fetchone()[0]
            assert columns > 0, mart

    # The nightly's step analyzes raw, after its full load.
    before = analyze_counts(environment)
    result = dg.materialize(
        [analyzed_warehouse],
        resources={
            "shopmarts_environment": ShopmartsEnvironment(
                shop_url=environment.shop_url,
                warehouse_url=environment.warehouse_url,
                clickhouse_url=environment.clickhouse_url,
            )
        },
    )
    assert result.success
    after = analyze_counts(environment)
    for relation in ("raw.orders", "raw.audit_log"):
        assert after[relation][0] == before[relation][0] + 1, relation


def test_the_role_exists_from_up_and_shopmarts_query_can_use_it(
    environment: Environment, published: None
) -> None:
    from core.errors import ShopmartsError
    from pipelines.query import run_query

    # `shopmarts up` (the session's stack) created the role (pg_hba.conf's rules for it:
    # test_analyst_reads_marts_only_in_postgres).
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        role = conn.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolconfig FROM pg_roles"
            " WHERE rolname = %s",
            (ANALYST_ROLE,),
        ).fetchone()
    assert role is not None and role[0] and not role[1] and not role[2]
    assert set(role[3]) == {"search_path=marts", "default_transaction_read_only=on"}

    columns, rows = run_query(
        "warehouse", "SELECT current_user, count(*) FROM mv_daily_sales", as_analyst=True
    )
    assert rows[0][0] == ANALYST_ROLE and rows[0][1] > 0
    columns, rows = run_query("clickhouse", "SELECT count() FROM mv_daily_sales", as_analyst=True)
    assert rows[0][0] > 0
    with pytest.raises(ShopmartsError, match="permission denied for schema raw"):
        run_query("warehouse", "SELECT count(*) FROM raw.orders", as_analyst=True)
    with pytest.raises(ShopmartsError, match="down or unreachable"):
        run_query("shop", "SELECT count(*) FROM orders", as_analyst=True)
    with pytest.raises(ShopmartsError, match="raw.orders"):
        run_query("clickhouse", "SELECT count() FROM raw.orders", as_analyst=True)


def test_clickhouse_seed_views_follow_their_marts_columns(
    environment: Environment, published: None
) -> None:
    from pipelines.defs.publish.marts import ensure_seed_views_clickhouse

    def described(client: Any, table: str) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in client.query(f"DESCRIBE TABLE {table}").result_rows]

    def uuid(client: Any, view: str) -> str:
        return str(
            client.command(
                f"SELECT toString(uuid) FROM system.tables WHERE database = 'marts' "
                f"AND name = '{view}'"
            )
        )

    with clickhouse_client(environment.clickhouse_url) as client:
        # A view left behind by an older mart (fewer columns), and one missing altogether.
        client.command(
            "CREATE OR REPLACE VIEW marts.mv_monthly_revenue AS "
            "SELECT month_start, revenue FROM marts.monthly_revenue"
        )
        client.command("DROP VIEW IF EXISTS marts.mv_category_performance")
        ensure_seed_views_clickhouse(client)
        for view, mart in (
            ("mv_monthly_revenue", "monthly_revenue"),
            ("mv_category_performance", "category_performance"),
        ):
            assert described(client, f"marts.{view}") == described(client, f"marts.{mart}")
        # In step already: left alone.
        before = {view: uuid(client, view) for view in SEED_VIEWS}
        ensure_seed_views_clickhouse(client)
        assert {view: uuid(client, view) for view in SEED_VIEWS} == before
