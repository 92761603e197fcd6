"""`dbt` without its start-up: a process with dbt imported forks one child per invocation.

Every dbt invocation (two per refresh, three with the docs) used to start an interpreter
and import dbt-core and the adapters: 2-4 s of CPU each on a 2-core machine. The fork
server imports them once. Each invocation is a fork of it that runs dbt's own CLI with the
caller's arguments, environment, working folder and stdin/stdout/stderr (the descriptors
travel over a unix socket), so to its caller (dagster-dbt) it is the `dbt` executable:
same output, same exit code, SIGINT forwarded.

    python -m pipelines.engines.dbt_forkserver --socket PATH   # the server (`shopmarts up`)
    shopmarts-dbt build ...                                    # the caller's `dbt`

`shopmarts-dbt` asks the server named by SHOPMARTS_DBT_FORKSERVER and, when none answers,
becomes the real `dbt` (exec), so it is always safe to call. This module imports only the
standard library at the top: the client must start in milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import NoReturn

SOCKET_VAR = "SHOPMARTS_DBT_FORKSERVER"
_MAX_REQUEST = 1 << 22  # argv + environment, as JSON


def _real_dbt(argv: list[str]) -> NoReturn:
    executable = str(Path(sys.executable).with_name("dbt"))
    os.execv(executable, [executable, *argv])


def client_main() -> NoReturn:
    """`shopmarts-dbt ARGS`: run `dbt ARGS` in a fork of the server, or as `dbt` itself."""
    argv = sys.argv[1:]
    path = os.environ.get(SOCKET_VAR)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if not path:
            raise OSError("no fork server")
        connection.connect(path)
    except OSError:
        connection.close()
        _real_dbt(argv)
    request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
    try:
        socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
        replies = connection.makefile("rb")
        started = replies.readline()
    except OSError:
        started = b""
    if not started:  # the server started no child: nothing ran, so dbt itself runs it
        connection.close()
        _real_dbt(argv)
    child = json.loads(started)["pid"]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: os.kill(child, number))
    ended = replies.readline()
    sys.exit(int(json.loads(ended)["exit"]) if ended else 1)


def _run_dbt(request: dict, descriptors: list[int], connection: socket.socket) -> NoReturn:
    """In the forked child: become `dbt` with the caller's argv, env, folder and stdio."""
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
    sys.argv = ["dbt", *request["argv"]]
    sys.path[0] = str(Path(sys.executable).parent)  # as for the `dbt` script itself
    connection.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    code = 1
    try:
        from dbt.cli.main import cli

        cli.main(args=request["argv"], prog_name="dbt", standalone_mode=True)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported like dbt's own crash, as exit code 1
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError):
                stream.flush()
        with contextlib.suppress(OSError):
            connection.sendall(json.dumps({"exit": code}).encode() + b"\n")
        os._exit(code)


def serve(path: Path) -> NoReturn:
    """Import dbt, then fork one child per request on the unix socket at ``path``."""
    import dbt.adapters.clickhouse  # noqa: F401 - imported once here, for every child
    import dbt.adapters.postgres  # noqa: F401
    import dbt.cli.main  # noqa: F401

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
        try:
            message, descriptors, _flags, _ = socket.recv_fds(connection, _MAX_REQUEST, 3)
            request = json.loads(message)
        except (OSError, ValueError):
            connection.close()
            continue
        child = os.fork()
        if child == 0:
            server.close()
            _run_dbt(request, descriptors, connection)
        print(f"pid {child}: dbt {' '.join(request['argv'])}", file=sys.stderr, flush=True)
        for descriptor in descriptors:
            os.close(descriptor)
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.engines.dbt_forkserver")
    parser.add_argument("--socket", type=Path, required=True, help="unix socket to serve on")
    args = parser.parse_args(argv)
    serve(args.socket)  # never returns


if __name__ == "__main__":
    sys.exit(main())
