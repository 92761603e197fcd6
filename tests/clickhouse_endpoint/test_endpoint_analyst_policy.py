"""The analyst's policy (:mod:`clickhouse_endpoint.analyst`) decided on a real chDB engine
in this process, no HTTP: what is admitted, what ``EXPLAIN QUERY TREE`` lets through,
and who is the analyst."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clickhouse_endpoint import analyst
from clickhouse_endpoint.engine import Engine
from clickhouse_endpoint.errors import (
    ACCESS_DENIED,
    AUTHENTICATION_FAILED,
    READONLY,
    ClickHouseError,
)
from clickhouse_endpoint.protocol import RequestOptions
from clickhouse_endpoint.statements import analyse_statement
from core.vocabulary import ANALYST_ROLE, META_SCHEMA, PUBLISHED_SCHEMA, REFRESH_LOG_TABLE

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The endpoint's engine on a fresh folder: a mart, a raw table, the refresh log."""
    served = Engine(tmp_path_factory.mktemp("policy") / "data")
    owner = served.connect()
    try:
        for statement in (
            f"CREATE DATABASE IF NOT EXISTS {PUBLISHED_SCHEMA}",
            f"CREATE DATABASE IF NOT EXISTS {META_SCHEMA}",
            "CREATE DATABASE IF NOT EXISTS raw",
            f"CREATE TABLE {PUBLISHED_SCHEMA}.sales (d Date, n UInt32) ENGINE = MergeTree "
            "ORDER BY d",
            f"CREATE VIEW {PUBLISHED_SCHEMA}.mv_sales AS SELECT * FROM {PUBLISHED_SCHEMA}.sales",
            f"CREATE TABLE {META_SCHEMA}.{REFRESH_LOG_TABLE} (run_id String) ENGINE = MergeTree "
            "ORDER BY run_id",
            f"CREATE TABLE {META_SCHEMA}.secrets (s String) ENGINE = MergeTree ORDER BY s",
            "CREATE TABLE raw.orders (id UInt32) ENGINE = MergeTree ORDER BY id",
            f"INSERT INTO {PUBLISHED_SCHEMA}.sales VALUES ('2026-11-01', 3), ('2026-11-02', 4)",
        ):
            owner.query(statement)
    finally:
        owner.close()
    yield served
    assert served.stop(grace=10)


def as_analyst(engine: Engine, sql: str, **parameters: str) -> bytes:
    """Run ``sql`` as the endpoint runs the analyst's query: admitted, on a fresh read-only
    connection in `marts`, its reads checked, then run."""
    options = RequestOptions()
    options.apply([("user", ANALYST_ROLE), ("password", engine.analyst_password)])
    options.apply(parameters.items())
    analyst.authenticate(options, engine.analyst_password)
    statement = analyse_statement(sql.encode())
    analyst.admit(statement, options)
    with engine.lease(options) as state:
        state.prepare(options.settings, options.database, statement.keyword)
        analyst.check_reads(state, statement, options)
        result = state.connection.query(statement.sql, "TabSeparated")
    return bytes(result.bytes())


@pytest.mark.parametrize(
    ("sql", "answer"),
    [
        ("SELECT sum(n) FROM sales", b"7\n"),  # default database: marts
        ("SELECT sum(n) FROM mv_sales", b"7\n"),
        ("SELECT count() FROM marts.sales AS raw", b"2\n"),  # an alias named like a database
        ("WITH s AS (SELECT n FROM sales) SELECT max(n) FROM s", b"4\n"),
        ("(SELECT min(n) FROM sales)", b"3\n"),
        ("SELECT count() FROM meta.refresh_log", b"0\n"),
        ("SELECT value FROM system.settings WHERE name = 'readonly'", b"2\n"),
        ("SELECT dummy FROM system.one", b"0\n"),
        ("SELECT n AS format FROM sales ORDER BY d FORMAT CSV", b"3\n4\n"),
    ],
)
def test_the_analyst_reads_marts_and_the_refresh_log(
    engine: Engine, sql: str, answer: bytes
) -> None:
    assert as_analyst(engine, sql) == answer


