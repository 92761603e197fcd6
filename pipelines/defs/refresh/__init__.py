"""The refresh jobs and their schedules."""

import dagster as dg

from pipelines.defs.refresh.executor import forked_steps_executor
from pipelines.defs.refresh.jobs import (
    HOURLY_MARTS,
    REFRESH_TAG,
    hourly_refresh,
    nightly_refresh,
    refresh_run_config,
)
from pipelines.defs.refresh.schedules import build_schedules, schedule_timezone

# Also the executor of what is launched from the UI ("Materialize"): steps forked, not spawned.
defs = dg.Definitions(
    jobs=[nightly_refresh, hourly_refresh],
    schedules=build_schedules(),
    executor=forked_steps_executor,
)

__all__ = [
    "HOURLY_MARTS",
    "REFRESH_TAG",
    "defs",
    "hourly_refresh",
    "nightly_refresh",
    "refresh_run_config",
    "schedule_timezone",
]
