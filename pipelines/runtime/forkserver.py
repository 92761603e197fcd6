"""Warm processes: dbt and Dagster's run workers start as forks of a process that imported them.

Every dbt invocation (two per refresh, three with the docs) and every Dagster run worker
used to start an interpreter and import its libraries: dbt-core and the adapters (2-4 s of
CPU), Dagster, dagster-dbt and GX (5-6 s), on a 2-core machine the refresh itself waits for.
The fork server imports them once, at `shopmarts up`. Each invocation is a fork of it that
runs the program's own command line with the caller's arguments, environment, working
folder and stdin/stdout/stderr (the descriptors travel over a unix socket), so to its caller
it is that program: same output, same exit code, signals forwarded.

    python -m pipelines.runtime.forkserver --socket PATH    # the server (`shopmarts up`)
    shopmarts-dbt build ...                                  # dagster-dbt's `dbt`
    fork("dagster", ["api", "execute_run", ...])             # the run launcher
    shopmarts refresh ...                                    # the command itself

Only libraries are imported in advance, never this project's own modules: a fork loads the
definitions, the extract and the gates from the files as they are, like a fresh process. The
programs are found by name in the fork (`shopmarts` is `pipelines.cli`, which sits above the
runtime: this module must not import it).
After upgrading a library, `shopmarts down && shopmarts up` restarts the server.

`shopmarts-dbt` asks the server named by SHOPMARTS_FORKSERVER and, when none answers,
becomes the real `dbt` (exec), so it is always safe to call. This module imports only the
standard library at the top: the client must start in milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NoReturn

SOCKET_VAR = "SHOPMARTS_FORKSERVER"
FORKED_VAR = "SHOPMARTS_FORKED"  # set in every child: it runs as a fork already
_MAX_REQUEST = 1 << 22  # argv + environment, as JSON

# What the server imports before it serves, besides each program's own command line (its
# console script's module): the libraries its runs import (the run worker's: the definitions'
# and the steps').
PRELOAD = {
    "dbt": ("dbt.adapters.postgres", "dbt.adapters.clickhouse"),
    "dagster": ("dagster_dbt", "great_expectations", "psycopg", "clickhouse_connect", "pyarrow"),
}
# What a run worker and `shopmarts refresh` import beyond the above before their first step
# (measured: the modules a run worker holds when it forks its first step, less the fork
# server's and our own): the instance's storage and its migrations, the executor, the
# daemon's and the logging libraries. 325 modules, 2-4 s of every run on 2 cores. Imported
# when present; a name a library upgrade moved is only not warmed.
WARM_IF_PRESENT = (
    "alembic.op",
    "alembic.runtime.migration",
    "alembic.script",
    "dagster._core.definitions.external_asset",
    "dagster._core.definitions.freshness_evaluator",
    "dagster._core.definitions.repository_definition.repository_data_builder",
    "dagster._core.execution.api",
    "dagster._core.execution.plan.active",
    "dagster._core.executor.child_process_executor",
    "dagster._core.executor.multiprocess",
    "dagster._core.instance.factory",
    "dagster._core.storage.local_compute_log_manager",
    "dagster._core.storage.root",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.system_config.composite_descent",
    "dagster._core.utility_ops",
    "dagster._daemon",
    "dagster._grpc.client",
    "dagster._scheduler",
    "fsspec.implementations.local",
    "great_expectations.render.renderer.site_builder",
    "mako.template",
    "psycopg2.extras",
    "pygments.lexers",
    "rich.console",
    "rich.traceback",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.ext.compiler",
    "structlog",
    "upath.implementations.local",
    "watchdog.observers",
)
# Our own command line, imported by name in the fork: the CLI imports the runtime, never back.
SHOPMARTS_CLI_MODULE = "pipelines.cli"


def _run_dbt(argv: list[str]) -> None:
    from dbt.cli.main import cli

    cli.main(args=argv, prog_name="dbt", standalone_mode=True)


def _run_dagster(argv: list[str]) -> None:
    from pipelines.runtime.dagster_private import run_dagster_cli

    run_dagster_cli(argv)


def _run_shopmarts(argv: list[str]) -> None:
    importlib.import_module(SHOPMARTS_CLI_MODULE).main.main(args=argv, prog_name="shopmarts")


PROGRAMS: dict[str, Callable[[list[str]], None]] = {
    "dbt": _run_dbt,
    "dagster": _run_dagster,
    "shopmarts": _run_shopmarts,
}


def _command_line_module(program: str) -> str:
    """The module of ``program``'s console script, as its package installs it."""
    from importlib.metadata import entry_points  # the server's only: the client stays light

    (script,) = entry_points(group="console_scripts", name=program)
    return script.module


