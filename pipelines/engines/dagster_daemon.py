"""The Dagster daemon of the embedded stack: runs the schedules and dequeues refresh runs.

`shopmarts up` starts it beside the engines (DAGSTER_HOME under the state folder, SQLite
storage, the queued run coordinator of `dagster.yaml`), so a scheduled or a
`shopmarts refresh` run goes through one path: Dagster's run queue.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pipelines.engines.settings import PROJECT_ROOT, state_dir
from pipelines.errors import ShopmartsError

DEFINITIONS_MODULE = "pipelines.definitions"


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
    return environ


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


def start_daemon(log_file: Path) -> int:
    """Start `dagster-daemon run` detached (ending strays first); returns its pid."""
    import psutil

    for pid in stray_daemons():
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
    initialize_instance()
    executable = Path(sys.executable).with_name("dagster-daemon")
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [str(executable), "run", "-m", DEFINITIONS_MODULE],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=PROJECT_ROOT,
            env=dagster_environment(),
        )
    time.sleep(0.5)
    if process.poll() is not None:
        raise ShopmartsError(f"the Dagster daemon exited at once (log: {log_file})")
    return process.pid
