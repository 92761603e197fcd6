"""The Dagster side of the embedded stack: one code server and the daemon.

`shopmarts up` starts both beside the engines (DAGSTER_HOME under the state folder, SQLite
storage, the queued run coordinator of `dagster.yaml`), so a scheduled or a
`shopmarts refresh` run goes through one path: Dagster's run queue.

The code server loads the definitions once and serves them over gRPC to every Dagster
process of the stack through `workspace.yaml` in DAGSTER_HOME: the daemon, the webserver
and `shopmarts refresh` each skip loading the dbt manifests, GX and the assets (seconds
per command), and the daemon stops reloading its own copy in the background. A changed
definition is picked up by `shopmarts down && shopmarts up`, or by "Reload" in the UI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from core.errors import ShopmartsError
from core.settings import PROJECT_ROOT, state_dir
from pipelines.runtime.forkserver import SOCKET_VAR

DEFINITIONS_MODULE = "pipelines.definitions"
# The code location's name: the same as when Dagster loads the module itself (`-m`).
CODE_LOCATION = DEFINITIONS_MODULE
CODE_SERVER_START_SECONDS = 180
FORKSERVER_START_SECONDS = 120  # importing dbt, Dagster and GX


def dagster_home() -> Path:
    """DAGSTER_HOME for the embedded stack (an explicit DAGSTER_HOME wins)."""
    return Path(os.environ.get("DAGSTER_HOME") or state_dir() / "dagster").resolve()


def prepare_dagster_home() -> Path:
    """Create DAGSTER_HOME holding a fresh copy of the project's dagster.yaml."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    source = PROJECT_ROOT / "dagster.yaml"
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)
    return home


def dagster_environment() -> dict[str, str]:
    """The environment every Dagster process of the stack runs with."""
    environ = dict(os.environ)
    environ["DAGSTER_HOME"] = str(prepare_dagster_home())
    environ["SHOPMARTS_HOME"] = str(state_dir())
    environ[SOCKET_VAR] = str(forkserver_socket())
    return environ


def stop_schedules(names: list[str]) -> None:
    """Stop the schedules ``names`` in the stack's Dagster instance (`dagster schedule stop`
    against its code server): for a benchmark or a test that runs the refreshes it measures
    itself, where an hourly tick at :05 would queue one of its own among them. The
    instance keeps them stopped across restarts, until started again (the UI, or
    `dagster schedule start`)."""
    dagster = str(Path(sys.executable).with_name("dagster"))
    for name in names:
        subprocess.run(
            [dagster, "schedule", "stop", name, "--workspace", str(workspace_file())],
            check=True,
            env=dagster_environment(),
            stdout=subprocess.DEVNULL,
        )


def forkserver_socket() -> Path:
    return state_dir() / "forkserver.sock"


def start_forkserver(log_file: Path, dbt_parse_states: Sequence[Path] = ()) -> int | None:
    """Start the fork server detached and wait until it answers; its pid, or None if it could
    not serve (dbt and the run workers then start as new processes). It warms dbt with
    ``dbt_parse_states`` (forkserver.warm_caches)."""
    path = forkserver_socket()
    if len(str(path)) > 100:  # AF_UNIX paths are limited to 108 bytes
        return None
    warm = [argument for state in dbt_parse_states for argument in ("--warm-dbt", str(state))]
    process = _spawn(
        Path(sys.executable).name,
        ["-m", "pipelines.runtime.forkserver", "--socket", str(path), *warm],
        log_file,
    )
    deadline = time.monotonic() + FORKSERVER_START_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(str(path)) == 0:
                return process.pid
        time.sleep(0.1)
    if process.poll() is None:
        process.kill()
    return None


def initialize_instance() -> None:
    """Create the instance's storage once, here, before any other Dagster process races to."""
    from dagster import DagsterInstance

    home = prepare_dagster_home()
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with DagsterInstance.from_config(str(home)):
            pass
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def stray_daemons() -> list[int]:
    """Pids of daemons serving this DAGSTER_HOME that the stack does not know of (e.g. left
    from a state folder deleted under them): two daemons would launch every run twice."""
    import psutil

    home = str(dagster_home())
    strays = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if "dagster-daemon" not in command or " run" not in command:
            continue
        try:
            if process.environ().get("DAGSTER_HOME") == home:
                strays.append(process.info["pid"])
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    return strays


def workspace_file() -> Path:
    """The workspace every Dagster process of the stack loads: the stack's code server."""
    return dagster_home() / "workspace.yaml"


def write_workspace(port: int) -> Path:
    path = workspace_file()
    path.write_text(
        "# Written by `shopmarts up`: the daemon, the webserver and `shopmarts refresh` read\n"
        "# the definitions from the code server it started.\n"
        "load_from:\n"
        "  - grpc_server:\n"
        "      host: 127.0.0.1\n"
        f"      port: {port}\n"
        f"      location_name: {CODE_LOCATION}\n"
    )
    return path


def code_server_serves(port: int) -> bool:
    """Whether a code server on ``port`` answers with the definitions loaded."""
    from pipelines.runtime.dagster_private import DagsterGrpcClient

    try:
        DagsterGrpcClient(port=port, host="127.0.0.1").list_repositories()
    except Exception:  # noqa: BLE001 - not up yet, still loading, or not ours
        return False
    return True


def _spawn(program: str, args: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    """Start a program of this venv detached from us, in the stack's environment, logging
    to ``log_file``."""
    executable = Path(sys.executable).with_name(program)
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            [str(executable), *args],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=PROJECT_ROOT,
            env=dagster_environment(),
        )


def start_code_server(log_file: Path, port: int) -> int:
    """Start `dagster code-server start` detached and wait until it serves; returns its pid."""
    process = _spawn(
        "dagster",
        [
            "code-server", "start", "-m", DEFINITIONS_MODULE, "--location-name", CODE_LOCATION,
            "-h", "127.0.0.1", "-p", str(port),
        ],
        log_file,
    )  # fmt: skip
    deadline = time.monotonic() + CODE_SERVER_START_SECONDS
    while not code_server_serves(port):
        if process.poll() is not None:
            raise ShopmartsError(f"the Dagster code server exited at once (log: {log_file})")
        if time.monotonic() > deadline:
            process.kill()
            raise ShopmartsError(
                f"the Dagster code server did not load the definitions within "
                f"{CODE_SERVER_START_SECONDS} s (log: {log_file})"
            )
        time.sleep(0.5)
    write_workspace(port)
    return process.pid


def start_daemon(log_file: Path) -> int:
    """Start `dagster-daemon run` detached (ending strays first); returns its pid."""
    import psutil

    for pid in stray_daemons():
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
    initialize_instance()
    process = _spawn("dagster-daemon", ["run", "-w", str(workspace_file())], log_file)
    time.sleep(0.5)
    if process.poll() is not None:
        raise ShopmartsError(f"the Dagster daemon exited at once (log: {log_file})")
    return process.pid
