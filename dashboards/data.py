"""Engine access for the dashboards: run a named query on one engine, or several side by side.

Both engines return the same pandas shapes: numbers as floats or ints, dates as
``datetime64``, so a page never needs to know which engine it is drawing. Answers are
cached for a minute per engine, URL, query and parameters. Failures become
:class:`EngineUnavailable`, :class:`MartsNotPublished` or :class:`QueryFailed`, which
the app shows as a message, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from core.errors import ShopmartsError
from core.settings import get_environment, redact
from core.vocabulary import Engine
from dashboards.queries import Query
from pipelines.engines.analyst import as_analyst

T = TypeVar("T")
ENGINE_LABELS: dict[Engine, str] = {"postgres": "PostgreSQL", "clickhouse": "ClickHouse"}
CONNECT_TIMEOUT_SECONDS = 3
# Long enough that switching pages or filters back and forth is instant, short enough
# that a refresh published a minute ago shows without pressing "Reload".
CACHE_TTL_SECONDS = 60


class EngineUnavailable(ShopmartsError):
    """The engine is not configured, not started, or not answering."""


class MartsNotPublished(ShopmartsError):
    """The engine answers but a published mart (or the refresh log) does not exist."""


class QueryFailed(ShopmartsError):
    """The engine answered a dashboard query with an error (say, a mart whose columns changed)."""


def engine_url(engine: Engine) -> str:
    """The connection URL of ``engine`` as the environment decides it (embedded or real),
    as the `analyst` role: the dashboards read the marts and the refresh log, nothing else."""
    try:
        environment = get_environment()
    except ShopmartsError as error:
        raise EngineUnavailable(str(error)) from error
    url = environment.warehouse_url if engine == "postgres" else environment.clickhouse_url
    return as_analyst(url)


def run_query(
    engine: Engine, url: str, query: Query, params: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Rows of ``query`` on ``engine`` at ``url`` as a DataFrame with engine-neutral types."""
    runner = _run_postgres if engine == "postgres" else _run_clickhouse
    columns, rows = runner(url, query.sql_for(engine), dict(params or {}))
    return normalize(pd.DataFrame.from_records(rows, columns=columns))


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimals to floats, dates and timestamps to naive UTC ``datetime64``.

    PostgreSQL numerics arrive as ``Decimal`` and ClickHouse decimals too, but sums and
    averages differ in type between the engines; floats make both look the same.
    """
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object:
            continue
        sample = series.dropna()
        if sample.empty:
            continue
        first = sample.iloc[0]
        if isinstance(first, Decimal):
            frame[column] = series.map(lambda v: None if v is None else float(v)).astype("float64")
        elif isinstance(first, dt.datetime):
            frame[column] = pd.to_datetime(series, utc=True).dt.tz_localize(None)
        elif isinstance(first, dt.date):
            frame[column] = pd.to_datetime(series)
    return frame


# --- PostgreSQL -------------------------------------------------------------------------


class _PostgresPool:
    """A few idle connections per URL, so a page's queries skip the connect handshake."""

    def __init__(self, size: int = 4) -> None:
        self._idle: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._size = size

    @contextmanager
    def connection(self, url: str) -> Iterator[Any]:
        import psycopg

        with self._lock:
            idle = self._idle.setdefault(url, [])
            conn = idle.pop() if idle else None
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(
                    url,
                    connect_timeout=CONNECT_TIMEOUT_SECONDS,
                    autocommit=True,
                    application_name="shopmarts-dashboards",
                    # No server-side prepared statements: publish swaps the marts for new
                    # relations, and a plan cached on a pooled connection would then fail
                    # ("cached plan must not change result type").
                    prepare_threshold=None,
                )
            except psycopg.OperationalError as error:
                raise EngineUnavailable(
                    f"PostgreSQL at {redact(url)} is down or unreachable "
                    "(start the embedded engines with `shopmarts up`)"
                ) from error
        healthy = True
        try:
            yield conn
        except psycopg.OperationalError:
            healthy = False
            raise
        finally:
            with self._lock:
                idle = self._idle.setdefault(url, [])
                if healthy and not conn.closed and len(idle) < self._size:
                    idle.append(conn)
                else:
                    conn.close()


_postgres_pool = _PostgresPool()