# --- the callers' side ------------------------------------------------------------------


@dataclass
class Forked:
    """A program running as a fork of the server."""

    pid: int
    _connection: socket.socket
    _replies: BinaryIO

    def wait(self) -> int:
        """Its exit code, once it has exited."""
        ended = self._replies.readline()
        self.detach()
        return int(json.loads(ended)["exit"]) if ended else 1

    def become(self) -> NoReturn:
        """Stand for the program until it ends: signals forwarded, its exit code ours."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda number, _frame: os.kill(self.pid, number))
        sys.exit(self.wait())

    def detach(self) -> None:
        """Stop listening: the program runs on, its exit reported to nobody."""
        self._replies.close()
        self._connection.close()


def fork(
    program: str,
    argv: Sequence[str],
    stdio: tuple[int, int, int] = (0, 1, 2),
    path: str | None = None,
) -> Forked | None:
    """Run ``program argv`` as a fork of the server at ``path`` (default: SHOPMARTS_FORKSERVER)
    with this process's environment and folder and ``stdio`` as its stdin, stdout, stderr;
    None when no server answers (nothing was started)."""
    path = path or os.environ.get(SOCKET_VAR)
    if not path:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    request = {"program": program, "argv": list(argv), "env": dict(os.environ), "cwd": os.getcwd()}
    try:
        connection.connect(path)
        socket.send_fds(connection, [json.dumps(request).encode()], list(stdio))
        replies = connection.makefile("rb")
        started = replies.readline()
    except OSError:
        started = b""
    if not started:
        connection.close()
        return None
    return Forked(int(json.loads(started)["pid"]), connection, replies)


def _real_dbt(argv: list[str]) -> NoReturn:
    executable = str(Path(sys.executable).with_name("dbt"))
    os.execv(executable, [executable, *argv])


def client_main() -> NoReturn:
    """`shopmarts-dbt ARGS`: run `dbt ARGS` in a fork of the server, or as `dbt` itself."""
    argv = sys.argv[1:]
    forked = fork("dbt", argv)
    if forked is None:  # nothing ran, so dbt itself runs it
        _real_dbt(argv)
    forked.become()


# --- the server's side ------------------------------------------------------------------


def _become(request: dict, descriptors: list[int], connection: socket.socket) -> NoReturn:
    """In the forked child: become the program with the caller's argv, env, folder, stdio."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for target, descriptor in zip((0, 1, 2), descriptors, strict=True):
        os.dup2(descriptor, target)
        os.close(descriptor)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdio
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ[FORKED_VAR] = "1"
    program = request["program"]
    sys.argv = [program, *request["argv"]]
    sys.path[0] = str(Path(sys.executable).parent)  # as for the program's own script
    connection.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    code = 1
    try:
        PROGRAMS[program](request["argv"])
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported like the program's own crash, exit code 1
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        with contextlib.suppress(OSError):
            connection.sendall(json.dumps({"exit": code}).encode() + b"\n")
        os._exit(code)


def _describe(request: dict) -> str:
    argv = request["argv"]
    if request["program"] == "dagster" and argv[:2] == ["api", "execute_run"]:
        # The run's arguments carry the instance's settings: the log names the run only.
        run_id = json.loads(argv[2]).get("pipeline_run_id", "?") if len(argv) > 2 else "?"
        return f"dagster api execute_run (run {run_id})"
    return " ".join([request["program"], *argv])


