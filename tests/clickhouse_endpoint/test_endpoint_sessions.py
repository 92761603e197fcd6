"""A session's connection and the per-query overlay (:mod:`clickhouse_endpoint.sessions`,
:meth:`clickhouse_endpoint.engine.Engine.lease`) on a real chDB engine in-process: a
query's settings and database apply to it only, the session's own SET and USE stay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clickhouse_endpoint.engine import Engine
from clickhouse_endpoint.errors import SESSION_NOT_FOUND, ClickHouseError
from clickhouse_endpoint.protocol import RequestOptions
from clickhouse_endpoint.sessions import ConnectionState, quote_identifier, quote_literal

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The endpoint's engine on a fresh folder, with a second database."""
    served = Engine(tmp_path_factory.mktemp("sessions") / "data")
    served.primary.query("CREATE DATABASE IF NOT EXISTS other")
    yield served
    assert served.stop(grace=10)


def ask(state: ConnectionState, sql: str) -> str:
    return bytes(state.query(sql).bytes()).decode().strip()


def run(engine: Engine, sql: str, keyword: str = "SELECT", **parameters: str) -> str:
    """One request on the session ``s``: its overlay prepared, the statement run."""
    options = RequestOptions()
    options.apply([("session_id", "s"), *parameters.items()])
    with engine.lease(options) as state:
        state.prepare(options.settings, options.database, keyword)
        try:
            return ask(state, sql)
        finally:
            state.finish(keyword)


def test_the_overlay_applies_to_one_query_over_the_sessions_own_state(engine: Engine) -> None:
    threads = "SELECT getSetting('max_threads')"
    run(engine, "SET max_threads = 1", keyword="SET")
    assert run(engine, threads) == "1"
    assert run(engine, threads, max_threads="3") == "3"
    assert run(engine, threads) == "1"  # reverted to the session's SET, not the default
    # A SET sent with settings changes the session itself, not the overlay.
    run(engine, "SET max_threads = 2", keyword="SET", max_threads="5")
    assert run(engine, threads) == "2"

    assert run(engine, "SELECT currentDatabase()", database="other") == "other"
    assert run(engine, "SELECT currentDatabase()") == "default"
    run(engine, "USE other", keyword="USE")
    assert run(engine, "SELECT currentDatabase()") == "other"
    assert run(engine, "SELECT currentDatabase()", database="system") == "system"
    assert run(engine, "SELECT currentDatabase()") == "other"


def test_the_same_settings_again_cost_nothing(engine: Engine) -> None:
    """A client sending the same settings with every query (clickhouse-connect, dbt) gets
    them applied once: the overlay remembers what is in place."""
    options = RequestOptions()
    options.apply([("session_id", "cheap"), ("max_block_size", "1000")])
    with engine.lease(options) as state:
        state.prepare(options.settings, None, "SELECT")
        assert state.applied == {"max_block_size": "1000"}
        assert ask(state, "SELECT getSetting('max_block_size')") == "1000"
        state.connection.query("SET max_block_size = 7")  # behind the overlay's back
        state.prepare(options.settings, None, "SELECT")  # same settings: no SET sent
        assert ask(state, "SELECT getSetting('max_block_size')") == "7"
        state.prepare({}, None, "SELECT")  # reverted to the session's value
        assert state.applied == {}
        assert ask(state, "SELECT getSetting('max_block_size')") != "1000"


def test_requests_without_a_session_share_nothing(engine: Engine) -> None:
    with engine.lease(RequestOptions()) as state:
        state.query("SET max_threads = 1")
        assert not state.persistent
    with engine.lease(RequestOptions()) as state:
        assert ask(state, "SELECT getSetting('max_threads')") != "1"
    # readonly cannot be reverted: such a query never touches its session.
    options = RequestOptions()
    options.apply([("session_id", "s"), ("readonly", "1")])
    with engine.lease(options) as state:
        assert not state.persistent


def test_sessions_are_checked_closed_and_expired(engine: Engine) -> None:
    checked = RequestOptions()
    checked.apply([("session_id", "missing"), ("session_check", "1")])
    with pytest.raises(ClickHouseError) as raised, engine.lease(checked):
        pass
    assert raised.value.code == SESSION_NOT_FOUND
    closing = RequestOptions()
    closing.apply([("session_id", "once"), ("close_session", "1")])
    with engine.lease(closing):
        assert "once" in engine.sessions
    assert "once" not in engine.sessions
    short = RequestOptions()
    short.apply([("session_id", "short"), ("session_timeout", "0")])
    with engine.lease(short):
        pass
    engine.expire_sessions()
    assert "short" not in engine.sessions


def test_quoting() -> None:
    assert quote_literal("it's a \\ path") == "'it\\'s a \\\\ path'"
    assert quote_identifier("my `table`") == "`my \\`table\\``"
