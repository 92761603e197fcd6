"""Dagster's run launcher for the embedded stack: each run worker is a fork of the warm process.

Dagster's default launcher asks the code server to start each run in a fresh interpreter,
which imports Dagster, dagster-dbt and GX again before the first step: 4-6 s of a 2-core
machine per run, most of an hourly refresh's fixed cost. This launcher runs the command
Dagster's container launchers run, `dagster api execute_run ARGS`, as a fork of the stack's
fork server (`pipelines/runtime/forkserver.py`), where those libraries are imported already.
The definitions are still loaded from their files by each run. When no fork server answers,
the same command starts as a new process.

The worker's pid and start time go into the run's tags (`shopmarts/run_worker`), which gives
Dagster's run monitoring what the default launcher does not: a worker that died without a
word (SIGKILL, the out-of-memory killer) fails its run at the next poll and frees the
refresh queue for the next run. Terminate sends the worker SIGTERM, which Dagster turns into
a clean interruption of the step under way.

Configured in `dagster.yaml` as `run_launcher: {module: pipelines.runtime.run_launcher,
class: ForkedRunLauncher}`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import psutil
from dagster import DagsterRun, serialize_value

from pipelines.runtime.dagster_private import (
    CheckRunHealthResult,
    ConfigurableClass,
    ConfigurableClassData,
    ExecuteRunArgs,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from pipelines.runtime.forkserver import fork

RUN_WORKER_TAG = "shopmarts/run_worker"  # "PID@START", START the process's start time (epoch s)


def _run_worker_tag(tags: Mapping[str, str]) -> tuple[int, float] | None:
    """The pid and start time of a run's worker, from the run's tags; None if this launcher
    did not start it."""
    tag = tags.get(RUN_WORKER_TAG)
    if not tag:
        return None
    pid, _, started = tag.partition("@")
    return int(pid), float(started)


def run_worker_pid(tags: Mapping[str, str]) -> int | None:
    """The pid of a run's worker, from the run's tags; None if this launcher did not start it."""
    worker = _run_worker_tag(tags)
    return worker[0] if worker else None


class ForkedRunLauncher(RunLauncher, ConfigurableClass):
    """Launch each run as `dagster api execute_run`, forked from the warm process server."""

    def __init__(self, inst_data: ConfigurableClassData | None = None) -> None:
        self._inst_data = inst_data
        self._started: list[subprocess.Popen[bytes]] = []  # without a fork server: to reap
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        return {}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> Self:
        return cls(inst_data=inst_data)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        if run.job_code_origin is None:
            raise ValueError(f"run {run.run_id} has no code origin to load its job from")
        arguments = ExecuteRunArgs(
            job_origin=run.job_code_origin,
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
        )
        argv = ["api", "execute_run", serialize_value(arguments)]
        self._reap()
        with open(os.devnull, "rb") as devnull:
            forked = fork("dagster", argv, stdio=(devnull.fileno(), 1, 2))
            if forked is not None:
                pid, how = forked.pid, "a fork of the warm process server"
                forked.detach()
            else:
                process = subprocess.Popen(
                    [str(Path(sys.executable).with_name("dagster")), *argv],
                    stdin=devnull,
                    start_new_session=True,
                )
                self._started.append(process)
                pid, how = process.pid, "a new process (no fork server answered)"
        try:
            started = psutil.Process(pid).create_time()
        except psutil.NoSuchProcess:  # done already: health checks will not find it either
            started = 0.0
        self._instance.add_run_tags(run.run_id, {RUN_WORKER_TAG: f"{pid}@{started:.2f}"})
        self._instance.report_engine_event(
            f"Run worker started as {how}, pid {pid}.", run, cls=self.__class__
        )

    def _reap(self) -> None:
        self._started = [process for process in self._started if process.poll() is None]

    @staticmethod
    def _worker(run: DagsterRun) -> psutil.Process | None:
        """The run's worker process if it still runs; None when it has gone (or this
        launcher did not start it)."""
        worker = _run_worker_tag(run.tags)
        if worker is None:
            return None
        pid, started = worker
        try:
            process = psutil.Process(pid)
            # The same process, not a later one given the same pid.
            if abs(process.create_time() - started) > 1.0:
                return None
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            return None
        return process

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        worker = self._worker(run)
        if worker is None:
            self._instance.report_engine_event(
                "No run worker to terminate: it is not running.", run, cls=self.__class__
            )
            return False
        with contextlib.suppress(psutil.NoSuchProcess):
            worker.send_signal(signal.SIGTERM)  # Dagster interrupts the step under way
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        self._reap()
        if RUN_WORKER_TAG not in run.tags:  # launched by another launcher: not ours to judge
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not launched by this launcher")
        if self._worker(run) is not None:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run worker (pid {run_worker_pid(run.tags)}) ended without finishing the run "
            "(killed, or out of memory?)",
        )
