"""`shopmarts refresh`: submit a refresh job to Dagster's run queue and follow it step by step.

The daemon of the stack dequeues and launches the run, exactly as for a scheduled run, so the
queue's tag concurrency keeps the nightly and hourly refreshes from overlapping: a refresh
submitted while another runs waits in the queue.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ShopmartsError
from core.settings import state_dir
from pipelines.runtime.dagster_processes import dagster_environment, workspace_file
from pipelines.runtime.step_failures import step_failure_message

JOB_FOR_MODE = {"nightly": "nightly_refresh", "hourly": "hourly_refresh"}


@dataclass
class StepResult:
    key: str
    seconds: float | None = None
    ok: bool | None = None
    error: str = ""


@dataclass
class RefreshResult:
    run_id: str
    job_name: str
    status: str
    seconds: float
    queued_seconds: float
    steps: dict[str, StepResult] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    passed_checks: int = 0
    # One line per failing expectation: engine, relation, rule, failing rows, their keys.
    failing_expectations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


@contextlib.contextmanager
def _output_to(log_file: Path) -> Iterator[None]:
    """Send this process's stdout/stderr (and its children's: Dagster's code server logs
    to them) to ``log_file`` for the duration, keeping the terminal for our own progress."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_file, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def submit_refresh(mode: str, tags: dict[str, str] | None = None) -> str:
    """Submit the refresh job for ``mode`` to the run queue; returns the run id."""
    from dagster import DagsterInstance

    from pipelines.defs.refresh.jobs import refresh_run_config
    from pipelines.runtime.dagster_private import WorkspaceOpts, execute_launch_command

    os.environ.update({k: v for k, v in dagster_environment().items() if k.endswith("_HOME")})
    with DagsterInstance.get() as instance, _output_to(state_dir() / "dagster-submit.log"):
        run = execute_launch_command(
            instance=instance,
            # The stack's code server: the definitions are already loaded there.
            workspace_opts=WorkspaceOpts(workspace=(str(workspace_file()),)),
            job_name=JOB_FOR_MODE[mode],
            # Explicit, so the run records what it ran with (publish verifies the shadow).
            config_json=json.dumps(refresh_run_config(mode)),
            tags=json.dumps({"shopmarts/launched_by": "cli", **(tags or {})}),
        )
        return run.run_id


def follow_run(
    run_id: str, echo: Callable[[str], None] = print, timeout: float = 6 * 3600
) -> RefreshResult:
    """Print the run's steps as they start and end; return once the run has finished."""
    from dagster import (
        AssetCheckEvaluation,
        DagsterEventType,
        DagsterInstance,
        DagsterRunStatus,
    )

    ending = {
        DagsterEventType.RUN_SUCCESS,
        DagsterEventType.RUN_FAILURE,
        DagsterEventType.RUN_CANCELED,
    }
    interesting = {
        DagsterEventType.STEP_START,
        DagsterEventType.STEP_SUCCESS,
        DagsterEventType.STEP_FAILURE,
        DagsterEventType.ASSET_CHECK_EVALUATION,
        DagsterEventType.RUN_START,
        *ending,
    }
    finished = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise ShopmartsError(f"no Dagster run {run_id}")
        result = RefreshResult(run_id, run.job_name, "QUEUED", 0.0, 0.0)
        submitted = time.monotonic()
        started: float | None = None
        cursor = None
        said_waiting = False
        status_read = time.monotonic()
        ended = False  # an event said so; the status may land an instant later
        while True:
            connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=interesting)
            cursor = connection.cursor
            for record in connection.records:
                event = record.event_log_entry.dagster_event
                if event is None:
                    continue
                step = event.step_key or ""
                if event.event_type in ending:
                    ended = True
                elif event.event_type == DagsterEventType.RUN_START:
                    started = time.monotonic()
                    result.queued_seconds = started - submitted
                elif event.event_type == DagsterEventType.STEP_START:
                    result.steps[step] = StepResult(step)
                    result.steps[step].seconds = record.timestamp
                    echo(f"  … {step}")
                elif event.event_type in (
                    DagsterEventType.STEP_SUCCESS,
                    DagsterEventType.STEP_FAILURE,
                ):
                    entry = result.steps.setdefault(step, StepResult(step))
                    entry.seconds = record.timestamp - (entry.seconds or record.timestamp)
                    entry.ok = event.event_type == DagsterEventType.STEP_SUCCESS
                    if not entry.ok:
                        entry.error = step_failure_message(event.step_failure_data)
                    mark = "ok" if entry.ok else "FAILED"
                    detail = f": {entry.error}" if entry.error else ""
                    echo(f"  {mark:>6} {step} ({entry.seconds:.1f} s){detail}")
                elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                    evaluation = event.event_specific_data
                    assert isinstance(evaluation, AssetCheckEvaluation)
                    name = f"{evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
                    if evaluation.passed:
                        result.passed_checks += 1
                    else:
                        result.failed_checks.append(name)
                        echo(f"  FAILED check {name}")
                        for line in failing_expectations(evaluation):
                            prefix = evaluation.asset_key.path[0]
                            result.failing_expectations.append(f"{prefix}: {line}")
                            echo(f"         {line}")
            # The run's status is read when an event says it ended, and every few seconds
            # besides (a run can also end without its own event, e.g. marked failed by run
            # monitoring): each read costs CPU the run itself is waiting for on 2 cores.
            if ended or time.monotonic() - status_read > 5 or run.status == DagsterRunStatus.QUEUED:
                run = instance.get_run_by_id(run_id)
                assert run is not None
                status_read = time.monotonic()
                if run.status in finished:
                    result.status = run.status.value
                    result.seconds = time.monotonic() - (started or submitted)
                    return result
            waited = time.monotonic() - submitted
            if run.status == DagsterRunStatus.QUEUED and not said_waiting and waited > 3:
                echo("  waiting in Dagster's run queue (another refresh is running?)")
                said_waiting = True
            if time.monotonic() - submitted > timeout:
                raise ShopmartsError(f"run {run_id} did not finish within {timeout:.0f} s")
            # Twice a second: one indexed read of the run's new events (connections kept
            # open, `pipelines.runtime.instance_storage`), so the command ends within half a
            # second of its run.
            time.sleep(0.5)


def failing_expectations(evaluation: Any) -> list[str]:
    """The failing expectations a check evaluation reports in its metadata, one line each
    (rule, failing rows, keys of a few); else the check's own description."""
    entry = evaluation.metadata.get("failing_expectations")
    listed = getattr(entry, "value", None)
    if isinstance(listed, list):
        lines = [str(item.get("summary") or item.get("rule")) for item in listed if item]
        if lines:
            return lines
    description = (evaluation.description or "").strip().splitlines()
    return [line.strip().removeprefix("- ") for line in description[1:]] or description[:1]
