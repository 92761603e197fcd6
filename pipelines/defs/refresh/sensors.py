"""Every refresh that ends gets its row in the refresh log, whatever ended it.

The gates and the publish step write `meta.refresh_log` themselves, but a run can end
before any of them runs: the extract fails (the shop is down), dbt fails, the run worker
is killed (run monitoring then fails the run), or someone terminates it. These sensors,
evaluated by the daemon `shopmarts up` starts, watch the refresh jobs for runs that failed
or were canceled and write their row, status `failed`, naming what ended them, so the
dashboards' banner can say so. A row a gate or the publish step wrote stands as it is
(their account names the gate and the expectations); writing is idempotent per run id.
"""

# No `from __future__ import annotations`: Dagster reads the resource annotations.
import datetime as dt
from typing import TYPE_CHECKING

import dagster as dg

from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.plan import plan_of_run
from pipelines.defs.refresh.jobs import hourly_refresh, nightly_refresh
from pipelines.runtime.step_failures import step_failure_message

if TYPE_CHECKING:
    from pipelines.defs.refresh_log import RefreshOutcome

# Seconds between evaluations: the banner learns of a failed run within about this long.
SENSOR_INTERVAL_SECONDS = 15
_REASON_CHARS = 400


def _first_line(text: str | None) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= _REASON_CHARS else line[: _REASON_CHARS - 1] + "…"


def failed_steps(context: dg.RunStatusSensorContext) -> list[str]:
    """`<step>: <first line of its error>` for each step of the run that failed."""
    records = context.instance.get_records_for_run(
        context.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    steps = []
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        message = step_failure_message(event.step_failure_data) if event.step_failure_data else ""
        steps.append(f"{event.step_key}: {_first_line(message or event.message) or 'failed'}")
    return steps


def ended_run_outcome(context: dg.RunStatusSensorContext, ending: str) -> "RefreshOutcome":
    """The refresh-log row of a run that ended (``ending``: "failed" or "canceled")."""
    # Imported here: the publish package loads the assets, which read the plan from this
    # package, so importing it while this package loads would go round in a circle.
    from pipelines.defs.refresh_log import ENDED_BEFORE_A_GATE, RefreshOutcome

    run = context.dagster_run
    steps = failed_steps(context)
    if steps:
        reason = f"step {steps[0]}" + (f" (and {len(steps) - 1} more)" if len(steps) > 1 else "")
    else:
        # No step failed: the run itself did (worker killed, marked failed by run
        # monitoring) or was canceled; Dagster's own message says which.
        reason = _first_line(context.dagster_event.message) or f"the run was {ending}"
    record = context.instance.get_run_record_by_id(run.run_id)
    ended_at = record.end_time if record is not None and record.end_time else None
    refreshed_at = (
        dt.datetime.fromtimestamp(ended_at, dt.UTC) if ended_at else dt.datetime.now(dt.UTC)
    )
    # The plan the run was launched with (its run config), whatever the plan's own check
    # then made of it: a run refused for a plan contradicting its job logs that plan.
    plan = plan_of_run(run.run_config, run.job_name)
    return RefreshOutcome(
        run_id=run.run_id,
        mode=plan.mode if plan is not None else run.job_name,
        status=ENDED_BEFORE_A_GATE,
        failing_expectations=steps,
        detail=f"{run.job_name} {ending} before its gates decided: {reason}",
        refreshed_at=refreshed_at.replace(tzinfo=None),
    )


def _record(
    context: dg.RunStatusSensorContext, ending: str, environment: ShopmartsEnvironment
) -> None:
    from pipelines.defs.refresh_log import record_ended_run

    outcome = ended_run_outcome(context, ending)
    wrote, row = record_ended_run(environment.environment(), outcome)
    if wrote:
        context.log.info(f"refresh log: run {outcome.run_id} {ending}: {outcome.detail}")
    else:
        context.log.info(f"refresh log: run {outcome.run_id} already recorded ({row['status']})")


@dg.run_failure_sensor(
    name="refresh_failure_to_refresh_log",
    monitored_jobs=[nightly_refresh, hourly_refresh],
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "A refresh run that failed before a gate decided (extract, dbt, a killed run "
        "worker) gets its `failed` row in meta.refresh_log, naming the step that failed."
    ),
)
def refresh_failure_to_refresh_log(
    context: dg.RunFailureSensorContext, shopmarts_environment: ShopmartsEnvironment
) -> None:
    _record(context, "failed", shopmarts_environment)


@dg.run_status_sensor(
    name="refresh_canceled_to_refresh_log",
    run_status=dg.DagsterRunStatus.CANCELED,
    monitored_jobs=[nightly_refresh, hourly_refresh],
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A terminated refresh run gets its `failed` row in meta.refresh_log.",
)
def refresh_canceled_to_refresh_log(
    context: dg.RunStatusSensorContext, shopmarts_environment: ShopmartsEnvironment
) -> None:
    _record(context, "canceled", shopmarts_environment)


refresh_log_sensors = [refresh_failure_to_refresh_log, refresh_canceled_to_refresh_log]
