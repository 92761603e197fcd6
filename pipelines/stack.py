"""`shopmarts up | down | status`: the embedded engines and the stack's processes as one stack.

It orchestrates both sides: the databases (`pipelines.engines`: PostgreSQL, the ClickHouse
endpoint) and the processes beside them (`pipelines.runtime`: the fork server, the Dagster
code server and daemon, the docs server).

State lives in :func:`state_dir`: `postgres/` (the cluster), `clickhouse/` (the chDB
data folder, owned by the one endpoint process), `dagster/` (DAGSTER_HOME) and
`stack.json` with the ports and pids the other processes read.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from core.errors import ShopmartsError
from core.settings import (
    PROJECT_ROOT,
    get_environment,
    read_stack,
    redact,
    stack_file,
    state_dir,
)
from pipelines.engines.postgres import EmbeddedPostgres

POSTGRES_PORT_VAR = "SHOPMARTS_POSTGRES_PORT"
CLICKHOUSE_PORT_VAR = "SHOPMARTS_CLICKHOUSE_PORT"
DOCS_PORT_VAR = "SHOPMARTS_DOCS_PORT"


def _scalar(conn: Any, query: str) -> Any:  # a psycopg connection, imported lazily
    row = conn.execute(query).fetchone()
    if row is None:
        raise ShopmartsError(f"no row from {query!r}")
    return row[0]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _choose_port(variable: str, remembered: int | None, engine: str) -> int:
    """A port fixed by env var must be free; else reuse the remembered one, else any free one."""
    fixed = os.environ.get(variable)
    if fixed:
        try:
            port = int(fixed)
        except ValueError as error:
            raise ShopmartsError(f"{variable} is not a port number: {fixed!r}") from error
        if not port_is_free(port):
            raise ShopmartsError(
                f"port {port} on 127.0.0.1 is already in use ({engine}, {variable})"
            )
        return port
    if remembered and port_is_free(remembered):
        return remembered
    return free_port()


def _write_stack(stack: dict) -> None:
    path = stack_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stack, indent=2))
    tmp.replace(path)


def _process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def clickhouse_ping(port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=timeout) as response:
            return response.read() == b"Ok.\n"
    except OSError:
        return False


def docs_ping(port: int, timeout: float = 1.0) -> bool:
    """Whether the docs server answers on ``port``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=timeout) as response:
            return response.read() == b"Ok.\n"
    except OSError:
        return False


def _spawn_module(module: str, args: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    """``python -m module args`` as a server of the stack: its own session (it outlives
    this command), output appended to ``log_file``, run from the project folder."""
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=PROJECT_ROOT,
        )