def _run_postgres(url: str, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
    import psycopg
    from psycopg import errors

    with _postgres_pool.connection(url) as conn:
        try:
            cursor = conn.execute(sql, params)
        except (errors.UndefinedTable, errors.InvalidSchemaName, errors.UndefinedColumn) as error:
            raise MartsNotPublished(_first_line(error)) from error
        except psycopg.OperationalError as error:
            raise EngineUnavailable(
                f"PostgreSQL at {redact(url)} stopped answering: {_first_line(error)}"
            ) from error
        except psycopg.Error as error:
            raise QueryFailed(f"PostgreSQL: {_first_line(error)}") from error
        columns = [column.name for column in cursor.description or ()]
        return columns, cursor.fetchall()


# --- ClickHouse -------------------------------------------------------------------------

# Error codes meaning "that database, table or column is not there".
_CLICKHOUSE_MISSING_CODES = ("Code: 81.", "Code: 60.", "Code: 47.", "Code: 16.")
_clickhouse_clients: dict[str, Any] = {}
_clickhouse_lock = threading.Lock()


def _clickhouse_client(url: str) -> Any:
    import clickhouse_connect
    from clickhouse_connect.driver.exceptions import Error as ClickHouseError

    with _clickhouse_lock:
        client = _clickhouse_clients.get(url)
    if client is not None:
        return client
    try:
        client = clickhouse_connect.get_client(
            dsn=url,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            send_receive_timeout=60,
            # One client serves every session's thread: no session state on the server.
            autogenerate_session_id=False,
        )
    except (ClickHouseError, OSError) as error:
        raise EngineUnavailable(
            f"ClickHouse at {redact(url)} is down or unreachable "
            "(start the embedded engines with `shopmarts up`)"
        ) from error
    with _clickhouse_lock:
        _clickhouse_clients[url] = client
    return client


def _run_clickhouse(url: str, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
    from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

    client = _clickhouse_client(url)
    try:
        result = client.query(sql, parameters=params)
    except OperationalError as error:
        with _clickhouse_lock:
            _clickhouse_clients.pop(url, None)
        raise EngineUnavailable(
            f"ClickHouse at {redact(url)} stopped answering: {_first_line(error)}"
        ) from error
    except DatabaseError as error:
        message = str(error)
        if any(code in message for code in _CLICKHOUSE_MISSING_CODES):
            raise MartsNotPublished(_first_line(error)) from error
        raise QueryFailed(f"ClickHouse: {_first_line(error)}") from error
    if not result.column_names and not result.result_rows:
        # An empty answer comes without its column names (measured on our endpoint):
        # ask for them, so an empty figure is an empty frame with its columns, as on
        # PostgreSQL, not a frame a page cannot index (a shop without subcategories).
        # The same SELECT (all the analyst may send) as JSON, whose "meta" names them.
        answer = json.loads(client.raw_query(sql, parameters=params, fmt="JSONCompact"))
        return [column["name"] for column in answer["meta"]], []
    return list(result.column_names), result.result_rows


def table_exists(engine: Engine, url: str, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists (ClickHouse: database.table)."""
    if engine == "postgres":
        _, rows = _run_postgres(
            url, "SELECT to_regclass(%(name)s) IS NOT NULL", {"name": f"{schema}.{table}"}
        )
    else:
        _, rows = _run_clickhouse(
            url,
            "SELECT count() > 0 FROM system.tables "
            "WHERE database = %(schema)s AND name = %(table)s",
            {"schema": schema, "table": table},
        )
    return bool(rows[0][0])


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- cached access for the app ----------------------------------------------------------


def fetch(engine: Engine, query: Query, **params: Any) -> pd.DataFrame:
    """Rows of ``query`` on ``engine``, cached per engine, URL, query and parameters.

    The URL is part of the key so a restarted engine on another port, or another
    deployment, never serves a stale answer. Errors are not cached.
    """
    return _cached_query(engine, engine_url(engine), query, _key(params))


Request = tuple[Query, Mapping[str, Any]]
# A page runs at most this many queries at once (PostgreSQL connections, HTTP requests).
MAX_PARALLEL_QUERIES = 6


def run_many(engine: Engine, url: str, requests: Sequence[Request]) -> list[pd.DataFrame]:
    """Rows of every request, run side by side, uncached; the first error is raised.

    A page's queries are independent, so its wait is the slowest query, not the sum:
    most of a small query's time is the round trip, not the engine's work.
    """
    return side_by_side(
        [functools.partial(run_query, engine, url, query, params) for query, params in requests]
    )


def fetch_many(engine: Engine, requests: Sequence[Request]) -> list[pd.DataFrame]:
    """:func:`fetch` for every request, side by side; cached answers return at once."""
    url = engine_url(engine)
    return side_by_side(
        [
            functools.partial(_cached_query, engine, url, query, _key(params))
            for query, params in requests
        ]
    )


def fetch_optional(engine: Engine, query: Query, **params: Any) -> pd.DataFrame | None:
    """:func:`fetch`, but None (cached too) when the relation does not exist."""
    return _cached_optional(engine, engine_url(engine), query, _key(params))


def side_by_side(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Every task's result, the tasks run in threads at once; the first error is raised."""
    if len(tasks) <= 1:
        return [task() for task in tasks]
    # Streamlit's cache wants the script run's context in the threads that use it.
    context = get_script_run_ctx(suppress_warning=True)

    def run(task: Callable[[], T]) -> T:
        if context is not None:
            add_script_run_ctx(threading.current_thread(), context)
        return task()

    workers = min(len(tasks), MAX_PARALLEL_QUERIES)
    with ThreadPoolExecutor(workers, thread_name_prefix="dashboards-query") as pool:
        futures = [pool.submit(run, task) for task in tasks]
        return [future.result() for future in futures]


def clear_cache() -> None:
    """Forget every cached answer (the sidebar's "Reload" button)."""
    _cached_query.clear()
    _cached_optional.clear()


def _key(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters in one order, so the same request always finds its cached answer."""
    return dict(sorted(params.items()))


def _query_key(query: Query) -> str:
    return query.name


@st.cache_data(
    ttl=CACHE_TTL_SECONDS,
    show_spinner=False,
    max_entries=512,
    hash_funcs={Query: _query_key},
)
def _cached_query(engine: Engine, url: str, query: Query, params: dict[str, Any]) -> pd.DataFrame:
    return run_query(engine, url, query, params)


@st.cache_data(
    ttl=CACHE_TTL_SECONDS,
    show_spinner=False,
    max_entries=64,
    hash_funcs={Query: _query_key},
)
def _cached_optional(
    engine: Engine, url: str, query: Query, params: dict[str, Any]
) -> pd.DataFrame | None:
    try:
        return run_query(engine, url, query, params)
    except MartsNotPublished:
        return None
