"""The instance's storage for the stack: Dagster's SQLite storage with its connections kept
open, and step logs written to their files without mirror processes (`StepLogFiles`).

A refresh writes a few hundred events (each step's start, outputs, materializations, check
evaluations, logs; the run's planned assets and checks before it is queued). Dagster's
SQLite storage opens a new SQLAlchemy engine and a new SQLite connection for every read and
write, two or three per event, and each commit and close waits for the disk (WAL mode,
`synchronous=FULL`: an fsync per commit, a checkpoint when the last connection closes).
Measured on this 2-core machine under load, one event cost 20-90 ms, an hourly refresh's
334 events 13 s, spent inside the steps and before the run is queued.

Here the same storage, files and tables keep one engine per database file per process, so
the connection and SQLAlchemy's compiled statements are reused, and set
`synchronous=NORMAL`, which in WAL mode still survives any process crash (a commit is in
the WAL before it returns) and can lose only the last commits on a power cut: an event log
is not the data a refresh publishes. The layout on disk is Dagster's own
(`storage: sqlite`), so an existing DAGSTER_HOME reads the same, and back.

Processes fork (the run worker its steps): a child never uses a connection its parent
opened (SQLite forbids it); the engines are per process id, and the parent's are left
untouched in the child (closing them there could checkpoint under the parent).

Configured in `dagster.yaml` as `storage: {custom: {module: pipelines.runtime.instance_storage,
class: WarmSqliteStorage, config: {base_dir: ...}}}`.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy
from dagster import Field, StringSource
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from pipelines.runtime.dagster_private import (
    IO_TYPE_EXTENSION,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    CapturedLogContext,
    ComputeIOType,
    ConfigurableClassData,
    DagsterSqliteStorage,
    LocalComputeLogManager,
    SqliteEventLogStorage,
    SqliteRunStorage,
    SqliteScheduleStorage,
    compute_logs_directory,
    event_logs_directory,
    redirect_to_file,
    runs_directory,
    schedules_directory,
    sqlite_conn_string,
)

# Per process, the database files whose engines stay open: the run worker writes its run's
# shard and the index; the daemon and the webserver read many runs' shards over a day, so
# the least recently used beyond this many are closed.
MAX_OPEN_SHARDS = 8
# Connections one engine keeps for its threads (the daemon and the webserver read from
# several); more at once open and close as Dagster's own do.
POOL_SIZE = 2
_INHERITED: list[Any] = []  # engines of a parent process, never used nor closed in a child


def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL (Dagster sets it when it creates a file) plus NORMAL: no fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def warm_engine(conn_string: str) -> Engine:
    """A SQLite engine that keeps up to POOL_SIZE connections open, usable from any thread
    (one at a time: the pool hands each connection to one borrower)."""
    engine = sqlalchemy.create_engine(
        conn_string,
        poolclass=QueuePool,
        pool_size=POOL_SIZE,
        max_overflow=-1,  # never make a caller wait; the extra ones close on return
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )
    sqlalchemy_event.listen(engine, "connect", _set_pragmas)
    return engine


def _ready(conn_string: str, tables: tuple[str, ...]) -> bool:
    """Whether the SQLite file exists with ``tables`` and an alembic stamp: then Dagster's
    own check (which reads every migration script of its alembic history, 0.2-0.5 s per file
    and process, in every step process of every run) would do nothing to it."""
    path = conn_string.removeprefix("sqlite:///")
    if not os.path.exists(path):
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return False
    try:
        found = {
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not {*tables, "alembic_version"} <= found:
            return False
        return conn.execute("SELECT version_num FROM alembic_version").fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()


class _Engines:
    """The warm engines of one storage, per database file, for the current process only."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._pid = os.getpid()
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conn_string: str) -> Engine:
        with self._lock:
            if self._pid != os.getpid():  # a fork: the parent's connections are not ours
                _INHERITED.append(self._engines)
                self._engines = OrderedDict()
                self._pid = os.getpid()
            engine = self._engines.get(conn_string)
            if engine is None:
                engine = self._engines[conn_string] = warm_engine(conn_string)
                while len(self._engines) > self._limit:
                    _oldest, evicted = self._engines.popitem(last=False)
                    evicted.dispose()
            else:
                self._engines.move_to_end(conn_string)
            return engine

    def dispose(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                for engine in self._engines.values():
                    engine.dispose()
            self._engines = OrderedDict()


class _WarmOneFile:
    """A Dagster storage kept in one SQLite file (``_FILE``.db), over one warm engine: mixed
    in before Dagster's class, whose ``__init__``, ``from_local`` and ``dispose`` it
    extends and whose ``connect`` it replaces. A file that already holds ``_TABLES`` is
    opened as it is (no migration check)."""

    _FILE: ClassVar[str]
    _TABLES: ClassVar[tuple[str, ...]]
    _conn_string: str

    def __init__(self, conn_string: str, inst_data: ConfigurableClassData | None = None):
        self._warm = _Engines(1)  # first: Dagster's __init__ may connect
        super().__init__(conn_string, inst_data)  # type: ignore[call-arg]

    @classmethod
    def from_local(cls, base_dir: str, inst_data: ConfigurableClassData | None = None) -> Any:
        conn_string = sqlite_conn_string(base_dir, cls._FILE)
        if _ready(conn_string, cls._TABLES):
            return cls(conn_string, inst_data)
        return super().from_local(base_dir, inst_data)  # type: ignore[misc]  # creates, stamps, migrates

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._warm.get(self._conn_string).connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()  # type: ignore[misc]
        self._warm.dispose()


class WarmSqliteRunStorage(_WarmOneFile, SqliteRunStorage):
    """Dagster's SQLite run storage (runs.db) over one warm engine."""

    _FILE = "runs"
    _TABLES = ("runs", "instance_info")


class WarmSqliteScheduleStorage(_WarmOneFile, SqliteScheduleStorage):
    """Dagster's SQLite schedule storage (schedules.db: ticks, sensor cursors) over one warm
    engine."""

    _FILE = "schedules"
    _TABLES = ("jobs", "job_ticks")


class WarmSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (one file per run, plus the index) over warm engines."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._warm = _Engines(MAX_OPEN_SHARDS)  # first: a new index is filled in __init__
        super().__init__(base_dir, inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As Dagster's own (one lock per process around each connection, the file created
        # on first use), but the engine is kept.
        with self._db_lock:
            conn_string = self.conn_string_for_shard(shard)
            engine = self._warm.get(conn_string)
            if shard not in self._initialized_dbs:
                if not _ready(conn_string, ("event_logs",)):
                    self._initdb(engine)  # creates and stamps a new file
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def wipe(self) -> None:
        self._warm.dispose()  # before Dagster deletes the files under the open connections
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._warm.dispose()


class WarmSqliteStorage(DagsterSqliteStorage):
    """`storage: sqlite` with the warm run, event log and schedule storages above."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # Not DagsterSqliteStorage.__init__: it would open Dagster's cold storages first.
        self.base_dir = base_dir
        self._run_storage = WarmSqliteRunStorage.from_local(runs_directory(base_dir))
        self._event_log_storage = WarmSqliteEventLogStorage(event_logs_directory(base_dir))
        self._schedule_storage = WarmSqliteScheduleStorage.from_local(schedules_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> WarmSqliteStorage:
        # Dagster's names its own class here, not ``cls``.
        os.makedirs(config_value["base_dir"], exist_ok=True)
        return cls(config_value["base_dir"], inst_data=inst_data)


class StepLogFiles(LocalComputeLogManager):
    """Dagster's local compute logs (each step's stdout and stderr in a file under
    DAGSTER_HOME/storage, shown in the UI), written straight to the files.

    Dagster's own also mirrors them back to the step's original stdout and stderr (here the
    daemon's log) through `tail -F` and a Python watcher process per stream: four processes
    per step, started and stopped on every step of every run. The files, which the UI reads,
    are the same.
    """

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> StepLogFiles:
        # Dagster's default place, DAGSTER_HOME/storage, unless one is given.
        base_dir = config_value.get("base_dir") or compute_logs_directory(
            os.environ["DAGSTER_HOME"]
        )
        return cls(base_dir, inst_data=inst_data)

    @contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[CapturedLogContext]:
        outpath = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
        errpath = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
        for path in (outpath, errpath):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with redirect_to_file(sys.stdout, outpath), redirect_to_file(sys.stderr, errpath):
            yield CapturedLogContext(log_key)
        # As Dagster's: the file that says the capture is complete.
        Path(self.complete_artifact_path(log_key)).touch()
