"""Every private Dagster API the project uses, and nothing else: the one module that imports
`dagster._*` (`tests/test_layout.py` fails if any other module does).

Private names can change in any Dagster release. Dagster's version is pinned exactly by
dagster-dbt, so they change only when we upgrade: then importing this module is the first
check (a name that moved fails here, at import, not in the middle of a run), and the tests
that use each one (named below) are the second.

What each one is for, and why no public API does it:

- `RunLauncher`, `LaunchRunContext`, `CheckRunHealthResult`, `WorkerStatus`,
  `ConfigurableClass`, `ConfigurableClassData`: the base class and the types of a run
  launcher (`pipelines.runtime.run_launcher.ForkedRunLauncher`, named in `dagster.yaml`).
  Dagster loads run launchers from the instance's YAML and documents writing one, but
  exports neither the base class nor its types from `dagster`.
  Tests: `tests/test_refresh_jobs.py` (killed and terminated run workers).
- `ExecuteRunArgs`: the serialized arguments of `dagster api execute_run`, the command a run
  worker runs. Dagster's own container launchers build them so; the command reads nothing
  else.
- `MultiprocessExecutor`, `RetryMode`: the executor behind the forked-steps executor
  (`pipelines.runtime.executor`). The public `dg.multiprocess_executor` starts each step by
  "spawn" or "forkserver" only (a fresh interpreter per step); the class itself takes
  `start_method="fork"`.
- `DagsterSqliteStorage`, `SqliteRunStorage`, `SqliteEventLogStorage`,
  `SqliteScheduleStorage`, `SQLITE_BUSY_TIMEOUT_SECONDS`, the three folder names
  (`runs_directory`, `event_logs_directory`, `schedules_directory`) and the file names
  (`sqlite_conn_string`): the instance's SQLite
  storage, subclassed to keep its connections open (`pipelines.runtime.instance_storage`,
  named in `dagster.yaml`). Dagster loads custom storage from the instance's YAML but exports
  neither the SQLite classes nor the layout of their files, which ours must keep so a
  DAGSTER_HOME reads the same with either. Tests: `tests/test_runtime.py`.
- `LocalComputeLogManager`, `CapturedLogContext`, `ComputeIOType`, `IO_TYPE_EXTENSION`,
  `compute_logs_directory`, `redirect_to_file`: the steps' stdout/stderr files the UI shows,
  written without Dagster's `tail -F` mirror processes
  (`pipelines.runtime.instance_storage.StepLogFiles`, named in `dagster.yaml`): the compute
  log manager is configurable, its base class and file layout are not exported.
- `DagsterGrpcClient`: asks the stack's code server whether it serves the definitions yet
  (`pipelines.runtime.dagster_processes.code_server_serves`). The public alternative is the
  `dagster api grpc-health-check` command: a new interpreter per probe.
- `run_dagster_cli`: the `dagster` command line run inside this process, for the fork server
  (`pipelines.runtime.forkserver`). The console script `dagster` is `dagster._cli:main`,
  which reads `sys.argv` and names the program after `__main__` (wrong in a fork).
- `execute_launch_command`: what `dagster job launch` does (load the job from a workspace,
  submit a run with config and tags to the run queue), for `shopmarts refresh`
  (`pipelines.launch.submit_refresh`). The public ways are the command (a new interpreter,
  2 s) or the GraphQL client (needs a running webserver, which the stack does not start).
  `WorkspaceOpts` (from `dagster_shared`, Dagster's own helper package) is its argument.

Two more, for the tests only:

- `dagster_instance_config`: reads and validates a `dagster.yaml` against the instance's
  schema (`tests/test_project_files.py`, both instance files). The public way,
  `DagsterInstance.from_config`, also opens the storage: Postgres, for docker's file.
- `cron_string_iterator`: the times a cron schedule fires, computed as the daemon computes
  them, DST included (`tests/test_schedules.py`). `ScheduleDefinition` exposes only the
  cron string.
"""

from __future__ import annotations

from dagster._cli import ENV_PREFIX as _DAGSTER_CLI_ENV_PREFIX
from dagster._cli import cli as _dagster_cli
from dagster._cli.job import execute_launch_command
from dagster._core.execution.compute_logs import redirect_to_file
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.multiprocess import MultiprocessExecutor
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import compute_logs_directory
from dagster._core.launcher import (
    CheckRunHealthResult,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.local_compute_log_manager import (
    IO_TYPE_EXTENSION,
    LocalComputeLogManager,
)
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite import create_db_conn_string as sqlite_conn_string
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
)
from dagster._core.storage.sqlite_storage import (
    _event_logs_directory as event_logs_directory,
)
from dagster._core.storage.sqlite_storage import (
    _runs_directory as runs_directory,
)
from dagster._core.storage.sqlite_storage import (
    _schedule_directory as schedules_directory,
)
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClass, ConfigurableClassData
from dagster._utils.schedules import cron_string_iterator
from dagster_shared.cli import WorkspaceOpts


def run_dagster_cli(argv: list[str]) -> None:
    """Run `dagster ARGV` in this process, as the `dagster` console script does (same program
    name, same `DAGSTER_CLI_*` environment defaults); exits with its exit code."""
    _dagster_cli.main(
        args=argv,
        prog_name="dagster",
        auto_envvar_prefix=_DAGSTER_CLI_ENV_PREFIX,
        standalone_mode=True,
    )


__all__ = [
    "IO_TYPE_EXTENSION",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "CapturedLogContext",
    "ComputeIOType",
    "CheckRunHealthResult",
    "ConfigurableClass",
    "ConfigurableClassData",
    "DagsterGrpcClient",
    "DagsterSqliteStorage",
    "ExecuteRunArgs",
    "LaunchRunContext",
    "LocalComputeLogManager",
    "MultiprocessExecutor",
    "RetryMode",
    "RunLauncher",
    "SqliteEventLogStorage",
    "SqliteRunStorage",
    "SqliteScheduleStorage",
    "WorkerStatus",
    "WorkspaceOpts",
    "compute_logs_directory",
    "cron_string_iterator",
    "event_logs_directory",
    "dagster_instance_config",
    "execute_launch_command",
    "redirect_to_file",
    "run_dagster_cli",
    "runs_directory",
    "schedules_directory",
    "sqlite_conn_string",
]