@pytest.mark.parametrize(
    ("sql", "code", "reason"),
    [
        ("SELECT count() FROM raw.orders", ACCESS_DENIED, "not raw.orders"),
        ("SELECT * FROM meta.secrets", ACCESS_DENIED, "not meta.secrets"),
        ("SELECT n FROM sales WHERE n IN (SELECT id FROM raw.orders)", ACCESS_DENIED, "raw.orders"),
        ("SELECT raw.orders.id FROM marts.sales", ACCESS_DENIED, "raw.orders"),
        ("SELECT name FROM system.tables", ACCESS_DENIED, "system.tables"),
        ("SELECT * FROM numbers(3)", ACCESS_DENIED, "table function numbers()"),
        ("SELECT * FROM merge('raw', '.*')", ACCESS_DENIED, "table function merge()"),
        ("SELECT dictGet('d', 'x', 1)", ACCESS_DENIED, "function dictGet()"),
        ("SELECT joinGet('raw.j', 'x', 1)", ACCESS_DENIED, "function joinGet()"),
        ("SELECT getServerSetting('path')", ACCESS_DENIED, "function getServerSetting()"),
        ("SELECT 1 INTO OUTFILE 'stolen.csv'", ACCESS_DENIED, "INTO OUTFILE"),
        ("INSERT INTO sales SELECT * FROM sales", READONLY, "only SELECT is allowed"),
        ("ALTER TABLE sales DELETE WHERE 1", READONLY, "(ALTER)"),
        ("SET max_threads = 1", READONLY, "(SET)"),
        ("SHOW TABLES", READONLY, "(SHOW)"),
    ],
)
def test_the_analyst_is_refused_everything_else(
    engine: Engine, sql: str, code: int, reason: str
) -> None:
    with pytest.raises(ClickHouseError) as refused:
        as_analyst(engine, sql)
    assert refused.value.code == code
    assert reason in refused.value.message
    assert refused.value.message.startswith(f"Code: {code}. DB::Exception: {ANALYST_ROLE}: ")


def test_the_analysts_connection_is_read_only_even_past_the_policy(engine: Engine) -> None:
    """The read-only connection is the second wall: a write that got past the policy
    still fails in the engine."""
    options = RequestOptions(analyst=True)
    with engine.lease(options) as state, pytest.raises(ClickHouseError) as refused:
        state.query(f"INSERT INTO {PUBLISHED_SCHEMA}.sales VALUES ('2026-11-03', 1)")
    assert refused.value.code == READONLY
    assert as_analyst(engine, "SELECT count() FROM sales") == b"2\n"


def test_the_analyst_stays_in_marts_and_out_of_sessions(engine: Engine) -> None:
    options = RequestOptions(analyst=True, session_id="s-1")
    analyst.admit(analyse_statement(b"SELECT 1"), options)
    assert (options.database, options.session_id) == (PUBLISHED_SCHEMA, None)
    elsewhere = RequestOptions(analyst=True, database="raw")
    with pytest.raises(ClickHouseError, match="the analyst reads `marts` only") as refused:
        analyst.admit(analyse_statement(b"SELECT 1"), elsewhere)
    assert refused.value.code == ACCESS_DENIED
    with pytest.raises(ClickHouseError, match=r"readonly mode \(INSERT\)") as refused:
        analyst.refuse_insert(RequestOptions(analyst=True))
    assert refused.value.code == READONLY
    analyst.refuse_insert(RequestOptions())  # the owner inserts


def test_only_the_right_password_makes_a_request_the_analysts() -> None:
    right = RequestOptions(user=ANALYST_ROLE, password="pw")
    analyst.authenticate(right, "pw")
    assert right.analyst
    for password in ("wrong", None, ""):
        with pytest.raises(ClickHouseError, match="Authentication failed") as refused:
            analyst.authenticate(RequestOptions(user=ANALYST_ROLE, password=password), "pw")
        assert refused.value.code == AUTHENTICATION_FAILED
    owner = RequestOptions(user="default", password="anything")
    analyst.authenticate(owner, "pw")  # any other user is the endpoint's owner
    assert not owner.analyst


def test_violations_are_read_from_the_query_tree(engine: Engine) -> None:
    """The decision itself, on real EXPLAIN output: a first part that names no database
    is a table alias, not a database."""
    connection = engine.connect()
    try:
        tree = connection.query(
            "EXPLAIN QUERY TREE run_passes = 0 "
            "SELECT o.id, raw.orders.id FROM marts.sales AS o, raw.orders, file('x')",
            "TabSeparatedRaw",
        )
    finally:
        connection.close()
    text = bytes(tree.bytes()).decode()
    databases = ["default", "system", "raw", "marts", "meta"]
    assert analyst.analyst_violations(text, databases) == ["raw.orders", "table function file()"]
    assert analyst.analyst_violations(text, ["marts"]) == ["table function file()"]
