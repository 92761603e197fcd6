"""The one chDB engine of this process: its data folder, the connections requests run on,
the sessions, and the count of requests in flight (the lock that guards them)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from clickhouse_endpoint.errors import SESSION_IS_LOCKED, SESSION_NOT_FOUND, ClickHouseError
from clickhouse_endpoint.protocol import RequestOptions
from clickhouse_endpoint.sessions import ConnectionState, Session
from core.settings import analyst_password

SESSION_LOCK_WAIT = 2.0  # seconds a request waits for its session's previous request
# chDB's allocator (jemalloc, configured by this variable) keeps the pages a query freed
# for ClickHouse's 5 s before handing them back: the process held 2.1-2.2 GiB through a
# 20M-row load at scale 100 that needs 1.4 GiB. Handed back after 0.2 s, it peaks at
# 1.7 GiB, the load taking 5-10% longer (no difference measurable in a refresh). Set the
# variable to choose otherwise.
ALLOCATOR_CONF_VAR = "JE_MALLOC_CONF"
ALLOCATOR_CONF = "dirty_decay_ms:200"


class ServerStopping(Exception):
    """The server is stopping: no new request is taken."""


class Engine:
    """The chDB engine of this process, its sessions and its in-flight requests."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = str(data_dir)
        # Kept open for the lifetime of the server: the engine stops with its last connection.
        # Imported here, not at module level: importing chdb boots an in-memory engine
        # (and its allocator reads its configuration).
        os.environ.setdefault(ALLOCATOR_CONF_VAR, ALLOCATOR_CONF)
        import chdb

        self._connect: Callable[[str], Any] = chdb.connect
        self.primary = chdb.connect(self.path)
        version_tz = bytes(
            self.primary.query("SELECT version(), timezone()", "TabSeparated").bytes()
        )
        self.version, self.timezone = version_tz.decode().strip().split("\t")
        self.display_name = socket.gethostname()
        self.analyst_password = analyst_password()
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self.stopping = False

    def connect(self, readonly: bool = False) -> Any:
        """A new chDB connection; ``readonly``: writes, DDL and changing `readonly` refused
        for its whole life (the setting is the connection's, not the engine's)."""
        try:
            return self._connect(f"file:{self.path}?readonly=2" if readonly else self.path)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    @contextlib.contextmanager
    def request_slot(self) -> Iterator[None]:
        """Count a running request, so that :meth:`stop` can wait for it."""
        with self._lock:
            if self.stopping:
                raise ServerStopping
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    @contextlib.contextmanager
    def lease(self, options: RequestOptions) -> Iterator[ConnectionState]:
        """The connection a request runs on: its session's, or a fresh one."""
        # readonly cannot be reverted once set, so such queries never touch a session.
        if options.analyst or options.session_id is None or "readonly" in options.settings:
            connection = self.connect(readonly=options.analyst)
            try:
                yield ConnectionState(connection, persistent=False)
            finally:
                connection.close()
            return
        session = self._acquire_session(options)
        try:
            session.timeout = options.session_timeout
            yield session.state
        finally:
            session.last_used = time.monotonic()
            if options.close_session:
                self._close_session(session)
            session.lock.release()

    def _acquire_session(self, options: RequestOptions) -> Session:
        session_id = options.session_id
        assert session_id is not None
        deadline = time.monotonic() + SESSION_LOCK_WAIT
        while True:
            with self._lock:
                session = self.sessions.get(session_id)
                if session is None:
                    if options.session_check:
                        raise ClickHouseError.local(
                            SESSION_NOT_FOUND, f"Session {session_id} not found"
                        )
                    session = Session(
                        session_id,
                        ConnectionState(self.connect(), persistent=True),
                        options.session_timeout,
                    )
                    self.sessions[session_id] = session
            if not session.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise ClickHouseError.local(
                    SESSION_IS_LOCKED, f"Session {session_id} is locked by a concurrent client"
                )
            if not session.closed:
                return session
            session.lock.release()  # expired while we waited: take a new one

    def _close_session(self, session: Session) -> None:
        with self._lock:
            if self.sessions.get(session.session_id) is session:
                del self.sessions[session.session_id]
        session.closed = True
        with contextlib.suppress(Exception):
            session.state.connection.close()

    def expire_sessions(self) -> None:
        """Close the sessions idle for longer than their timeout (unless in use)."""
        now = time.monotonic()
        with self._lock:
            candidates = [s for s in self.sessions.values() if now - s.last_used > s.timeout]
        for session in candidates:
            if session.lock.acquire(blocking=False):
                try:
                    if time.monotonic() - session.last_used > session.timeout:
                        self._close_session(session)
                finally:
                    session.lock.release()

    def stop(self, grace: float) -> bool:
        """Refuse new requests, wait for running ones, close every connection.
        False when requests were still running after ``grace`` seconds."""
        deadline = time.monotonic() + grace
        with self._lock:
            self.stopping = True
            while self._in_flight and time.monotonic() < deadline:
                self._idle.wait(timeout=max(0.0, deadline - time.monotonic()))
            busy = self._in_flight > 0
        if busy:
            return False
        for session in list(self.sessions.values()):
            self._close_session(session)
        self.primary.close()
        return True
