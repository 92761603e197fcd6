"""`shopmarts up | down | status | query` on a stack of its own (these tests stop and kill it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import psutil
import psycopg
import pytest

SHOPMARTS = [sys.executable, "-m", "pipelines.cli"]
ENGINE_VARS = ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL")


def run_cli(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ENGINE_VARS}
    environ.update(SHOPMARTS_HOME=str(home), **env)
    return subprocess.run(
        [*SHOPMARTS, *args], env=environ, capture_output=True, text=True, timeout=180
    )


def stack_json(home: Path) -> dict:
    import json

    return json.loads((home / "stack.json").read_text())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("engines-home")
    result = run_cli(["up"], home)
    assert result.returncode == 0, result.stderr
    yield home
    run_cli(["down"], home)


def exited(pid: int) -> bool:
    """Gone, or a zombie PID 1 has not reaped yet (`down` does not wait for the reaping)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def clickhouse_client(home: Path):  # noqa: ANN201
    port = stack_json(home)["clickhouse"]["port"]
    return clickhouse_connect.get_client(host="127.0.0.1", port=port, username="default")


def postgres_url(home: Path, database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{stack_json(home)['postgres']['port']}/{database}"


def test_up_twice_is_a_no_op(home: Path) -> None:
    before = stack_json(home)
    result = run_cli(["up"], home)
    assert result.returncode == 0, result.stderr
    assert stack_json(home) == before
    assert "clickhouse http://default:@127.0.0.1:" in result.stdout
    # Each part says it is there, in the order `up` checks them.
    parts = [
        line.split("  ")[0] for line in result.stdout.splitlines() if "already running" in line
    ]
    assert parts == [
        "PostgreSQL", "ClickHouse", "fork server", "Dagster code server", "Dagster daemon"
    ], result.stdout  # fmt: skip


def test_status_reports_every_engine(home: Path) -> None:
    result = run_cli(["status"], home)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0:2] for line in lines] == [
        ["PostgreSQL", "shop"],
        ["PostgreSQL", "warehouse"],
        ["ClickHouse", "up"],
        ["Docs", "server"],
        ["Dagster", "code"],
        ["Dagster", "daemon"],
        ["Source", "profile"],
    ]
    assert lines[3].split()[2] == "up" and "http://127.0.0.1:" in lines[3], lines[3]
    assert lines[4].split()[3] == "up" and "grpc://127.0.0.1:" in lines[4], lines[4]
    assert lines[5].split()[2] == "up" and "DAGSTER_HOME=" in lines[5], lines[5]
    assert "18." in lines[0] and "26." in lines[2]
    assert lines[6].split()[2] == "canonical", lines[6]


def test_query_prints_csv_on_each_target(home: Path) -> None:
    for target in ("warehouse", "shop", "clickhouse"):
        result = run_cli(["query", "--target", target, "SELECT 1 AS one, 'a,b' AS two"], home)
        assert result.returncode == 0, result.stderr
        assert result.stdout == 'one,two\n1,"a,b"\n'


def test_query_error_is_one_line(home: Path) -> None:
    result = run_cli(["query", "--target", "clickhouse", "SELECT * FROM no_such_table"], home)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no_such_table" in result.stderr
    result = run_cli(["query", "SELECT * FROM no_such_table"], home)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no_such_table" in result.stderr


def test_data_survives_down_and_up(home: Path) -> None:
    """`down` stops every part and leaves no process behind; the next `up` starts each
    part afresh, saying so, and the data is still there."""
    with psycopg.connect(postgres_url(home, "warehouse"), autocommit=True) as conn:
        conn.execute("CREATE TABLE survives (id int)")
        conn.execute("INSERT INTO survives SELECT generate_series(1, 1000)")
    client = clickhouse_client(home)
    client.command("CREATE TABLE survives (id UInt64) ENGINE = MergeTree ORDER BY id")
    client.command("INSERT INTO survives SELECT number FROM numbers(1000)")
    client.close()

    pids = [stack_json(home)[part]["pid"] for part in ("postgres", "clickhouse", "forkserver")]
    result = run_cli(["down"], home)
    assert result.returncode == 0, result.stderr
    assert "PostgreSQL" in result.stdout and "ClickHouse" in result.stdout
    assert all(exited(pid) for pid in pids)
    leftovers = [
        p.info["pid"] for p in psutil.process_iter(["pid", "cmdline"])
        if str(home) in " ".join(p.info["cmdline"] or []) and not exited(p.info["pid"])
    ]  # fmt: skip
    assert leftovers == []
    result = run_cli(["query", "SELECT 1"], home)
    assert result.returncode == 1 and "down" in result.stderr and "shopmarts up" in result.stderr

    result = run_cli(["up"], home)
    assert result.returncode == 0, result.stderr
    # A fresh start reports each part before waiting for it, then how long it took.
    lines = result.stdout.splitlines()
    for part in ("PostgreSQL", "ClickHouse", "Dagster code server", "Dagster daemon"):
        starting = next(i for i, line in enumerate(lines) if line.startswith(f"{part}  "))
        assert "starting (" in lines[starting], lines
        assert lines[starting + 1].startswith(part) and " up in " in lines[starting + 1], lines
    with psycopg.connect(postgres_url(home, "warehouse")) as conn:
        assert conn.execute("SELECT count(*) FROM survives").fetchone() == (1000,)
    client = clickhouse_client(home)
    assert client.command("SELECT count() FROM survives") == 1000
    client.close()


