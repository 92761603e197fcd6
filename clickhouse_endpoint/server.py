"""The endpoint as a process: it owns one chDB data folder (an exclusive ``flock``), listens
on loopback, prints ``ready`` once it answers, and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

from clickhouse_endpoint.engine import Engine
from clickhouse_endpoint.errors import ClickHouseError
from clickhouse_endpoint.handler import EndpointServer

log = logging.getLogger("shopmarts.clickhouse_endpoint")

EXIT_OWNED = 3
EXIT_PORT_IN_USE = 4

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
SHUTDOWN_GRACE = 10.0  # seconds running requests get at a stop


class DataDirOwned(Exception):
    """Another live process owns the data folder (the message: its pid)."""


def claim_data_dir(data_dir: Path) -> int:
    """Take the data folder's owner lock (exclusive, non-blocking) and record our pid.
    Returns the lock's file descriptor, held for the life of the process."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock_path = data_dir / ".owner.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DataDirOwned(owner) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def release_data_dir(fd: int) -> None:
    """Give the data folder up: forget our pid, drop the lock."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    os.close(fd)


def _fail(message: str, code: int) -> NoReturn:
    print(f"shopmarts: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def serve(data_dir: Path, port: int, host: str = "127.0.0.1") -> None:
    """Own ``data_dir`` with chDB and serve it on the ClickHouse HTTP interface until
    SIGTERM/SIGINT. Prints ``ready`` on stdout once it answers queries.

    Exits (SystemExit) with 3 when another live process owns the folder, 4 when the
    port is taken, 2 for a host that is not loopback."""
    if host not in LOOPBACK_HOSTS and not host.startswith("127."):
        _fail(f"the ClickHouse endpoint listens on loopback only, not on {host}", 2)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # First thing: a SIGTERM while chDB starts up still ends in a clean stop.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    data_dir = data_dir.resolve()
    try:
        lock_fd = claim_data_dir(data_dir)
    except DataDirOwned as owned:
        _fail(f"ClickHouse data folder {data_dir} is owned by running process {owned}", EXIT_OWNED)
    try:
        try:
            server = EndpointServer((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                _fail(f"port {port} on {host} is already in use", EXIT_PORT_IN_USE)
            _fail(f"cannot listen on {host}:{port}: {exc.strerror}", 1)
        try:
            engine = Engine(data_dir)
        except Exception as exc:
            server.server_close()
            _fail(f"cannot open chDB in {data_dir}: {ClickHouseError.from_engine(exc).message}", 1)
        server.engine = engine
        _serve_until(server, engine, stop)
    finally:
        release_data_dir(lock_fd)


def _serve_until(server: EndpointServer, engine: Engine, stop: threading.Event) -> None:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.daemon = True
    thread.start()
    if not stop.is_set():
        log.info(
            "chDB %s serving %s on http://%s:%d/",
            engine.version,
            engine.path,
            *server.server_address[:2],
        )
        print("ready", flush=True)
    while not stop.wait(1.0):
        engine.expire_sessions()
    log.info("stopping")
    server.shutdown()
    server.server_close()
    if not engine.stop(SHUTDOWN_GRACE):
        log.warning(
            "requests still running after %.0f s; exiting without closing chDB", SHUTDOWN_GRACE
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    log.info("stopped")
