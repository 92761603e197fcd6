"""A chDB connection as a request sees it: the session's own state plus the request's
settings and database, applied on top and reverted lazily (see the package docstring)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from clickhouse_endpoint.errors import ClickHouseError


def quote_literal(value: str) -> str:
    """``value`` as a ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(name: str) -> str:
    """``name`` as a back-quoted ClickHouse identifier."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class ConnectionState:
    """One chDB connection and the per-query overlay (settings, database) applied on it.

    ``persistent`` connections belong to a session: the overlay must never change what
    the session itself has set, so it is reverted (lazily, see the package docstring)."""

    def __init__(self, connection: Any, persistent: bool) -> None:
        self.connection = connection
        self.persistent = persistent
        self.baseline: dict[str, str] = {}  # setting -> SQL to restore the session's value
        self.applied: dict[str, str] = {}  # setting -> value applied for the last query
        self.baseline_database: str | None = None  # None: not yet read
        self.database_override: str | None = None

    def query(self, sql: str, fmt: str = "TabSeparated") -> Any:
        """Run ``sql`` on this connection; engine errors become :class:`ClickHouseError`."""
        try:
            return self.connection.query(sql, fmt)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def prepare(self, settings: dict[str, str], database: str | None, keyword: str) -> None:
        """Make the connection see the session's own state plus this query's overlay."""
        if keyword in ("SET", "USE"):
            # These change the session itself: run them on its own state.
            settings, database = {}, None
        wanted_database = database
        missing = (
            [name for name in settings if name not in self.baseline] if self.persistent else []
        )
        need_database = (
            self.persistent
            and wanted_database is not None
            and self.database_override is None
            and self.baseline_database is None
        )
        if missing or need_database:
            self._snapshot(missing)
        changes = [
            f"{name} = {self.baseline.get(name, 'DEFAULT')}"
            for name in self.applied
            if name not in settings
        ]
        changes += [
            f"{name} = {quote_literal(value)}"
            for name, value in settings.items()
            if self.applied.get(name) != value
        ]
        if changes:
            try:
                self.query("SET " + ", ".join(changes))
            except ClickHouseError:
                self._revert_settings_one_by_one(set(self.applied) | set(settings))
                raise
        self.applied = dict(settings)
        self._switch_database(wanted_database)

    def finish(self, keyword: str) -> None:
        """Forget what a SET or USE statement may have changed."""
        if keyword == "SET":
            self.baseline.clear()
        elif keyword == "USE":
            self.baseline_database = None
            self.database_override = None

    def _snapshot(self, names: list[str]) -> None:
        rows = "SELECT '' AS name, currentDatabase() AS value, 0 AS changed"
        if names:
            listed = ", ".join(quote_literal(name) for name in names)
            rows = (
                f"SELECT name, value, changed FROM system.settings WHERE name IN ({listed}) "
                f"UNION ALL {rows}"
            )
        result = self.query(rows, "JSONEachRow")
        for line in bytes(result.bytes()).splitlines():
            row = json.loads(line)
            if row["name"] == "":
                if self.database_override is None:
                    self.baseline_database = row["value"]
            else:
                value = row["value"]
                # Expression values come back quoted already (e.g. 'auto(4)').
                literal = (
                    value
                    if value[:1] == "'" == value[-1:] and len(value) > 1
                    else quote_literal(value)
                )
                self.baseline[row["name"]] = literal if row["changed"] else "DEFAULT"
        for name in names:
            self.baseline.setdefault(name, "DEFAULT")

    def _revert_settings_one_by_one(self, names: set[str]) -> None:
        for name in names:
            with contextlib.suppress(ClickHouseError):
                self.query(f"SET {name} = {self.baseline.get(name, 'DEFAULT')}")
        self.applied = {}

    def _switch_database(self, wanted: str | None) -> None:
        if wanted is not None:
            if wanted == self.database_override or (
                self.database_override is None and wanted == self.baseline_database
            ):
                return
            self.query(f"USE {quote_identifier(wanted)}")
            self.database_override = wanted
        elif self.database_override is not None:
            target = self.baseline_database or "default"
            try:
                self.query(f"USE {quote_identifier(target)}")
            except ClickHouseError:  # the session's database was dropped meanwhile
                self.query("USE default")
                self.baseline_database = "default"
            self.database_override = None


@dataclass
class Session:
    """A ``session_id``'s connection, held by one request at a time (``lock``)."""

    session_id: str
    state: ConnectionState
    timeout: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    closed: bool = False
