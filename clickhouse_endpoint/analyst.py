"""The analyst's policy: the role chDB cannot create, enforced by the endpoint.

The analyst authenticates by password (:func:`authenticate`), sends one SELECT in
`marts` and nothing else (:func:`admit`, :func:`refuse_insert`), and reads only what
``EXPLAIN QUERY TREE`` shows to be in `marts` or one of ANALYST_EXTRA_TABLES
(:func:`check_reads`, deciding with :func:`analyst_violations`). Its queries run on a
fresh ``readonly=2`` connection (:meth:`clickhouse_endpoint.engine.Engine.lease`).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from clickhouse_endpoint.errors import (
    ACCESS_DENIED,
    AUTHENTICATION_FAILED,
    READONLY,
    ClickHouseError,
)
from clickhouse_endpoint.protocol import RequestOptions
from clickhouse_endpoint.sessions import ConnectionState
from clickhouse_endpoint.statements import Statement, mentions_outfile, strip_output_clause
from core.vocabulary import ANALYST_ROLE, META_SCHEMA, PUBLISHED_SCHEMA, REFRESH_LOG_TABLE

ANALYST_USER = ANALYST_ROLE
ANALYST_DATABASE = PUBLISHED_SCHEMA
ANALYST_KEYWORDS = frozenset({"SELECT", "WITH", "("})
# Relations outside `marts` the analyst may read: the refresh log (the dashboards'
# freshness banner), and what clickhouse-connect reads when it connects.
ANALYST_EXTRA_TABLES = frozenset(
    {(META_SCHEMA, REFRESH_LOG_TABLE), ("system", "settings"), ("system", "one")}
)
# Functions that read data other than their arguments; table functions are refused whole.
ANALYST_FORBIDDEN_FUNCTIONS = frozenset({"file", "hascolumnintable", "getserversetting"})
ANALYST_FORBIDDEN_PREFIXES = ("dict", "joinget")


def _segments(line: str, marker: str) -> list[str]:
    """Every value following ``marker`` on an EXPLAIN line, up to the next field. Aliases
    are printed unescaped, so every candidate is checked, never just one."""
    return [piece.split(", ")[0] for piece in line.split(marker)[1:]]


def analyst_violations(tree: str, databases: Iterable[str]) -> list[str]:
    """What an (unresolved) ``EXPLAIN QUERY TREE`` shows the analyst may not read.

    Unqualified names resolve in `marts` (the analyst's only database) or to a CTE; a
    qualified name must be in `marts` or one of ANALYST_EXTRA_TABLES when its first part
    names a database (else it is a column of a table alias). Conservative on purpose:
    anything ambiguous is refused.
    """
    known = {name.lower() for name in databases}
    problems: list[str] = []
    for raw_line in tree.splitlines():
        line = raw_line.strip()
        if "TABLE_FUNCTION" in line:
            called = _segments(line, "table_function_name: ")
            problems.append(f"table function {called[-1] if called else '?'}()")
            continue
        if line.startswith("IDENTIFIER ") or line.startswith("TABLE "):
            marker = ", identifier: " if line.startswith("IDENTIFIER ") else "table_name: "
            for name in _segments(line, marker):
                parts = name.split(".")
                if len(parts) < 2 or parts[0].lower() not in known:
                    continue
                database = parts[0]
                if database == ANALYST_DATABASE:
                    continue
                if (database, parts[1]) in ANALYST_EXTRA_TABLES:
                    continue
                problems.append(f"{database}.{parts[1]}")
        if "function_name: " in line:
            for name in _segments(line, "function_name: "):
                lowered = name.lower()
                if lowered in ANALYST_FORBIDDEN_FUNCTIONS or lowered.startswith(
                    ANALYST_FORBIDDEN_PREFIXES
                ):
                    problems.append(f"function {name}()")
    return sorted(set(problems))


def authenticate(options: RequestOptions, password: str) -> None:
    """Mark the analyst's requests; a wrong analyst password is refused. Other user
    names are the endpoint owner's, as before (it listens on loopback only)."""
    if options.user != ANALYST_USER:
        return
    if not hmac.compare_digest((options.password or "").encode(), password.encode()):
        raise ClickHouseError.local(
            AUTHENTICATION_FAILED,
            f"{ANALYST_USER}: Authentication failed: password is incorrect, or there is "
            "no user with such name",
        )
    options.analyst = True


def refuse_insert(options: RequestOptions) -> None:
    """An INSERT with inline data: never the analyst's."""
    if options.analyst:
        raise ClickHouseError.local(
            READONLY, f"{ANALYST_USER}: Cannot execute query in readonly mode (INSERT)"
        )


def admit(statement: Statement, options: RequestOptions) -> None:
    """What the analyst may send at all: one SELECT, in `marts`, writing no file."""
    if statement.keyword not in ANALYST_KEYWORDS:
        raise ClickHouseError.local(
            READONLY,
            f"{ANALYST_USER}: Cannot execute query in readonly mode "
            f"({statement.keyword or 'statement'}); only SELECT is allowed",
        )
    if mentions_outfile(statement.sql):
        raise ClickHouseError.local(
            ACCESS_DENIED, f"{ANALYST_USER}: Not enough privileges (INTO OUTFILE)"
        )
    if options.database not in (None, ANALYST_DATABASE):
        raise ClickHouseError.local(
            ACCESS_DENIED,
            f"{ANALYST_USER}: Not enough privileges to use database {options.database}; "
            f"the analyst reads `{ANALYST_DATABASE}` only",
        )
    options.database = ANALYST_DATABASE
    options.session_id = None  # sessions hold read-write connections


def check_reads(state: ConnectionState, statement: Statement, options: RequestOptions) -> None:
    """Refuse unless every table the query names is the analyst's to read."""
    explain = "EXPLAIN QUERY TREE run_passes = 0 " + strip_output_clause(statement)
    try:
        tree = state.connection.query(explain, "TabSeparatedRaw", params=options.params or None)
        databases = state.connection.query("SELECT name FROM system.databases", "TabSeparatedRaw")
    except Exception as exc:
        raise ClickHouseError.from_engine(exc) from None
    names = bytes(databases.bytes()).decode().split()
    problems = analyst_violations(bytes(tree.bytes()).decode("utf-8", "replace"), names)
    if problems:
        raise ClickHouseError.local(
            ACCESS_DENIED,
            f"{ANALYST_USER}: Not enough privileges: the analyst may read `"
            f"{ANALYST_DATABASE}` only, not {', '.join(problems)}",
        )
