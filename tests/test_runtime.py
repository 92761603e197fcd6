"""The process runtime's own guarantees, in real processes (`pipelines/runtime/`)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psutil
import pytest

from core.settings import PROJECT_ROOT
from pipelines.runtime.executor import forked_steps_executor

# A run worker whose step process is slow to start: an earlier at-fork hook holds the child
# back, as a busy 2-core machine can, so the worker is killed before the child has asked to
# die with it.
FORKS_A_LATE_SLEEPER = """
import os, time
os.register_at_fork(after_in_child=lambda: time.sleep(1.5))
from pipelines.runtime.executor import die_with_this_process
die_with_this_process()
child = os.fork()
if child == 0:
    time.sleep(120)
    os._exit(0)
print(child, flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_step_process_dies_even_if_its_worker_died_before_it_started() -> None:
    """The death signal is armed in the child after the fork; when the worker has exited
    by then, no signal would come, so the child ends itself rather than run on alone."""
    worker = subprocess.Popen(
        [sys.executable, "-c", FORKS_A_LATE_SLEEPER],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert worker.stdout is not None
    step = int(worker.stdout.readline())
    worker.kill()  # before the child's at-fork hooks have run
    worker.wait(10)
    deadline = time.monotonic() + 10
    while not _gone(step) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert _gone(step), f"step process {step} outlived its killed worker"
    finally:
        if not _gone(step):
            psutil.Process(step).kill()


# --- the instance's storage (`pipelines.runtime.instance_storage`) ---------------------------

# Dagster's own SQLite storage on the same folder: what the project's dagster.yaml replaced.
DAGSTERS_OWN_STORAGE = "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\n"


@dg.asset
def written() -> dg.MaterializeResult:
    print("written says hello")  # noqa: T201 - the step's stdout, for its log file
    subprocess.run(["echo", "and so does its child"], check=True)
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset(deps=[written])
def breaks() -> None:
    raise RuntimeError("broken on purpose")


def _forked_job() -> dg.JobDefinition:
    """The two assets as a job on the refresh jobs' executor (each step a fork)."""
    defs = dg.Definitions(
        assets=[written, breaks],
        jobs=[dg.define_asset_job("written_then_breaks", executor_def=forked_steps_executor)],
    )
    return defs.resolve_job_def("written_then_breaks")


@pytest.fixture
def project_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Dagster instance configured by the project's dagster.yaml, in a fresh DAGSTER_HOME."""
    shutil.copy(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_a_failing_step_fails_its_run_and_every_event_and_log_is_kept(
    project_instance: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A run on the project's instance with forked steps: the storage each step opens anew
    after the fork records both steps (one materialized, one failed) and the run's failure;
    each step's stdout, its children's included, is in its log file; and Dagster's own SQLite
    storage reads the same run from the same folder."""
    from pipelines.runtime.instance_storage import StepLogFiles, WarmSqliteStorage

    assert isinstance(project_instance.get_ref().storage, WarmSqliteStorage)
    assert isinstance(project_instance.compute_log_manager, StepLogFiles)
    with capfd.disabled():  # the steps' stdout is file descriptor 1, as in a run worker
        result = dg.execute_job(dg.reconstructable(_forked_job), project_instance)
    assert not result.success
    failed = {event.step_key for event in result.all_events if event.is_step_failure}
    assert failed == {"breaks"}
    assert "broken on purpose" in str(result.failure_data_for_node("breaks"))

    # Each step's logs, under the key its LOGS_CAPTURED event names (as the UI finds them).
    (captured,) = [
        record.event_log_entry.dagster_event.event_specific_data
        for record in project_instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.LOGS_CAPTURED
        ).records
        if "written" in record.event_log_entry.dagster_event.event_specific_data.step_keys
    ]
    logs = project_instance.compute_log_manager
    log_key = logs.build_log_key_for_run(result.run_id, captured.file_key)
    stdout = (logs.get_log_data(log_key).stdout or b"").decode()
    assert "written says hello" in stdout and "and so does its child" in stdout
    assert logs.is_capture_complete(log_key)

    (tmp_path / "dagster.yaml").write_text(DAGSTERS_OWN_STORAGE)
    with dg.DagsterInstance.from_config(str(tmp_path)) as dagsters:
        run = dagsters.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
        materialization = dagsters.get_latest_materialization_event(dg.AssetKey("written"))
        assert materialization is not None and materialization.run_id == result.run_id
        assert materialization.asset_materialization is not None
        assert materialization.asset_materialization.metadata["rows"].value == 3


def test_a_forked_child_never_uses_its_parents_connections(project_instance: Any) -> None:
    """The storage keeps connections open per process: a fork writes through its own, and the
    parent's still work after the child has exited (SQLite connections must not cross a fork)."""
    runs = project_instance.run_storage
    events = project_instance.event_log_storage
    run = project_instance.create_run_for_job(_forked_job())
    project_instance.report_engine_event("parent, before the fork", run)
    parent_engine = events._warm.get(events.conn_string_for_shard(run.run_id))

    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child; its exit code is the verdict
        code = 1
        try:
            mine = events._warm.get(events.conn_string_for_shard(run.run_id))
            project_instance.report_engine_event("child, after the fork", run)
            code = 0 if mine is not parent_engine else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0

    project_instance.report_engine_event("parent, after the child", run)
    assert events._warm.get(events.conn_string_for_shard(run.run_id)) is parent_engine
    messages = [
        record.event_log_entry.dagster_event.message
        for record in project_instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT
        ).records
    ]
    assert messages == [
        "parent, before the fork",
        "child, after the fork",
        "parent, after the child",
    ]
    assert runs.get_run_records(dg.RunsFilter(run_ids=[run.run_id]))


def test_every_module_the_fork_server_warms_exists() -> None:
    """The fork server imports WARM_IF_PRESENT quietly (a moved name is only not warmed):
    this says when a library upgrade moved one, so the list is kept."""
    from pipelines.runtime.forkserver import WARM_IF_PRESENT

    own = ("pipelines", "core", "ingest", "quality", "clickhouse_endpoint", "bench")
    assert not [name for name in WARM_IF_PRESENT if name.split(".")[0] in own]

    def installed(name: str) -> bool:
        # Found on disk, without importing the packages (GX, dbt: seconds each).
        top, *rest = name.split(".")
        spec = importlib.util.find_spec(top)
        if spec is None or not spec.submodule_search_locations:
            return spec is not None and not rest
        base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
        return base.with_suffix(".py").exists() or (base / "__init__.py").exists()

    missing = [name for name in WARM_IF_PRESENT if not installed(name)]
    assert not missing, f"no longer installed, drop or rename: {missing}"


def test_the_fork_server_maps_module_files_once_for_its_children() -> None:
    """dbt's adapters call `inspect.stack()` as they start, which maps every loaded module's
    file on first use; the server does it once (warm_caches), so its children inherit it."""
    code = (
        "import inspect\n"
        "import dbt_common.behavior_flags as flags\n"
        "from pipelines.runtime.forkserver import warm_caches\n"
        "before = inspect.getabsfile(flags) in inspect.modulesbyfile\n"
        "warm_caches()\n"
        "print(before, inspect.getabsfile(flags) in inspect.modulesbyfile)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True
    )
    assert result.stdout.split() == ["False", "True"]


def test_the_fork_server_builds_what_dbt_reads_and_validates_with(tmp_path: Path) -> None:
    """dbt generates its readers and builds its JSON schemas on first use; the server does
    both once (warm_caches with the refreshes' parse states), so its children inherit them."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from dbt.contracts import project\n"
        "from dbt.contracts.graph.manifest import Manifest\n"
        "from pipelines.runtime.forkserver import warm_caches\n"
        "state = Path(sys.argv[1])\n"
        "state.write_bytes(Manifest().to_msgpack())\n"
        "def reader():\n"
        "    return Manifest.__dict__['__mashumaro_from_msgpack__']\n"
        "lazy, schemas = reader(), project.Project.json_schema.cache_info().currsize\n"
        "warm_caches([state])\n"
        "print(schemas, project.Project.json_schema.cache_info().currsize, reader() is not lazy)\n"
    )
    state = tmp_path / "partial_parse.msgpack"
    result = subprocess.run(
        [sys.executable, "-c", code, str(state)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=True,
    )
    before, after, read = result.stdout.split()
    assert (before, read) == ("0", "True") and int(after) > 0, result.stdout + result.stderr