def warm_caches(dbt_parse_states: Sequence[Path] = ()) -> None:
    """Fill, once here, what every child would otherwise build from the modules it holds.

    `inspect` maps source files to modules on first use by resolving the file of every
    loaded module (a realpath each, thousands of modules). dbt's adapters ask for it as
    they start: each behaviour flag names its caller's frame (`inspect.stack()`), 0.15-0.4 s
    of every dbt child's CPU. Filled here, a child resolves only the modules it imports
    itself.

    dbt's classes (de)serialize through code that mashumaro generates on first use, and
    they validate the project and the profile against JSON schemas built on first use: in
    a child, every invocation generated them again (a one-model build: 1.25 s of CPU, 0.7 s
    with them built here). The schemas need only the classes; the generated readers are
    those of what a build reads, so they are made by reading ``dbt_parse_states`` (the
    refreshes' last `partial_parse.msgpack`, whatever project it parsed) and building the
    graph dbt builds from it. A warm-up that fails only leaves the children cold.
    """
    import inspect

    inspect.stack()
    with contextlib.suppress(Exception):
        _warm_dbt(dbt_parse_states)


def _warm_dbt(parse_states: Sequence[Path]) -> None:
    from dbt.contracts import project
    from dbt.contracts.graph.manifest import Manifest
    from dbt.contracts.selection import SelectorFile
    from dbt.parser.manifest import extended_mashumuro_decoder

    adapters = [importlib.import_module(module).Plugin.credentials for module in PRELOAD["dbt"]]
    for validated in (
        project.Project,
        project.ProjectFlags,
        project.PackageConfig,
        project.ProfileConfig,
        project.Configuration,
        SelectorFile,
        *adapters,
    ):
        validated.json_schema()
    for state in parse_states:
        manifest = Manifest.from_msgpack(state.read_bytes(), decoder=extended_mashumuro_decoder)
        manifest.build_flat_graph()


def serve(path: Path, dbt_parse_states: Sequence[Path] = ()) -> NoReturn:
    """Import the programs, then fork one child per request on the unix socket at ``path``."""
    started = time.monotonic()
    for program, modules in PRELOAD.items():
        for module in (_command_line_module(program), *modules):
            importlib.import_module(module)  # once here, for every child
    for module in WARM_IF_PRESENT:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    warm_caches(dbt_parse_states)
    print(f"imported in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)

    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o077)  # the socket runs anything as this user: this user only
    try:
        server.bind(str(path))
    finally:
        os.umask(previous)
    server.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the children are reaped by the kernel

    def stop(_signum: int, _frame: object) -> NoReturn:
        path.unlink(missing_ok=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        connection, _address = server.accept()
        descriptors: list[int] = []
        try:
            message, descriptors, _flags, _ = socket.recv_fds(connection, _MAX_REQUEST, 3)
            request = json.loads(message)
            if request.get("program") not in PROGRAMS or len(descriptors) != 3:
                raise ValueError("not a request")
        except (OSError, ValueError):  # a probe, or not one of ours
            for descriptor in descriptors:
                os.close(descriptor)
            connection.close()
            continue
        child = os.fork()
        if child == 0:
            server.close()
            _become(request, descriptors, connection)
        print(f"pid {child}: {_describe(request)}", file=sys.stderr, flush=True)
        for descriptor in descriptors:
            os.close(descriptor)
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.runtime.forkserver")
    parser.add_argument("--socket", type=Path, required=True, help="unix socket to serve on")
    parser.add_argument(
        "--warm-dbt",
        type=Path,
        action="append",
        default=[],
        metavar="PARSE_STATE",
        help="a dbt partial_parse.msgpack to read once, warming what dbt's children read with",
    )
    args = parser.parse_args(argv)
    serve(args.socket, args.warm_dbt)  # never returns


if __name__ == "__main__":
    sys.exit(main())