def _start_docs_server(root: Path, port: int, log_file: Path) -> int:
    """Start the docs server (GX Data Docs and dbt docs over http) detached; its pid."""
    process = _spawn_module(
        "pipelines.runtime.docs_server",
        ["--root", str(root), "--host", "127.0.0.1", "--port", str(port)],
        log_file,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ShopmartsError(f"the docs server exited at once (log: {log_file})")
        if docs_ping(port, timeout=0.5):
            return process.pid
        time.sleep(0.1)
    process.kill()
    raise ShopmartsError(f"the docs server did not answer within 30 s (log: {log_file})")


def _owner_of(data_dir: Path) -> int | None:
    """Pid recorded by the process owning the chDB folder, if that process lives."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int((data_dir / ".owner.lock").read_text().strip() or 0)
        if _process_alive(pid):
            return pid
    return None


def _start_clickhouse(data_dir: Path, port: int, log_file: Path) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    owner = _owner_of(data_dir)
    if owner is not None:
        raise ShopmartsError(
            f"ClickHouse data folder {data_dir} is owned by running process {owner}; "
            "stop it (shopmarts down) or kill it first"
        )
    process = _spawn_module(
        "clickhouse_endpoint",
        ["--data-dir", str(data_dir), "--port", str(port)],
        log_file,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            lines = log_file.read_text(errors="replace").strip().splitlines()
            reason = next((ln for ln in reversed(lines) if ln.startswith("shopmarts:")), None)
            raise ShopmartsError(
                (reason.removeprefix("shopmarts: ") if reason else "ClickHouse endpoint exited")
                + f" (log: {log_file})"
            )
        if clickhouse_ping(port, timeout=0.5):
            return process.pid
        time.sleep(0.1)
    process.kill()
    raise ShopmartsError(f"the ClickHouse endpoint did not answer within 60 s (log: {log_file})")


@dataclass
class EngineStatus:
    name: str
    url: str
    healthy: bool
    version: str
    data_bytes: int
    pid: int | None
    detail: str = ""


def _folder_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def postgres_cluster() -> EmbeddedPostgres:
    stack = read_stack()
    return EmbeddedPostgres(
        state_dir() / "postgres" / "data", stack.get("postgres", {}).get("port", 0)
    )


ALL_PARTS = ("postgres", "clickhouse", "docs", "dagster")


class _Progress:
    """Tells the caller (`shopmarts up`) what starts, as it starts: each part's first line
    comes before the wait, so a slow start is never a silent one."""

    def __init__(self, report: Callable[[str], None] | None) -> None:
        self._report = report
        self._started = 0.0

    def running(self, part: str, where: str) -> None:
        self._say(f"{part:<20} already running ({where})")

    def starting(self, part: str, where: str) -> None:
        self._started = time.monotonic()
        self._say(f"{part:<20} starting ({where}) ...")

    def started(self, part: str, detail: str = "") -> None:
        seconds = time.monotonic() - self._started
        self._say(f"{part:<20} up in {seconds:.1f} s" + (f" ({detail})" if detail else ""))

    def external(self, part: str, variables: str) -> None:
        self._say(f"{part:<20} external ({variables}): nothing to start")

    def _say(self, line: str) -> None:
        if self._report is not None:
            self._report(line)


def up(engines: tuple[str, ...] = ALL_PARTS, report: Callable[[str], None] | None = None) -> dict:
    """Start whatever embedded engine is not running; a no-op when all are. Returns the stack.

    ``report`` receives one line as each part starts (or is found running)."""
    progress = _Progress(report)
    environment = get_environment(require_running=False)
    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    stack = read_stack()

    if not environment.embedded_postgres and "postgres" in engines:
        progress.external("PostgreSQL", "SHOP_DATABASE_URL, WAREHOUSE_DATABASE_URL")
    if environment.embedded_postgres and "postgres" in engines:
        cluster = postgres_cluster()
        if cluster.pid() is None:
            cluster.port = _choose_port(
                POSTGRES_PORT_VAR, stack.get("postgres", {}).get("port"), "PostgreSQL"
            )
            progress.starting("PostgreSQL", f"127.0.0.1:{cluster.port}")
            cluster.start()
            progress.started("PostgreSQL", f"pid {cluster.pid()}")
        else:
            cluster.start()  # idempotent: makes sure the databases exist
            progress.running("PostgreSQL", f"127.0.0.1:{cluster.port}, pid {cluster.pid()}")
        stack["postgres"] = {"port": cluster.port, "pid": cluster.pid()}
        _write_stack(stack)

    if not environment.embedded_clickhouse and "clickhouse" in engines:
        progress.external("ClickHouse", "CLICKHOUSE_URL")
    if environment.embedded_clickhouse and "clickhouse" in engines:
        clickhouse = stack.get("clickhouse", {})
        data_dir = root / "clickhouse" / "data"
        pid, port = clickhouse.get("pid"), clickhouse.get("port")
        if not (_process_alive(pid) and port and clickhouse_ping(port)):
            if _process_alive(pid) and _owner_of(data_dir) == pid:
                # Alive but not answering: a hung endpoint. Replace it.
                os.kill(pid, signal.SIGKILL)
                _wait_until_exited([psutil.Process(pid)], timeout=10)
            port = _choose_port(CLICKHOUSE_PORT_VAR, port, "ClickHouse")
            progress.starting("ClickHouse", f"chDB on 127.0.0.1:{port}")
            pid = _start_clickhouse(data_dir, port, root / "clickhouse.log")
            progress.started("ClickHouse", f"pid {pid}")
        else:
            progress.running("ClickHouse", f"127.0.0.1:{port}, pid {pid}")
        stack["clickhouse"] = {"port": port, "pid": pid}
        _write_stack(stack)

    if "docs" in engines:
        # Before Dagster: the checks' Data Docs links name this server's port.
        docs = stack.get("docs_server", {})
        pid, port = docs.get("pid"), docs.get("port")
        if not (_process_alive(pid) and port and docs_ping(port)):
            port = _choose_port(DOCS_PORT_VAR, port, "docs server")
            pid = _start_docs_server(root, port, root / "docs-server.log")
        stack["docs_server"] = {"pid": pid, "port": port}
        _write_stack(stack)

    if "dagster" in engines:
        from pipelines.runtime.dagster_processes import (
            code_server_serves,
            start_code_server,
            start_daemon,
            start_forkserver,
        )

        # Before the daemon: it launches the run workers as forks of this server, and they
        # call dbt through it.
        forkserver = stack.get("forkserver", {}).get("pid")
        if not _process_alive(forkserver):
            from pipelines.defs.dbt.connection import PARTIAL_PARSE_FILE, TARGETS, dbt_runs_dir

            progress.starting("fork server", "imports dbt, Dagster and GX once")
            parse_states = [dbt_runs_dir(target) / PARTIAL_PARSE_FILE for target in TARGETS]
            forkserver = start_forkserver(
                root / "forkserver.log", [state for state in parse_states if state.exists()]
            )
            progress.started(
                "fork server",
                f"pid {forkserver}" if forkserver else "not serving: new processes instead",
            )
        else:
            progress.running("fork server", f"pid {forkserver}")
        stack["forkserver"] = {"pid": forkserver}

        server = stack.get("dagster_code_server", {})
        pid, port = server.get("pid"), server.get("port")
        daemon = stack.get("dagster_daemon", {}).get("pid")
        if not (_process_alive(pid) and port and code_server_serves(port)):
            for stale in (daemon, pid):  # a daemon would keep asking the old server's port
                if _process_alive(stale):
                    _stop_process_tree(stale)
            port = free_port()
            progress.starting("Dagster code server", f"grpc://127.0.0.1:{port}")
            pid = start_code_server(root / "dagster-code-server.log", port)
            progress.started("Dagster code server", f"pid {pid}, definitions loaded")
        else:
            progress.running("Dagster code server", f"grpc://127.0.0.1:{port}, pid {pid}")
        stack["dagster_code_server"] = {"pid": pid, "port": port}
        _write_stack(stack)
        pid = daemon
        if not _process_alive(pid):
            progress.starting("Dagster daemon", "schedules, run queue, sensors")
            pid = start_daemon(root / "dagster-daemon.log")
            progress.started("Dagster daemon", f"pid {pid}")
        else:
            progress.running("Dagster daemon", f"pid {pid}")
        stack["dagster_daemon"] = {"pid": pid}
        _write_stack(stack)
    return stack


def down() -> list[str]:
    """Stop every embedded engine; returns what was stopped. Data stays."""
    stopped = []
    stack = read_stack()
    # The daemon first: it may be launching runs that talk to the engines.
    for key, name in (
        ("dagster_daemon", "Dagster daemon"),
        ("dagster_code_server", "Dagster code server"),
        ("forkserver", "fork server"),
        ("docs_server", "docs server"),
        ("clickhouse", "ClickHouse"),
    ):
        pid = stack.get(key, {}).get("pid")
        if _process_alive(pid):
            _stop_process_tree(pid)
            stopped.append(name)
    cluster = postgres_cluster()
    if cluster.pid() is not None:
        cluster.stop()
        stopped.append("PostgreSQL")
    return stopped


def _stop_process_tree(pid: int) -> None:
    """SIGTERM a process and its children, SIGKILL whatever is left after a grace period."""
    process = psutil.Process(pid)
    family = [process, *process.children(recursive=True)]
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.terminate()
    alive = _wait_until_exited(family, timeout=20)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    _wait_until_exited(alive, timeout=5)


def _wait_until_exited(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every one of ``processes`` has exited; returns those still running.

    A zombie has exited (:func:`_process_alive`): only its parent's reaping is left, and
    ours are daemons of PID 1, which may reap them seconds later (`psutil.wait_procs`
    waits for that: about 2 s a process here)."""
    deadline = time.monotonic() + timeout
    alive = [p for p in processes if _process_alive(p.pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if _process_alive(p.pid)]
    return alive


def status() -> list[EngineStatus]:
    """Version, URL, data size and health of each engine (embedded or external)."""
    import clickhouse_connect
    import psycopg

    environment = get_environment(require_running=False)
    stack = read_stack()
    result = []
    for name, url, embedded in (
        ("shop", environment.shop_url, environment.embedded_postgres),
        ("warehouse", environment.warehouse_url, environment.embedded_postgres),
    ):
        pid = stack.get("postgres", {}).get("pid") if embedded else None
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                version = str(_scalar(conn, "SHOW server_version"))
                size = int(_scalar(conn, "SELECT pg_database_size(current_database())"))
            result.append(EngineStatus(f"PostgreSQL {name}", redact(url), True, version, size, pid))
        except psycopg.Error as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else "down"
            result.append(
                EngineStatus(f"PostgreSQL {name}", redact(url), False, "-", 0, pid, first_line)
            )
    pid = stack.get("clickhouse", {}).get("pid") if environment.embedded_clickhouse else None
    try:
        client = clickhouse_connect.get_client(dsn=environment.clickhouse_url, connect_timeout=3)
        version = str(client.server_version)
        size = int(
            str(client.command("SELECT sum(bytes_on_disk) FROM system.parts WHERE active") or 0)
        )
        if environment.embedded_clickhouse:
            size = max(size, _folder_size(state_dir() / "clickhouse" / "data"))
        client.close()
        result.append(
            EngineStatus("ClickHouse", redact(environment.clickhouse_url), True, version, size, pid)
        )
    except Exception as error:  # noqa: BLE001 - any failure means "down" here
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "down"
        result.append(
            EngineStatus(
                "ClickHouse",
                redact(environment.clickhouse_url),
                False,
                "-",
                0,
                pid,
                first_line[:200],
            )
        )
    result += _docs_status(stack)
    result += _dagster_status(stack)
    return result


def _docs_status(stack: dict) -> list[EngineStatus]:
    """The docs server, when this stack has started it."""
    if "docs_server" not in stack:
        return []
    server = stack["docs_server"]
    serving = _process_alive(server.get("pid")) and docs_ping(server["port"])
    return [
        EngineStatus(
            "Docs server",  # GX Data Docs and dbt docs
            f"http://127.0.0.1:{server['port']}/",
            serving,
            "-",
            _folder_size(state_dir() / "gx") + _folder_size(state_dir() / "docs"),
            server.get("pid"),
            "" if serving else "not serving",
        )
    ]


def _dagster_status(stack: dict) -> list[EngineStatus]:
    """The code server and the daemon, when this stack has started them."""
    if "dagster_code_server" not in stack:
        return []
    from importlib.metadata import version

    from pipelines.runtime.dagster_processes import code_server_serves, dagster_home

    server, daemon = stack["dagster_code_server"], stack.get("dagster_daemon", {})
    serving = _process_alive(server.get("pid")) and code_server_serves(server["port"])
    return [
        EngineStatus(
            "Dagster code server",
            f"grpc://127.0.0.1:{server['port']}",
            serving,
            version("dagster"),
            0,
            server.get("pid"),
            "" if serving else "not serving the definitions",
        ),
        EngineStatus(
            "Dagster daemon",
            f"DAGSTER_HOME={dagster_home()}",
            _process_alive(daemon.get("pid")),
            version("dagster"),
            _folder_size(dagster_home()),
            daemon.get("pid"),
            "" if _process_alive(daemon.get("pid")) else "not running",
        ),
    ]
