"""The refresh jobs, their schedules, and the sensors that log every run that ends."""

import dagster as dg

from pipelines.defs.refresh.jobs import (
    HOURLY_MARTS,
    REFRESH_TAG,
    hourly_refresh,
    nightly_refresh,
    refresh_run_config,
)
from pipelines.defs.refresh.schedules import build_schedules, schedule_timezone
from pipelines.defs.refresh.sensors import refresh_log_sensors
from pipelines.runtime.executor import forked_steps_executor

# Also the executor of what is launched from the UI ("Materialize"): steps forked, not spawned.
defs = dg.Definitions(
    jobs=[nightly_refresh, hourly_refresh],
    schedules=build_schedules(),
    sensors=refresh_log_sensors,
    executor=forked_steps_executor,
)

__all__ = [
    "HOURLY_MARTS",
    "REFRESH_TAG",
    "defs",
    "hourly_refresh",
    "nightly_refresh",
    "refresh_log_sensors",
    "refresh_run_config",
    "schedule_timezone",
]