def test_sigkilled_endpoint_comes_back_with_every_acknowledged_insert(home: Path) -> None:
    client = clickhouse_client(home)
    client.command("CREATE TABLE acked (id UInt64, batch UInt32) ENGINE = MergeTree ORDER BY id")
    for batch in range(20):
        client.insert("acked", [[batch * 100 + i, batch] for i in range(100)], ["id", "batch"])
    client.close()
    pid = stack_json(home)["clickhouse"]["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not exited(pid) and time.monotonic() < deadline:
        time.sleep(0.02)

    result = run_cli(["up"], home)
    assert result.returncode == 0, result.stderr
    assert stack_json(home)["clickhouse"]["pid"] != pid
    client = clickhouse_client(home)
    assert client.query("SELECT count(), uniqExact(id) FROM acked").result_rows == [(2000, 2000)]
    client.close()


def test_bad_url_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli(["status"], tmp_path, CLICKHOUSE_URL="clickhouse://nowhere")
    assert result.returncode == 1
    assert result.stderr == (
        "shopmarts: CLICKHOUSE_URL is not a ClickHouse HTTP URL "
        "(expected http[s]://user:pass@host:port/): clickhouse://nowhere\n"
    )
    result = run_cli(["up"], tmp_path, SHOP_DATABASE_URL="postgresql://u:secret@host:notaport/shop")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "SHOP_DATABASE_URL has a bad port" in result.stderr and "secret" not in result.stderr


def test_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(["up"], tmp_path, SHOPMARTS_CLICKHOUSE_PORT=str(port))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    run_cli(["down"], tmp_path)


def test_owned_data_folder_is_one_clear_line(home: Path) -> None:
    owner = stack_json(home)["clickhouse"]["pid"]
    data_dir = home / "clickhouse" / "data"
    result = subprocess.run(
        [sys.executable, "-m", "clickhouse_endpoint",
         "--data-dir", str(data_dir), "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0
    assert f"owned by running process {owner}" in result.stderr


def test_dbt_runs_as_a_fork_of_the_fork_server(home: Path) -> None:
    """`shopmarts-dbt` is dbt: a fork of the stack's fork server when it answers (output and
    exit code reach the caller), dbt itself when it does not."""
    forked = str(Path(sys.executable).with_name("shopmarts-dbt"))
    assert psutil.pid_exists(stack_json(home)["forkserver"]["pid"])

    def dbt(socket_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        environ = {**os.environ, "SHOPMARTS_FORKSERVER": str(socket_path)}
        return subprocess.run(
            [forked, *args], env=environ, capture_output=True, text=True, timeout=120
        )

    served = home / "forkserver.sock"
    helped = dbt(served, "--help")
    assert helped.returncode == 0 and "Usage: dbt" in helped.stdout
    failed = dbt(served, "debug", "--project-dir", str(home / "no-such-project"))
    assert failed.returncode == 2 and "no-such-project" in failed.stderr + failed.stdout
    log = (home / "forkserver.log").read_text()
    assert ": dbt --help" in log and ": dbt debug --project-dir" in log  # both were forks
    alone = dbt(home / "no-server.sock", "--help")
    assert alone.returncode == 0 and "Usage: dbt" in alone.stdout


def test_dagster_and_shopmarts_run_as_forks_of_the_fork_server(home: Path) -> None:
    """The fork server's other programs: `dagster` (what the run workers run, through the
    private-API module) and `shopmarts` (found by its module's name: the CLI imports the
    runtime, the runtime never imports the CLI). Output and exit code reach the caller."""
    from pipelines.runtime.forkserver import fork

    served = str(home / "forkserver.sock")
    for program, args, expected in (
        ("dagster", ["--version"], "dagster, version"),
        ("shopmarts", ["--help"], "Usage: shopmarts"),
    ):
        read, write = os.pipe()
        with open(os.devnull, "rb") as devnull:
            forked = fork(program, args, stdio=(devnull.fileno(), write, write), path=served)
        os.close(write)
        assert forked is not None, "the fork server did not answer"
        with os.fdopen(read) as output:
            printed = output.read()
        assert forked.wait() == 0, printed
        assert expected in printed, printed
    log = (home / "forkserver.log").read_text()
    assert ": dagster --version" in log and ": shopmarts --help" in log
